"""Run one experiment: every case of a gate through the agent and the judge, at most the backend's
max_in_flight at once and within the budget, each recorded as soon as it is judged; then finalized.
Crashed or stopped experiments resume with only their missing cases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

from parity.agent import Agent, agent_from_record
from parity.agent.pipeline import pipeline_svg
from parity.agent.pyagent import AgentCodeError
from parity.errors import Interrupted, ParityError, raise_if_interrupted
from parity.experiment.finalize import KeepRule, Outcome, RunContext, finalize
from parity.experiment.fits import check_fits
from parity.experiment.provenance import config_diff, git_commit
from parity.experiment.record import case_row, failed_judgment
from parity.judge import Judge
from parity.models.cost import Budget, estimate
from parity.models.resilience import BackendError
from parity.ruler import Case, Ruler, admit_lock, ruler_files
from parity.statuses import RunStatus, Verdict
from parity.store import Store, now
from parity.task import Workspace

ProgressHook = Callable[[Case], None]


class BudgetExceeded(Exception):
    pass


def check_budget(agent: Agent, cases: list[Case], budget_usd: float | None) -> str | None:
    """Refuse before starting when even the prompts alone would exceed the budget; say the estimate."""
    if budget_usd is None:
        return None
    guess = estimate(agent.model, [agent.request(case.input) for case in cases for _ in range(agent.calls_per_case)])
    if guess.low_usd > budget_usd:
        raise ParityError(
            f"estimated cost ${guess.low_usd:.4f}–${guess.high_usd:.4f} exceeds --budget-usd {budget_usd}",
            str(agent.spec),
            "raise the budget or use a smaller gate",
        )
    return f"estimated cost ${guess.low_usd:.4f}–${guess.high_usd:.4f} (budget ${budget_usd})"


def start_experiment(ctx: RunContext, agent: Agent, gate: str, hypothesis: str, method: str | None, screened_by: int | None) -> int:
    ws, store, ruler = ctx.ws, ctx.store, ctx.ruler
    admit_lock(ws, store, ruler.fingerprint)  # a LOCK written outside `parity ruler lock` is refused before anything is stored
    store.save_ruler_copy(ruler.fingerprint, ruler_files(ws))  # what `parity ruler restore` rewrites
    config = agent.config.model_dump()
    best = store.running_best(ruler.fingerprint, gate)
    code = agent.python.code if agent.python else None
    return store.create_experiment(
        ruler_fingerprint=ruler.fingerprint,
        gate=gate,
        agent_name=agent.name,
        agent_source=agent.source.name,
        agent_config=config,
        agent_code=code,
        model_identity=agent.model.identity,
        hypothesis=hypothesis,
        method=method,
        config_diff={"against": best.id, "changes": config_diff(best.agent_config, config)} if best else None,
        pipeline_svg=pipeline_svg(agent.config, ws.task, code, ws.shown(agent.source)),
        git_commit=git_commit(ws.root),
        screened_by=screened_by,
    )


def run_experiment(
    ws: Workspace,
    ruler: Ruler,
    agent: Agent,
    judge: Judge,
    store: Store,
    gate: str,
    hypothesis: str,
    keep: KeepRule,
    on_case: ProgressHook | None = None,
    budget_usd: float | None = None,
    method: str | None = None,
    screened_by: int | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Outcome:
    ctx = RunContext(ws, ruler, judge, store, keep)
    check_fits(ws, agent, ruler.gate(gate))  # before anything is recorded: an overflowing case would crash mid-run
    experiment_id = start_experiment(ctx, agent, gate, hypothesis, method, screened_by)
    if on_start:
        on_start(experiment_id)  # e.g. the loop links its trial before any case runs
    return _complete(ctx, agent, experiment_id, gate, ruler.gate(gate), on_case, Budget(budget_usd))


def resume_experiment(
    ws: Workspace,
    ruler: Ruler,
    judge: Judge,
    store: Store,
    keep: KeepRule,
    experiment_id: int,
    on_case: ProgressHook | None = None,
    budget_usd: float | None = None,
    use_cache: bool = True,
) -> Outcome:
    """Finish an interrupted experiment with the agent it recorded: only the missing cases run."""
    row = store.require_experiment(experiment_id)
    if row.status == RunStatus.DONE:
        raise ParityError(f"experiment #{experiment_id} is already complete", store.url, "start a new one with parity run AGENT")
    if row.ruler_fingerprint != ruler.fingerprint:
        raise ParityError(
            f"experiment #{experiment_id} ran on ruler {row.ruler_fingerprint[:12]}, the workspace now has {ruler.fingerprint[:12]}",
            ws.shown(ws.lock_path),
            "restore that ruler to resume it; results on different rulers are never mixed",
        )
    agent = agent_from_record(ws, row.agent_config, row.agent_source or "", use_cache, row.agent_code)
    missing = missing_cases(store, ruler, experiment_id)
    check_fits(ws, agent, missing)
    store.update_experiment(experiment_id, status=RunStatus.RUNNING, verdict=None, decision=None)
    ctx = RunContext(ws, ruler, judge, store, keep)
    return _complete(ctx, agent, experiment_id, row.gate, missing, on_case, Budget(budget_usd, row.cost_usd or 0.0))


def missing_cases(store: Store, ruler: Ruler, experiment_id: int) -> list[Case]:
    """The cases of an experiment's gate that have no recorded result yet."""
    row = store.experiment(experiment_id)
    if row is None:
        return []
    done = {r.case_id for r in store.case_rows(experiment_id)}
    return [case for case in ruler.gate(row.gate) if case.id not in done]


def _complete(
    ctx: RunContext, agent: Agent, experiment_id: int, gate: str, cases: list[Case], on_case: ProgressHook | None, budget: Budget
) -> Outcome:
    store = ctx.store
    started = time.perf_counter()
    row = store.experiment(experiment_id)
    earlier = (row.wall_s or 0.0) if row else 0.0  # time spent before a kill or a stop is kept on resume

    def elapsed() -> float:
        return earlier + time.perf_counter() - started

    try:
        _run_cases(ctx, agent, experiment_id, cases, on_case, budget, lambda: store.update_experiment(experiment_id, wall_s=elapsed()))
    except BackendError as exc:
        _halt(store, experiment_id, RunStatus.CRASHED, f"backend error: {exc}")
        raise ParityError(
            f"{exc.cause}; the finished cases are recorded",
            exc.backend,
            f"fix the backend, then resume with: parity run --resume {experiment_id}",
        ) from None
    except AgentCodeError as exc:  # a bug in a Python agent: the record says where
        _halt(store, experiment_id, RunStatus.CRASHED, exc.line())
        raise
    except BudgetExceeded:
        _halt(store, experiment_id, RunStatus.STOPPED, f"stopped before exceeding the budget (${budget.limit}); spent ${budget.spent:.4f}")
        raise ParityError(
            f"stopped before exceeding --budget-usd {budget.limit} (spent ${budget.spent:.4f})",
            f"experiment #{experiment_id}",
            f"resume with a larger budget: parity run --resume {experiment_id} --budget-usd X",
        ) from None
    except KeyboardInterrupt:
        _halt(store, experiment_id, RunStatus.STOPPED, f"interrupted; resume with: parity run --resume {experiment_id}")
        raise Interrupted(experiment_id) from None
    except BaseException as exc:
        _halt(store, experiment_id, RunStatus.CRASHED, f"{type(exc).__name__}: {exc}")
        raise
    return finalize(ctx, experiment_id, gate, time.perf_counter() - started, elapsed())


def _halt(store: Store, experiment_id: int, status: RunStatus, why: str) -> None:
    cost = sum(r.cost_usd + (r.judge_cost_usd or 0.0) for r in store.case_rows(experiment_id))
    verdict = Verdict.CRASHED if status == RunStatus.CRASHED else None
    store.update_experiment(experiment_id, status=status, verdict=verdict, decision=why, cost_usd=cost, finished_at=now())


def _run_cases(
    ctx: RunContext,
    agent: Agent,
    experiment_id: int,
    cases: list[Case],
    on_case: ProgressHook | None,
    budget: Budget,
    on_recorded: Callable[[], None] | None = None,
) -> None:
    """Up to the backend's max_in_flight cases at once; each case is committed as soon as it is judged."""
    ws, ruler, judge, store = ctx.ws, ctx.ruler, ctx.judge, ctx.store
    judge_lock = threading.Lock() if not judge.thread_safe else None
    stop = threading.Event()

    def one(case: Case) -> None:
        if stop.is_set():
            return
        try:
            raise_if_interrupted()
            request = agent.request(case.input)
            worst = estimate(agent.model, [request]).high_usd * agent.calls_per_case
            if not budget.reserve(worst):
                raise BudgetExceeded()
            try:
                output = agent.answer(case.input)
            finally:
                budget.settle(worst, 0.0)
            budget.settle(0.0, 0.0 if output.completion.cached else output.completion.cost_usd)
        except BaseException:
            stop.set()  # no new case starts once one has failed
            raise
        if output.answer is None:
            judgment = failed_judgment(case, output.error or "no answer", ws)
        elif judge_lock is None:
            judgment = judge.judge(case, output.answer)
        else:
            with judge_lock:
                judgment = judge.judge(case, output.answer)
        budget.settle(0.0, judgment.extra.cost_usd)
        store.record_case(case_row(ws, ruler, experiment_id, case, output, judgment))
        if on_recorded:
            on_recorded()
        if on_case:
            on_case(case)

    if agent.max_in_flight == 1:
        # On the calling thread: llama.cpp generates ~1.7x slower from a worker thread (measured).
        for case in cases:
            one(case)
        return
    _in_parallel(cases, one, agent.max_in_flight, stop)


def _in_parallel(cases: list[Case], one: Callable[[Case], None], workers: int, stop: threading.Event) -> None:
    """`one` over the cases on `workers` threads; the first failure stops new cases and is raised."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parity-case") as pool:
        futures: list[Future[None]] = [pool.submit(one, case) for case in cases]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise
        # The first failure in case order, and a real error before a budget stop it may have caused.
        failures = sorted(
            (error for f in futures if f.done() and not f.cancelled() and (error := f.exception()) is not None),
            key=lambda e: isinstance(e, BudgetExceeded),
        )
        if failures:
            stop.set()
            for future in futures:
                future.cancel()
            raise failures[0]

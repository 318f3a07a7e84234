"""Run one experiment: every case of a gate through the agent and the judge, recorded case by case,
then decided. Crashed or stopped experiments resume with only their missing cases."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from parity.agent import Agent, AgentOutput, agent_from_record
from parity.agent.pipeline import pipeline_svg
from parity.agent.pyagent import AgentCodeError
from parity.errors import Interrupted, ParityError
from parity.judge import Judge, Judgment
from parity.judge.agreement import judge_agreement
from parity.leak import LEAK_THRESHOLD, NEAR_THRESHOLD, find_leaks
from parity.metrics import Result, case_quality, paired_comparison, summarize
from parity.models.cost import Budget, estimate
from parity.models.resilience import BackendError
from parity.record import config_diff, git_commit
from parity.ruler import Case, Ruler, changed_since, ruler_files
from parity.store import CaseRow, CeilingRow, ExperimentRow, Store, _now
from parity.task import Answer, Workspace

MAX_UNSCORED_SHARE = 0.10  # more unscored cases than this and the experiment is invalid

ProgressHook = Callable[[Case], None]


# The method of a run made only to measure another model on the identical harness; its verdict is
# "reference", so it never becomes (or is measured against) the running best.
REFERENCE_METHOD = "ceiling candidate: the base agent with another model, judged on the identical harness"


class BudgetExceeded(Exception):
    pass


@dataclass
class Outcome:
    experiment_id: int
    result: Result
    ceiling: CeilingRow | None
    verdict: str
    decision: str
    wall_s: float


def failed_judgment(case: Case, reason: str, ws: Workspace) -> Judgment:
    """The agent gave no usable answer: the worst outcome on every dimension, and a loss to gold."""
    lowest = float(ws.config.rubric.scale_min)
    scores = {name: lowest for name in ws.config.rubric.dimensions}
    return Judgment(
        case.id, "scored", scores=scores, overall=lowest, verdict="loss", notes={"agent": reason}, reason=reason, agent_failed=True
    )


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


def start_experiment(
    ws: Workspace,
    store: Store,
    ruler: Ruler,
    agent: Agent,
    gate: str,
    hypothesis: str,
    method: str | None = None,
    screened_by: int | None = None,
) -> int:
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
    on_case: ProgressHook | None = None,
    budget_usd: float | None = None,
    method: str | None = None,
    screened_by: int | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Outcome:
    experiment_id = start_experiment(ws, store, ruler, agent, gate, hypothesis, method, screened_by)
    if on_start:
        on_start(experiment_id)  # e.g. the loop links its trial before any case runs
    return _complete(ws, ruler, agent, judge, store, experiment_id, gate, ruler.gate(gate), on_case, Budget(budget_usd))


def resume_experiment(
    ws: Workspace,
    ruler: Ruler,
    judge: Judge,
    store: Store,
    experiment_id: int,
    on_case: ProgressHook | None = None,
    budget_usd: float | None = None,
    use_cache: bool = True,
) -> Outcome:
    """Finish an interrupted experiment with the agent it recorded: only the missing cases run."""
    row = store.experiment(experiment_id)
    if row is None:
        raise ParityError(f"no experiment #{experiment_id}", store.url, "list them with: parity show")
    if row.status == "done":
        raise ParityError(f"experiment #{experiment_id} is already complete", store.url, "start a new one with parity run AGENT")
    if row.ruler_fingerprint != ruler.fingerprint:
        raise ParityError(
            f"experiment #{experiment_id} ran on ruler {row.ruler_fingerprint[:12]}, the workspace now has {ruler.fingerprint[:12]}",
            ws.shown(ws.lock_path),
            "restore that ruler to resume it; results on different rulers are never mixed",
        )
    agent = agent_from_record(ws, row.agent_config, row.agent_source or "", use_cache, row.agent_code)
    missing = missing_cases(store, ruler, experiment_id)
    store.update_experiment(experiment_id, status="running", verdict=None, decision=None)
    return _complete(ws, ruler, agent, judge, store, experiment_id, row.gate, missing, on_case, Budget(budget_usd, row.cost_usd or 0.0))


def missing_cases(store: Store, ruler: Ruler, experiment_id: int) -> list[Case]:
    """The cases of an experiment's gate that have no recorded result yet."""
    row = store.experiment(experiment_id)
    if row is None:
        return []
    done = {r.case_id for r in store.case_rows(experiment_id)}
    return [case for case in ruler.gate(row.gate) if case.id not in done]


def _complete(
    ws: Workspace,
    ruler: Ruler,
    agent: Agent,
    judge: Judge,
    store: Store,
    experiment_id: int,
    gate: str,
    cases: list[Case],
    on_case: ProgressHook | None,
    budget: Budget,
) -> Outcome:
    started = time.perf_counter()
    row = store.experiment(experiment_id)
    earlier = (row.wall_s or 0.0) if row else 0.0  # time spent before a kill or a stop is kept on resume

    def elapsed() -> float:
        return earlier + time.perf_counter() - started

    try:
        _run_cases(
            ws,
            ruler,
            agent,
            judge,
            store,
            experiment_id,
            cases,
            on_case,
            budget,
            lambda: store.update_experiment(experiment_id, wall_s=elapsed()),
        )
    except BackendError as exc:
        _halt(store, experiment_id, "crashed", f"backend error: {exc}")
        raise ParityError(
            f"{exc.cause}; the finished cases are recorded",
            exc.backend,
            f"fix the backend, then resume with: parity run --resume {experiment_id}",
        ) from None
    except AgentCodeError as exc:  # a bug in a Python agent: the record says where
        _halt(store, experiment_id, "crashed", exc.line())
        raise
    except BudgetExceeded:
        _halt(store, experiment_id, "stopped", f"stopped before exceeding the budget (${budget.limit}); spent ${budget.spent:.4f}")
        raise ParityError(
            f"stopped before exceeding --budget-usd {budget.limit} (spent ${budget.spent:.4f})",
            f"experiment #{experiment_id}",
            f"resume with a larger budget: parity run --resume {experiment_id} --budget-usd X",
        ) from None
    except KeyboardInterrupt:
        _halt(store, experiment_id, "stopped", f"interrupted; resume with: parity run --resume {experiment_id}")
        raise Interrupted(experiment_id) from None
    except BaseException as exc:
        _halt(store, experiment_id, "crashed", f"{type(exc).__name__}: {exc}")
        raise
    return finalize(ws, ruler, judge, store, experiment_id, gate, time.perf_counter() - started, elapsed())


def _halt(store: Store, experiment_id: int, status: str, why: str) -> None:
    cost = sum(r.cost_usd + (r.judge_cost_usd or 0.0) for r in store.case_rows(experiment_id))
    store.update_experiment(
        experiment_id, status=status, verdict="crashed" if status == "crashed" else None, decision=why, cost_usd=cost, finished_at=_now()
    )


def _run_cases(
    ws: Workspace,
    ruler: Ruler,
    agent: Agent,
    judge: Judge,
    store: Store,
    experiment_id: int,
    cases: list[Case],
    on_case: ProgressHook | None,
    budget: Budget,
    on_recorded: Callable[[], None] | None = None,
) -> None:
    """Up to the backend's max_in_flight cases at once; each case is committed as soon as it is judged."""
    judge_lock = threading.Lock() if not judge.thread_safe else None
    stop = threading.Event()

    def one(case: Case) -> None:
        if stop.is_set():
            return
        try:
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
        budget.settle(0.0, judgment.extra.get("cost_usd", 0.0))
        store.record_case(_case_row(ws, ruler, experiment_id, case, output, judgment))
        if on_recorded:
            on_recorded()
        if on_case:
            on_case(case)

    if agent.max_in_flight == 1:
        # On the calling thread: llama.cpp generates ~1.7x slower from a worker thread (measured).
        for case in cases:
            one(case)
        return
    with ThreadPoolExecutor(max_workers=agent.max_in_flight, thread_name_prefix="parity-case") as pool:
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
            (f.exception() for f in futures if f.done() and not f.cancelled() and f.exception() is not None),
            key=lambda e: isinstance(e, BudgetExceeded),
        )
        if failures:
            stop.set()
            for future in futures:
                future.cancel()
            raise failures[0]


def _case_row(ws: Workspace, ruler: Ruler, experiment_id: int, case: Case, output: AgentOutput, judgment: Judgment) -> CaseRow:
    completion = output.completion
    return CaseRow(
        experiment_id=experiment_id,
        case_id=case.id,
        ruler_fingerprint=ruler.fingerprint,
        answer=output.answer.to_dict() if output.answer else None,
        raw_text=completion.text,
        answer_error=output.error,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        latency_s=completion.latency_s,
        finish_reason=completion.finish_reason,
        cached=completion.cached,
        cost_usd=0.0 if completion.cached else completion.cost_usd,  # a cached answer cost nothing this time
        judge=ws.config.judge.model or ws.config.judge.kind,
        judgment_status=judgment.status,
        scores=judgment.scores,
        overall=judgment.overall,
        verdict=judgment.verdict,
        notes=judgment.notes,
        reason=judgment.reason,
        agent_failed=judgment.agent_failed,
        quality=case_quality(judgment, ws.config.rubric, ws.config.metric),
        judge_calls=judgment.extra.get("calls"),
        judge_cost_usd=judgment.extra.get("cost_usd", 0.0),
        position_consistent=judgment.extra.get("position_consistent"),
        trace=[step.to_dict() for step in output.trace],
    )


def judgment_from_row(row: CaseRow) -> Judgment:
    return Judgment(
        row.case_id,
        row.judgment_status,
        scores=dict(row.scores or {}),
        overall=row.overall,
        verdict=row.verdict,  # type: ignore[arg-type]
        notes=dict(row.notes or {}),
        reason=row.reason,
        agent_failed=row.agent_failed,
    )


def finalize(
    ws: Workspace, ruler: Ruler, judge: Judge, store: Store, experiment_id: int, gate: str, wall_s: float, total_wall_s: float
) -> Outcome:
    """Summarize, check and decide a finished experiment. `wall_s`: this session's time; `total_wall_s`:
    with the time of earlier sessions of a resumed run."""
    rows = store.case_rows(experiment_id)
    cases = ruler.gate(gate)
    result = summarize(cases, [judgment_from_row(r) for r in rows], ws.config.rubric, ws.config.metric)
    ceiling = ensure_ceiling(ws, ruler, judge, store, gate)
    leaks = find_leaks(cases, {r.case_id: Answer.from_dict(r.answer).units() for r in rows if r.answer})
    previous = store.experiment(experiment_id)
    tampered = changed_since(ws, ruler)
    if tampered is not None:
        verdict, decision = "invalid", f"tampering: {tampered}; no result of this run counts — restore the ruler with parity ruler restore"
    elif previous is not None and previous.method == REFERENCE_METHOD:
        verdict, decision = "reference", "a reference run beside the study (parity analyze ceiling): never a candidate for the running best"
    elif leaks:
        verdict, decision = "invalid", leak_decision(leaks)
    else:
        verdict, decision = decide(ws, ruler, judge, store, gate, experiment_id, result)
        decision = f"{decision} [judge: {judge_agreement(ws)['text']}]"
    tokens = {"prompt_tokens": sum(r.prompt_tokens for r in rows), "completion_tokens": sum(r.completion_tokens for r in rows)}
    store.update_experiment(
        experiment_id,
        status="done",
        verdict=verdict,
        decision=decision,
        quality=result.quality,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        ceiling=ceiling.quality if ceiling else None,
        summary={
            **result.to_dict(),
            **_position_consistency(rows),
            **tokens,
            "leaks": [leak.to_dict() for leak in leaks],
            **({"detectors": list(ws.config.detectors)} if ws.config.detectors else {}),
            "judge_agreement": judge_agreement(ws),
        },
        cost_usd=sum(r.cost_usd + (r.judge_cost_usd or 0.0) for r in rows),
        wall_s=total_wall_s,
        finished_at=_now(),
    )
    return Outcome(experiment_id, result, ceiling, verdict, decision, wall_s)


def leak_decision(leaks: list) -> str:
    first = leaks[0]
    shown = "; ".join(f'"{q}"' for q in first.shared[:4])
    verbatim = sum(not leak.near for leak in leaks)
    parts = [f"{verbatim} case(s) repeat ≥{LEAK_THRESHOLD} of their own gold questions verbatim"] if verbatim else []
    if verbatim < len(leaks):
        parts.append(f"{len(leaks) - verbatim} case(s) copy ≥{NEAR_THRESHOLD} of them with a few words changed")
    return f"leak: {', '.join(parts)}; e.g. {first.case_id} shares {len(first.shared)}{' (near copies)' if first.near else ''}: {shown}"


def _position_consistency(rows: list[CaseRow]) -> dict[str, float]:
    """Share of pairwise verdicts on which both orders agreed (LLM judges only)."""
    known = [r.position_consistent for r in rows if r.position_consistent is not None]
    return {"position_consistency": sum(known) / len(known)} if known else {}


def ensure_ceiling(ws: Workspace, ruler: Ruler, judge: Judge, store: Store, gate: str) -> CeilingRow | None:
    """Score gold_alt as a candidate once per ruler and gate; every summary divides by it."""
    existing = store.ceiling(ruler.fingerprint, gate)
    if existing is not None:
        return existing
    cases = [case for case in ruler.gate(gate) if case.gold_alt is not None]
    if not cases:
        return None
    judgments = [judge.judge(case, case.gold_alt) for case in cases if case.gold_alt is not None]
    result = summarize(cases, judgments, ws.config.rubric, ws.config.metric)
    if result.quality is None:
        return None
    row = CeilingRow(
        ruler_fingerprint=ruler.fingerprint,
        gate=gate,
        quality=result.quality,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        summary=result.to_dict(),
    )
    store.save_ceiling(row)
    return row


def decide(ws: Workspace, ruler: Ruler, judge: Judge, store: Store, gate: str, experiment_id: int, result: Result) -> tuple[str, str]:
    """The keep rule: keep only what beats the running best by more than resampling noise (the paired
    bootstrap's lower bound above 0) and, if configured, still does when judged a second time, by more
    than the judge's own noise. Never compare across rulers."""
    if result.n_cases and result.n_unscored / result.n_cases > MAX_UNSCORED_SHARE:
        return "invalid", f"{result.n_unscored}/{result.n_cases} cases unscored (limit {MAX_UNSCORED_SHARE:.0%})"
    best = store.running_best(ruler.fingerprint, gate)
    if best is None or best.id == experiment_id:
        return "kept", f"first kept experiment on this ruler ({ruler.fingerprint[:12]}) and gate '{gate}'"
    best_cases = {row.case_id: row.quality for row in store.case_rows(best.id) if row.quality is not None}
    rule = ws.config.loop
    paired = _paired(ws, result.per_case, best_cases)
    summary = f"Δ {paired.mean_diff:+.3f} [{paired.ci_low:+.3f}, {paired.ci_high:+.3f}] vs #{best.id} over {paired.n} paired cases"
    if not (paired.n and paired.ci_low > 0):
        return "discarded", f"{summary}: not above the noise"
    if not rule.confirm_rejudge:
        return "kept", f"{summary}: beats the running best"
    again = rejudged_qualities(ws, ruler, judge, store, experiment_id)
    noise = abs(float(np.mean(list(again.values()))) - float(np.mean(list(result.per_case.values())))) / np.sqrt(2) if again else 0.0
    store.update_experiment(experiment_id, judge_noise={"quality_sd": noise, "times": 2, "source": "keep-rule re-judge"})
    confirm = _paired(ws, again, best_cases)
    if confirm.ci_low <= 0:
        return (
            "discarded",
            f"{summary}, but a second judgment gives Δ {confirm.mean_diff:+.3f} [{confirm.ci_low:+.3f}, {confirm.ci_high:+.3f}]: not confirmed",
        )
    if paired.mean_diff <= noise:
        return "discarded", f"{summary}: smaller than the judge's noise (SD {noise:.3f})"
    return (
        "kept",
        f"{summary}: beats the running best; confirmed by a second judgment (Δ {confirm.mean_diff:+.3f}, judge noise SD {noise:.3f})",
    )


def _paired(ws: Workspace, candidate: dict[str, float], best: dict[str, float]):
    metric = ws.config.metric
    return paired_comparison(candidate, best, ws.config.loop.keep_confidence, metric.bootstrap_samples, metric.seed)


def rejudged_qualities(ws: Workspace, ruler: Ruler, judge: Judge, store: Store, experiment_id: int) -> dict[str, float]:
    """Per-case quality when the stored answers are judged once more (repeat index 1)."""
    cases = {case.id: case for case in ruler.cases}
    qualities = {}
    for row in store.case_rows(experiment_id):
        if row.quality is None or row.case_id not in cases:
            continue
        if row.answer is None:
            qualities[row.case_id] = row.quality  # an agent failure scores the same every time
            continue
        judgment = judge.judge(cases[row.case_id], Answer.from_dict(row.answer), repeat=1)
        quality = case_quality(judgment, ws.config.rubric, ws.config.metric)
        if quality is not None:
            qualities[row.case_id] = quality
    return qualities


def experiment_row_summary(row: ExperimentRow) -> dict[str, object]:
    """The JSON shape of one experiment in `parity show --json`."""
    summary = row.summary or {}
    return {
        "id": row.id,
        "agent": row.agent_name,
        "gate": row.gate,
        "quality": row.quality,
        "ci_low": row.ci_low,
        "ci_high": row.ci_high,
        "ceiling": row.ceiling,
        "parity_ratio": (row.quality / row.ceiling) if row.quality is not None and row.ceiling else None,
        "dimensions": summary.get("dimensions", {}),
        "wtl": summary.get("wtl", {}),
        "n_cases": summary.get("n_cases", 0),
        "n_unscored": summary.get("n_unscored", 0),
        "verdict": row.verdict,
        "status": row.status,
        "cost_usd": row.cost_usd,
        "model": (row.agent_config or {}).get("model"),
        "hypothesis": row.hypothesis,
        "method": row.method,
        "decision": row.decision,
        "prompt_tokens": summary.get("prompt_tokens"),
        "completion_tokens": summary.get("completion_tokens"),
        "wall_s": row.wall_s,
        "leaks": summary.get("leaks", []),
        "judge_agreement": summary.get("judge_agreement"),
        "categories": summary.get("categories", {}),
        "difficulties": summary.get("difficulties", {}),
        "critical_failures": summary.get("critical_failures", {}),
        "n_critical": sum(summary.get("critical_failures", {}).values()),
        "config_diff": row.config_diff,
        "git_commit": row.git_commit,
        "screened_by": row.screened_by,
        "ruler_fingerprint": row.ruler_fingerprint,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }

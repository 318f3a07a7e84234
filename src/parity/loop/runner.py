"""The loop itself: propose → validate → screen → confirm when promising → decide → record, until a
limit. Every step is in the store, so a killed loop resumes where it was and several workers can
share one log without running a config twice."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from parity.agent import Agent, build_agent
from parity.agent.config import AgentConfig, load_agent_config, resolve_agent_path
from parity.agent.pyagent import read_python_agent
from parity.errors import Interrupted, ParityError
from parity.experiment import resume_experiment, run_experiment
from parity.judge import Judge
from parity.loop.memory import build_memory
from parity.loop.proposal import Proposal, apply_patch, config_hash, requested_recipe
from parity.loop.proposers import GridProposer, Proposer
from parity.loop.rules import keep
from parity.loop.rules import screen as screen_rule
from parity.models.hf import is_whole_model
from parity.models.spec import parse_spec
from parity.ruler import Ruler
from parity.statuses import RunStatus, Verdict
from parity.store import Store, TrialRow, now
from parity.task import Workspace
from parity.train.base import serving_spec
from parity.train.recipes import find_recipe
from parity.train.recipes.recipe import LoopInputs, Recipe
from parity.train.run import TrainJob, train_from_corpus

MAX_REFUSALS = 3  # proposals refused in a row (invalid or repeated) before the loop gives up
STALE_AFTER = timedelta(minutes=15)  # a running trial on another host with no progress for this long is adopted

Say = Callable[[str], None]


@dataclass
class LoopLimits:
    max_experiments: int | None = None
    hours: float | None = None
    budget_usd: float | None = None
    allow_training: bool = False  # weights proposals: train and evaluate the adapter, or only record the request


def loop_name(ruler: Ruler, proposer: str) -> str:
    return f"{ruler.fingerprint[:16]}:{proposer}"


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def base_config(ws: Workspace) -> dict:
    path = resolve_agent_path(ws.agents_dir, ws.config.loop.base_agent)
    if path.suffix == ".py":
        python = read_python_agent(ws, path)
        python.close()
        config = python.config
    else:
        config, _ = load_agent_config(path, ws.shown(path))
    return config.model_dump()


def run_loop(
    ws: Workspace, ruler: Ruler, judge: Judge, store: Store, proposer: Proposer, limits: LoopLimits, say: Say, on_case=None
) -> int:
    """Run trials until a limit; returns how many trials this worker finished."""
    name = loop_name(ruler, proposer.name)
    base = base_config(ws)
    data = proposer.space.get("train.data")
    for value in (data.choice or []) if data else []:
        trial_data(ws, value)  # a missing file is refused now, not when a trial reaches it
    started = time.monotonic()
    finished = 0
    for trial in _orphans(store, name):
        say(f"resuming trial {trial.id} ({trial.hypothesis})")
        _finish_trial(ws, ruler, judge, store, trial, proposer, limits, say, on_case)
        finished += 1
    refusals = 0
    notes: list[str] = []  # why the last proposals were refused; an LLM proposer reads them
    while True:
        trials = store.trials(name)
        if limits.max_experiments is not None and len(trials) >= limits.max_experiments:
            say(f"the log holds {len(trials)} experiments (--max-experiments {limits.max_experiments}); stopping")
            return finished
        if limits.hours is not None and time.monotonic() - started > limits.hours * 3600:
            say(f"--hours {limits.hours} reached; stopping")
            return finished
        if limits.budget_usd is not None and _spent(store, trials) >= limits.budget_usd:
            say(f"--budget-usd {limits.budget_usd} spent; stopping")
            return finished
        memory = build_memory(store, trials, ws.config.loop.plateau)
        proposal = proposer.propose(memory, base, notes)
        if proposal is None:
            say("the proposer has nothing left to try; stopping")
            return finished
        claimed = _claim(ws, store, name, proposer, proposal, base)
        if isinstance(claimed, str):
            refusals += 1
            notes.append(claimed)
            proposer.tell(proposal, None)
            say(f"refused: {claimed}")
            if refusals >= MAX_REFUSALS:
                # Keep the loop productive: the next untried grid point, saying why.
                fallback = GridProposer(proposer.space).propose(memory, base, notes)
                if fallback is None:
                    raise ParityError(
                        f"{MAX_REFUSALS} proposals in a row were refused (last: {claimed}) and the grid is exhausted",
                        f"--proposer {proposer.name}",
                        "widen [loop.space]",
                    )
                fallback.hypothesis = f"{fallback.hypothesis} (after {refusals} refused {proposer.name} proposals)"
                claimed = _claim(ws, store, name, proposer, fallback, base)
                if isinstance(claimed, str):
                    # The grid's next point is refused too, and would be proposed again forever.
                    raise ParityError(
                        f"{refusals} proposals in a row were refused, and so was the grid's next point: {claimed}",
                        f"--proposer {proposer.name}",
                        "fix [loop.space] in parity.toml so its values make valid agents",
                    )
                proposal = fallback
            else:
                continue
        refusals = 0
        notes.clear()
        say(f"trial {claimed.id}: {proposal.hypothesis}")
        _finish_trial(ws, ruler, judge, store, claimed, proposer, limits, say, on_case, proposal)
        finished += 1


def _claim(ws: Workspace, store: Store, name: str, proposer: Proposer, proposal: Proposal, base: dict) -> TrialRow | str:
    """Validate the proposal and insert it as this worker's trial, or say why it is refused."""
    if not proposal.patch:
        return f"empty patch ({'; '.join(proposal.notes) or 'nothing proposed'})"
    config_dict = apply_patch(base, proposal.patch)
    try:
        config = AgentConfig.model_validate(config_dict)
        parse_spec(config.model)
    except (ValidationError, ParityError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"loc": ("model",), "msg": exc.what}
        return f"invalid patch {proposal.patch}: {'.'.join(map(str, first['loc']))}: {first['msg']}"
    normalized = config.model_dump()
    training = {k: v for k, v in proposal.patch.items() if k.startswith("train.")}  # a request, not an agent field
    row = TrialRow(
        loop=name,
        proposer=proposer.name,
        worker=worker_id(),
        hypothesis=proposal.hypothesis or "(no hypothesis)",
        lever=proposal.lever,
        patch=proposal.patch,
        config=normalized,
        config_hash=config_hash({**normalized, **training}),
        status=RunStatus.RUNNING,
        optuna_trial=proposal.optuna_trial,
    )
    trial_id = store.claim_trial(row)
    if trial_id is None:
        return f"already tried: {proposal.patch}"
    row.id = trial_id
    return row


def _finish_trial(
    ws: Workspace,
    ruler: Ruler,
    judge: Judge,
    store: Store,
    trial: TrialRow,
    proposer: Proposer,
    limits: LoopLimits,
    say: Say,
    on_case,
    proposal: Proposal | None = None,
) -> None:
    proposal = proposal or Proposal(trial.hypothesis, trial.lever, trial.patch, trial.optuna_trial)
    requested = requested_recipe(trial.patch)
    recipe = find_recipe(requested)
    if trial.lever == "weights" and not (limits.allow_training and recipe is not None):
        later = (
            "rerun the loop with --allow-training to train it"
            if not limits.allow_training
            else f"the {requested} recipe is not available yet"
        )
        why = f"training request: {requested} on the corpus (recorded; {later})"
        store.update_trial(trial.id, status=RunStatus.DONE, verdict=Verdict.TRAINING_REQUEST, reason=why, finished_at=now())
        proposer.tell(proposal, None)
        say(f"trial {trial.id}: {why}")
        return
    rule = ws.config.loop
    try:
        if trial.lever == "weights" and recipe is not None:
            trial.config = _train_for_trial(ws, ruler, store, trial, recipe, say)
            store.update_trial(trial.id, config=trial.config)
        screen = _experiment(ws, ruler, judge, store, trial, "screen", rule.screen_gate, on_case, limits)
        store.update_trial(trial.id, screen_experiment_id=screen.id)
        if screen.verdict == Verdict.INVALID:
            _close(store, trial, Verdict.INVALID, f"screen: {screen.decision}")
            proposer.tell(proposal, None)
            return
        best = store.screen_bar(ruler.fingerprint, rule.screen_gate, rule.decide_gate, exclude=screen.id)
        screened = screen_rule(screen.quality, best, rule.screen_gate)
        if not screened.passes:
            _close(store, trial, Verdict.SCREENED_OUT, screened.reason)
        else:
            decided = _experiment(ws, ruler, judge, store, trial, "decide", rule.decide_gate, on_case, limits, screened_by=screen.id)
            _close(store, trial, Verdict(decided.verdict) if decided.verdict else Verdict.CRASHED, decided.decision or "")
        proposer.tell(proposal, screen.quality)
        say(f"trial {trial.id}: {_verdict(store, trial.id)}")
    except (KeyboardInterrupt, Interrupted):
        raise  # the trial stays "running": the next run of the loop adopts and resumes it
    except Exception as exc:  # one experiment's crash is recorded; the loop goes on
        reason = exc.line() if isinstance(exc, ParityError) else f"{type(exc).__name__}: {exc}"
        store.update_trial(trial.id, status=RunStatus.CRASHED, verdict=Verdict.CRASHED, reason=reason, finished_at=now())
        proposer.tell(proposal, None)
        say(f"trial {trial.id} crashed: {reason}")


def _train_for_trial(ws: Workspace, ruler: Ruler, store: Store, trial: TrialRow, recipe: Recipe[Any], say: Say) -> dict:
    """Train the requested adapter on the corpus (resuming an interrupted run), then return the agent
    config that evaluates it: the trial's config served through transformers with the adapter on top.
    The proposal's train.* values override the recipe's defaults; a recipe that needs a dataset first
    (preference pairs) builds it with the trial's own agent."""
    name = f"loop{trial.id}-{recipe.name}"
    existing = store.adapter(name)
    path = Path(existing.path) if existing is not None else None
    if existing is None or existing.status != RunStatus.DONE:
        settings = {key.removeprefix("train."): value for key, value in trial.patch.items() if key.startswith("train.")}
        options, lora = recipe.options_from(settings)
        base = parse_spec(trial.config["model"]).target
        pairs = recipe.loop_dataset(LoopInputs(ws, ruler, store, trial.id, settings, lambda: _trial_agent(ws, trial), say))
        # another trial's adapter trained the same way is reused: a weights lever crossed with inference
        # levers (few-shot, strategy) then costs one training, not one per combination
        data = trial_data(ws, settings.get("data"))
        job = TrainJob(recipe, name, options, lora, base=base, data=data, pairs=pairs, resume=existing is not None, reuse=existing is None)
        trained = train_from_corpus(ws, ruler, store, job, lambda line: say(f"trial {trial.id}: training {line}"))
        if trained.name != name:
            say(f"trial {trial.id}: reusing adapter {trained.name}, trained the same way ({recipe.name} on {base})")
        name, path = trained.name, trained.path
    if path is not None and is_whole_model(path):  # train.full: the result is the model itself, not an adapter on it
        return apply_patch(trial.config, {"model": f"hf:{path}", "adapter": None})
    return apply_patch(trial.config, {"model": serving_spec(trial.config["model"]), "adapter": name})


def trial_data(ws: Workspace, value: Any) -> tuple[Path, ...]:
    """train.data: corpus files in the workspace, comma-separated, read as one (as repeated --data are);
    absent, the workspace's own corpus."""
    if value is None:
        return ()
    where, fix = "parity.toml [loop.space] train.data", 'name corpus files in the workspace, e.g. "corpus/train.jsonl,corpus/extra.jsonl"'
    parts = [part.strip() for part in value.split(",")] if isinstance(value, str) else []
    if not parts or not all(parts):
        raise ParityError(f"train.data = {value!r} is not a comma-separated list of files", where, fix)
    files = tuple(ws.root / part for part in parts)
    for part, path in zip(parts, files):
        if not path.resolve().is_relative_to(ws.root.resolve()):
            raise ParityError(f"train.data file {part!r} is outside the workspace", where, fix)
        if not path.is_file():
            raise ParityError(f"train.data file {part!r} does not exist", where, fix)
    return files


def _trial_agent(ws: Workspace, trial: TrialRow) -> Agent:
    config = AgentConfig.model_validate(trial.config)
    return build_agent(ws, config, parse_spec(config.model), ws.agents_dir / f"loop-{trial.id}.yaml", use_cache=True)


def _verdict(store: Store, trial_id: int) -> str:
    row = store.trial(trial_id)
    return f"{row.verdict}: {row.reason}" if row else "?"


def _experiment(
    ws, ruler, judge, store: Store, trial: TrialRow, step: str, gate: str, on_case, limits: LoopLimits, screened_by: int | None = None
):
    """The trial's experiment on `gate`: resumed if it was started before, else run."""
    existing_id = trial.screen_experiment_id if step == "screen" else trial.decide_experiment_id
    existing = store.experiment(existing_id) if existing_id else None
    if existing is not None and existing.status == RunStatus.DONE:
        return existing
    if existing is not None:
        resume_experiment(ws, ruler, judge, store, keep, existing.id, on_case)
        return store.experiment(existing.id)
    config = AgentConfig.model_validate(trial.config)
    agent = build_agent(ws, config, parse_spec(config.model), ws.agents_dir / f"loop-{trial.id}.yaml", use_cache=True)
    remaining = None if limits.budget_usd is None else max(limits.budget_usd - _spent(store, store.trials(trial.loop)), 0.0)
    outcome = run_experiment(
        ws,
        ruler,
        agent,
        judge,
        store,
        gate,
        trial.hypothesis,
        keep,
        on_case,
        remaining,
        method=f"loop trial {trial.id} ({trial.proposer}, lever {trial.lever}): patch {trial.patch}",
        screened_by=screened_by,
        on_start=lambda experiment_id: (
            store.update_trial(trial.id, screen_experiment_id=experiment_id)
            if step == "screen"
            else store.update_trial(trial.id, decide_experiment_id=experiment_id)
        ),
    )
    return store.experiment(outcome.experiment_id)


def _close(store: Store, trial: TrialRow, verdict: Verdict, reason: str) -> None:
    store.update_trial(trial.id, status=RunStatus.DONE, verdict=verdict, reason=reason, finished_at=now())


def _spent(store: Store, trials: list[TrialRow]) -> float:
    total = 0.0
    for trial in trials:
        for experiment_id in (trial.screen_experiment_id, trial.decide_experiment_id):
            row = store.experiment(experiment_id) if experiment_id else None
            total += (row.cost_usd or 0.0) if row else 0.0
    return total


def _orphans(store: Store, name: str) -> list[TrialRow]:
    """Running trials whose worker is gone: this host's dead processes, or another host's silent ones."""
    host = socket.gethostname()
    now = datetime.now(UTC)
    orphans = []
    for trial in store.trials(name):
        if trial.status != RunStatus.RUNNING:
            continue
        worker_host, _, pid = trial.worker.rpartition(":")
        if worker_host == host:
            alive = pid.isdigit() and _pid_alive(int(pid))
        else:
            last = _last_progress(store, trial)
            alive = last is not None and now - last < STALE_AFTER
        if not alive and _adopt(store, trial):
            orphans.append(trial)
    return orphans


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _last_progress(store: Store, trial: TrialRow) -> datetime | None:
    stamps = [trial.created_at]
    for experiment_id in (trial.screen_experiment_id, trial.decide_experiment_id):
        row = store.experiment(experiment_id) if experiment_id else None
        if row is not None:
            stamps.append(row.created_at)
    stamps = [s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps if s is not None]
    return max(stamps) if stamps else None


def _adopt(store: Store, trial: TrialRow) -> bool:
    """Take over an orphaned trial, unless another worker just did (compare-and-set on the worker)."""
    return store.take_over_trial(trial.id, trial.worker, worker_id())

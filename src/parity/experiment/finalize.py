"""A finished experiment summarized, checked and decided: its result and ceiling, the checks that make it
count for nothing (a tampered ruler, leaked gold, too many unscored cases), then the keep rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from parity.cases import Case
from parity.experiment.record import judgment_from_row
from parity.experiment.summary import ExperimentSummary, JudgeAgreement, LeakRecord
from parity.judge import Judge
from parity.judge.agreement import judge_agreement
from parity.judge.reference_json import FieldScorer, field_accuracy
from parity.leak import LEAK_THRESHOLD, NEAR_THRESHOLD, Leak, find_leaks
from parity.metrics import Result, case_quality, summarize
from parity.models.embedder import get_embedder, workspace_cache
from parity.ruler import Ruler, changed_since
from parity.statuses import RunStatus, Verdict
from parity.store import CaseRow, CeilingRow, Store, now
from parity.task import Answer, Workspace

MAX_UNSCORED_SHARE = 0.10  # more unscored cases than this and the experiment is invalid

# The method of a run made only to measure another model on the identical harness; its verdict is
# "reference", so it never becomes (or is measured against) the running best.
REFERENCE_METHOD = "ceiling candidate: the base agent with another model, judged on the identical harness"
SERVING_METHOD = "serving variant: the agent with its adapter served another way (parity analyze serving)"
REFERENCE_METHODS = (REFERENCE_METHOD, SERVING_METHOD)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


class KeepRule(Protocol):
    """Decides a valid candidate against the running best (`parity.loop.rules.keep`)."""

    def __call__(
        self, ws: Workspace, ruler: Ruler, judge: Judge, store: Store, gate: str, experiment_id: int, result: Result
    ) -> Decision: ...


@dataclass(frozen=True)
class RunContext:
    """What every step of an experiment reads and none changes: the workspace, its ruler, the judge, the
    store the cases go to, and the rule that decides a valid result."""

    ws: Workspace
    ruler: Ruler
    judge: Judge
    store: Store
    keep: KeepRule


@dataclass
class Outcome:
    experiment_id: int
    result: Result
    ceiling: CeilingRow | None
    verdict: Verdict
    decision: str
    wall_s: float


def finalize(ctx: RunContext, experiment_id: int, gate: str, wall_s: float, total_wall_s: float) -> Outcome:
    """Summarize, check and decide a finished experiment. `wall_s`: this session's time; `total_wall_s`:
    with the time of earlier sessions of a resumed run."""
    ws, ruler, judge, store = ctx.ws, ctx.ruler, ctx.judge, ctx.store
    rows = store.case_rows(experiment_id)
    cases = ruler.gate(gate)
    result = summarize(cases, [judgment_from_row(r) for r in rows], ws.config.rubric, ws.config.metric)
    ceiling = ensure_ceiling(ws, ruler, judge, store, gate)
    leaks = find_leaks(cases, {r.case_id: Answer.from_dict(r.answer).units() for r in rows if r.answer})
    previous = store.experiment(experiment_id)
    agreement = judge_agreement(ws)
    tampered = changed_since(ws, ruler)
    if tampered is not None:
        decision = Decision(
            Verdict.INVALID, f"tampering: {tampered}; no result of this run counts — restore the ruler with parity ruler restore"
        )
    elif previous is not None and previous.method in REFERENCE_METHODS:
        decision = Decision(
            Verdict.REFERENCE,
            "a reference run beside the study (parity analyze ceiling or serving): never a candidate for the running best",
        )
    elif leaks:
        decision = Decision(Verdict.INVALID, leak_decision(leaks))
    elif result.n_cases and result.n_unscored / result.n_cases > MAX_UNSCORED_SHARE:
        decision = Decision(Verdict.INVALID, f"{result.n_unscored}/{result.n_cases} cases unscored (limit {MAX_UNSCORED_SHARE:.0%})")
    else:
        kept = ctx.keep(ws, ruler, judge, store, gate, experiment_id, result)
        decision = Decision(kept.verdict, f"{kept.reason} [judge: {agreement['text']}]")
    summary = ExperimentSummary(
        **result.to_dict(),
        position_consistency=_position_consistency(rows),
        prompt_tokens=sum(r.prompt_tokens for r in rows),
        completion_tokens=sum(r.completion_tokens for r in rows),
        leaks=[LeakRecord(case=leak.case_id, shared=leak.shared, near=leak.near) for leak in leaks],
        detectors=list(ws.config.detectors),
        judge_agreement=JudgeAgreement(**agreement),
        fields=_field_accuracy(ws, cases, rows) if ws.task.is_json else {},
    )
    store.update_experiment(
        experiment_id,
        status=RunStatus.DONE,
        verdict=decision.verdict,
        decision=decision.reason,
        quality=result.quality,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        ceiling=ceiling.quality if ceiling else None,
        summary=summary.stored(),
        cost_usd=sum(r.cost_usd + (r.judge_cost_usd or 0.0) for r in rows),
        wall_s=total_wall_s,
        finished_at=now(),
    )
    return Outcome(experiment_id, result, ceiling, decision.verdict, decision.reason, wall_s)


def leak_decision(leaks: list[Leak]) -> str:
    first = leaks[0]
    shown = "; ".join(f'"{q}"' for q in first.shared[:4])
    verbatim = sum(not leak.near for leak in leaks)
    parts = [f"{verbatim} case(s) repeat ≥{LEAK_THRESHOLD} of their own gold questions verbatim"] if verbatim else []
    if verbatim < len(leaks):
        parts.append(f"{len(leaks) - verbatim} case(s) copy ≥{NEAR_THRESHOLD} of them with a few words changed")
    return f"leak: {', '.join(parts)}; e.g. {first.case_id} shares {len(first.shared)}{' (near copies)' if first.near else ''}: {shown}"


def _field_accuracy(ws: Workspace, cases: list[Case], rows: list[CaseRow]) -> dict[str, float]:
    scorer = FieldScorer(ws.task, get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir)), ws.config.judge.number_tolerance)
    answers = {r.case_id: Answer.from_dict(r.answer).data for r in rows if r.answer}
    return field_accuracy(scorer, cases, answers)


def _position_consistency(rows: list[CaseRow]) -> float | None:
    """Share of pairwise verdicts on which both orders agreed (LLM judges only)."""
    known = [r.position_consistent for r in rows if r.position_consistent is not None]
    return sum(known) / len(known) if known else None


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

"""One case of an experiment as the store keeps it, and back: the answer, its cost and trace, the judgment."""

from __future__ import annotations

from parity.agent import AgentOutput
from parity.judge import Judgment
from parity.metrics import case_quality
from parity.ruler import Case, Ruler
from parity.statuses import JudgmentStatus, Pairwise, UnscoredKind
from parity.store import CaseRow
from parity.task import Workspace


def failed_judgment(case: Case, reason: str, ws: Workspace) -> Judgment:
    """The agent gave no usable answer: the worst outcome on every dimension, and a loss to gold."""
    lowest = float(ws.config.rubric.scale_min)
    scores = {name: lowest for name in ws.config.rubric.dimensions}
    return Judgment(
        case.id,
        JudgmentStatus.SCORED,
        scores=scores,
        overall=lowest,
        verdict=Pairwise.LOSS,
        notes={"agent": reason},
        reason=reason,
        agent_failed=True,
    )


def case_row(ws: Workspace, ruler: Ruler, experiment_id: int, case: Case, output: AgentOutput, judgment: Judgment) -> CaseRow:
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
        unscored=judgment.unscored,
        critical=judgment.critical,
        quality=case_quality(judgment, ws.config.rubric, ws.config.metric),
        judge_calls=judgment.extra.calls,
        judge_cost_usd=judgment.extra.cost_usd,
        position_consistent=judgment.extra.position_consistent,
        trace=[step.to_dict() for step in output.trace],
    )


def judgment_from_row(row: CaseRow) -> Judgment:
    return Judgment(
        row.case_id,
        JudgmentStatus(row.judgment_status),
        scores=dict(row.scores or {}),
        overall=row.overall,
        verdict=Pairwise(row.verdict) if row.verdict else None,
        notes=dict(row.notes or {}),
        reason=row.reason,
        agent_failed=row.agent_failed,
        unscored=UnscoredKind(row.unscored) if row.unscored else None,
        critical=row.critical,
    )

"""What every judge returns: one Judgment per (case, answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parity.statuses import JudgmentStatus, Pairwise, UnscoredKind

Verdict = Pairwise  # the pairwise verdict against gold
VERDICT_SCORE: dict[str, float] = {Pairwise.WIN: 1.0, Pairwise.TIE: 0.5, Pairwise.LOSS: 0.0}


@dataclass
class JudgeRecord:
    """What an LLM judge's calls leave behind, and what a detector overrode."""

    calls: list[dict[str, Any]] | None = None  # every prompt and raw response
    cost_usd: float = 0.0
    position_consistent: bool | None = None  # both orders of the pairwise verdict agreed
    judge_said: dict[str, Any] | None = None  # the judge's own view of a case a detector failed
    features: dict[str, float] | None = None  # the reference judge's inputs, so a score can be traced
    labeller: str | None = None  # a frontier label: which model or helper judged it


@dataclass
class Judgment:
    case_id: str
    status: JudgmentStatus
    scores: dict[str, float] = field(default_factory=dict)  # dimension -> score on the rubric's scale
    overall: float | None = None  # weighted average of `scores`, computed by parity, never by the judge
    verdict: Pairwise | None = None  # pairwise against gold
    notes: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # why unscored, or why the agent produced no answer, in words
    agent_failed: bool = False
    unscored: UnscoredKind | None = None  # why unscored, as data
    critical: str | None = None  # the detector that failed the case, if any
    extra: JudgeRecord = field(default_factory=JudgeRecord)


def scored(
    case_id: str,
    scores: dict[str, float],
    weights: dict[str, float],
    verdict: Pairwise,
    notes: dict[str, str],
    extra: JudgeRecord | None = None,
) -> Judgment:
    """A scored judgment; its overall is the rubric-weighted mean of the scores, computed here and never taken from a judge."""
    overall = round(sum(weights[name] * scores[name] for name in weights), 4)
    return Judgment(
        case_id, JudgmentStatus.SCORED, scores=scores, overall=overall, verdict=verdict, notes=notes, extra=extra or JudgeRecord()
    )

"""What every judge returns: one Judgment per (case, answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["win", "tie", "loss"]
VERDICT_SCORE: dict[str, float] = {"win": 1.0, "tie": 0.5, "loss": 0.0}


@dataclass
class Judgment:
    case_id: str
    status: Literal["scored", "unscored"]
    scores: dict[str, float] = field(default_factory=dict)  # dimension -> score on the rubric's scale
    overall: float | None = None  # weighted average of `scores`, computed by parity, never by the judge
    verdict: Verdict | None = None  # pairwise against gold
    notes: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # why unscored, or why the agent produced no answer
    agent_failed: bool = False
    extra: dict = field(default_factory=dict)  # LLM judges: every prompt and raw response, cost, position consistency

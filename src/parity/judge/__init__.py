"""Judges: the offline reference judge today; LLM judges plug in behind the same `judge(case, answer)`."""

from __future__ import annotations

from parity.judge.base import VERDICT_SCORE, Judgment, Verdict
from parity.judge.reference import ReferenceJudge
from parity.models.embedder import get_embedder
from parity.task import Workspace

__all__ = ["Judgment", "Verdict", "VERDICT_SCORE", "ReferenceJudge", "make_judge"]


def make_judge(ws: Workspace) -> ReferenceJudge:
    spec = ws.config.judge
    return ReferenceJudge(ws.config.rubric, get_embedder(spec.embedder), spec.tie_margin)

"""Critical-failure detectors (`[detectors.NAME]` in parity.toml): an answer that matches one fails
its case whatever the judge thought of it, the way a character break fails a persona outright.
The judge still runs, so its own view stays on the record beside the failure."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from parity.judge.base import Judgment
from parity.statuses import JudgmentStatus, Pairwise
from parity.task import Answer, DetectorSpec, RubricSpec

CRITICAL = "critical"  # the note that says what a detector matched


@dataclass(frozen=True)
class Detector:
    name: str
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def from_spec(cls, name: str, spec: DetectorSpec) -> Detector:
        flags = re.IGNORECASE if spec.ignore_case else 0
        return cls(name, tuple(re.compile(p, flags | re.MULTILINE) for p in spec.patterns))

    def find(self, text: str) -> str | None:
        """The first matching text, or None."""
        for pattern in self.patterns:
            if (match := pattern.search(text)) is not None:
                return match.group(0)
        return None


def first_failure(detectors: list[Detector], answer: Answer) -> tuple[str, str] | None:
    """(detector, matched text) of the first detector that fires on `answer`, or None."""
    text = answer.render()
    for detector in detectors:
        found = detector.find(text)
        if found is not None:
            return detector.name, found
    return None


class DetectingJudge:
    """Wraps any judge: the inner judgment, overridden to the worst outcome when a detector fires."""

    def __init__(self, inner, detectors: dict[str, DetectorSpec], rubric: RubricSpec):
        self.inner = inner
        self.detectors = [Detector.from_spec(name, spec) for name, spec in detectors.items()]
        self.rubric = rubric

    def __getattr__(self, name: str):  # thread_safe, weights, model …: the inner judge's
        return getattr(self.inner, name)

    def judge(self, case, answer: Answer, repeat: int = 0) -> Judgment:
        return self.override(self.inner.judge(case, answer, repeat), answer)

    def override(self, judgment: Judgment, answer: Answer) -> Judgment:
        """`judgment` as the ruler counts it: the worst outcome when a detector fires on `answer`. Also
        applied to frontier labels, so a calibration compares the two judges on what they decide."""
        failed = first_failure(self.detectors, answer)
        if failed is None:
            return judgment
        name, found = failed
        worst = float(self.rubric.scale_min)
        notes = {**judgment.notes, CRITICAL: f"{name}: matched “{found}”"}
        said = {"status": judgment.status, "scores": judgment.scores, "verdict": judgment.verdict}
        return replace(
            judgment,
            status=JudgmentStatus.SCORED,
            scores={d: worst for d in self.rubric.dimensions},
            overall=worst,
            verdict=Pairwise.LOSS,
            notes=notes,
            reason=f"{CRITICAL}: {name}",
            unscored=None,
            critical=name,
            extra=replace(judgment.extra, judge_said=said),
        )

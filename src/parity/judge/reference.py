"""The reference judge: offline, deterministic, explainable. Every formula is in docs/reference-judge.md.

Each dimension is a sub-score in [0, 1] mapped onto the rubric's scale. The constants below were
calibrated once on the bundled discovery ruler (gold vs gold_alt vs other cases' gold vs filler);
all of them (and REFERENCE_JUDGE_VERSION, bumped when a formula changes) are part of `identity()`,
which is hashed into the ruler fingerprint, so scores from different formulas are never compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from parity.judge.base import Judgment, Verdict, scored
from parity.statuses import JudgmentStatus, UnscoredKind
from parity.task import Answer, RubricSpec

if TYPE_CHECKING:
    from parity.cases import Case
    from parity.models.embedder import Embedder

REFERENCE_JUDGE_VERSION = "reference-1"

# A question that is compound: a coordinator followed by a new interrogative or auxiliary,
# e.g. "What is your budget and when do you travel?".
_COORDINATOR = r"(?:,?\s+and|,?\s+or|,?\s+as well as|,?\s+plus|;|,\s*also|\s+and also)"
_ASKER = (
    r"(?:what|when|where|which|who|whom|whose|why|how|do|does|did|is|are|was|were|will|would|"
    r"can|could|should|have|has|may|might|shall)"
)
_COMPOUND = re.compile(rf"{_COORDINATOR}\s+{_ASKER}\b", re.IGNORECASE)
_ARTIFACT = re.compile(r"[{}\[\]<>#*_`|\\]|^\s*(?:\d+[.)]|q\d+\s*:|question\s*\d*\s*:|-)", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9']+")

# Questions that fit any task; similarity to these is the opposite of specificity.
GENERIC_QUESTIONS = (
    "Can you tell me more?",
    "Can you provide more details?",
    "Is there anything else I should know?",
    "What are your goals?",
    "What do you want to achieve?",
    "What is your budget?",
    "What is your timeline?",
    "When do you want to start?",
    "Do you have any preferences?",
    "Are there any constraints?",
    "Who is involved?",
    "What have you tried so far?",
    "How can I help you?",
    "What is the purpose?",
    "Do you have any questions?",
    "What is your experience level?",
    "What are your requirements?",
    "What is the scope of the project?",
)

# Calibration constants (see module docstring).
COMPOUND_LONG_WORDS = 28  # a question longer than this is half-compound: long questions bundle asks
SPECIFICITY_LO, SPECIFICITY_HI = -0.40, 0.15  # (relevance to input − genericness) mapped to [0, 1]
COVERAGE_LO, COVERAGE_HI = 0.35, 0.75  # best similarity to a gold question mapped to [0, 1]
REDUNDANCY_LO, REDUNDANCY_HI = 0.70, 0.92  # similarity to the closest sibling: below LO fine, above HI duplicate


def identity() -> dict[str, Any]:
    """Everything that determines the reference judge's scores, for the ruler fingerprint."""
    return {
        "version": REFERENCE_JUDGE_VERSION,
        "generic_questions": list(GENERIC_QUESTIONS),
        "compound": _COMPOUND.pattern,
        "artifact": _ARTIFACT.pattern,
        "constants": [COMPOUND_LONG_WORDS, SPECIFICITY_LO, SPECIFICITY_HI, COVERAGE_LO, COVERAGE_HI, REDUNDANCY_LO, REDUNDANCY_HI],
    }


def ramp(value: np.ndarray | float, lo: float, hi: float) -> np.ndarray:
    return np.clip((np.asarray(value, dtype=float) - lo) / (hi - lo), 0.0, 1.0)


def atomicity(questions: list[str]) -> np.ndarray:
    """Per question: 0 if compound (two '?' or coordinator + new ask), 0.5 if over-long, else 1."""
    scores = []
    for q in questions:
        if q.count("?") > 1 or _COMPOUND.search(q):
            scores.append(0.0)
        elif len(_WORD.findall(q)) > COMPOUND_LONG_WORDS:
            scores.append(0.5)
        else:
            scores.append(1.0)
    return np.array(scores)


def naturalness(questions: list[str]) -> np.ndarray:
    """Per question: share of surface checks passed (form, length, casing, no artifacts, no loops)."""
    scores = []
    for q in questions:
        words = _WORD.findall(q)
        lowered = [w.lower() for w in words]
        checks = [
            q.rstrip().endswith("?"),
            4 <= len(words) <= 30,
            q[:1].isupper(),
            not _ARTIFACT.search(q),
            not (len(words) >= 3 and q.upper() == q),
            len(lowered) < 8 or len(set(lowered)) / len(lowered) >= 0.6,
        ]
        scores.append(sum(checks) / len(checks))
    return np.array(scores)


def specificity(q_vecs: np.ndarray, input_vec: np.ndarray, generic_vecs: np.ndarray) -> np.ndarray:
    """Per question: relevance to the case input minus closeness to generic filler, ramped."""
    relevance = q_vecs @ input_vec
    genericness = (q_vecs @ generic_vecs.T).max(axis=1)
    return ramp(relevance - genericness, SPECIFICITY_LO, SPECIFICITY_HI)


def coverage(q_vecs: np.ndarray, ref_vecs: np.ndarray) -> np.ndarray:
    """Per reference question: how well the best-matching candidate question asks for it."""
    return ramp((ref_vecs @ q_vecs.T).max(axis=1), COVERAGE_LO, COVERAGE_HI)


def non_redundancy(q_vecs: np.ndarray) -> np.ndarray:
    """Per question: 1 minus how close it is to its nearest sibling question."""
    sims = q_vecs @ q_vecs.T
    np.fill_diagonal(sims, -1.0)
    return 1.0 - ramp(sims.max(axis=1), REDUNDANCY_LO, REDUNDANCY_HI)


# What the questions judge measures; a rubric dimension is scored by the signal it names (or its own name).
SIGNALS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


@dataclass
class Scored:
    sub: dict[str, float]  # dimension -> [0, 1]
    notes: dict[str, str]


class ReferenceJudge:
    thread_safe = False  # one embedder, one memo

    def __init__(self, rubric: RubricSpec, embedder: Embedder, tie_margin: float):
        self.rubric = rubric
        self.embedder = embedder
        self.tie_margin = tie_margin
        self.weights = rubric.normalized_weights()
        self._gold_reference: dict[str, float] = {}

    @cached_property
    def _generic(self) -> np.ndarray:
        return self.embedder.encode(list(GENERIC_QUESTIONS))

    def _score(self, case: Case, answer: Answer, reference: Answer | None) -> Scored:
        questions = list(answer.questions)
        q_vecs = self.embedder.encode(questions)
        input_vec = self.embedder.encode([case.input])[0]
        per_question = {
            "atomicity": atomicity(questions),
            "specificity": specificity(q_vecs, input_vec, self._generic),
            "naturalness": naturalness(questions),
            "non_redundancy": non_redundancy(q_vecs),
        }
        sub = {name: float(values.mean()) for name, values in per_question.items()}
        notes = {name: _weakest(questions, values) for name, values in per_question.items()}
        if reference is None:
            sub["coverage"], notes["coverage"] = 1.0, "no independent reference to measure against"
        else:
            covered = coverage(q_vecs, self.embedder.encode(list(reference.questions)))
            sub["coverage"] = float(covered.mean())
            missed = [ref for ref, c in zip(reference.questions, covered) if c < 0.5]
            notes["coverage"] = f"missed {len(missed)}/{len(covered)} gold unknowns" + (f", e.g. “{missed[0]}”" if missed else "")
        signal_of = {name: dim.signal or name for name, dim in self.rubric.dimensions.items()}
        return Scored(
            {name: sub[signal] for name, signal in signal_of.items() if signal in sub},
            {name: notes[signal] for name, signal in signal_of.items() if signal in notes},
        )

    def _normalized(self, sub: dict[str, float]) -> float:
        return sum(self.weights[name] * sub[name] for name in self.weights)

    def _gold_normalized(self, case: Case) -> float:
        # The gold's own standing: its coverage is measured against gold_alt, the independent expert.
        if case.id not in self._gold_reference:
            self._gold_reference[case.id] = self._normalized(self._score(case, case.gold, case.gold_alt).sub)
        return self._gold_reference[case.id]

    def judge(self, case: Case, answer: Answer, repeat: int = 0) -> Judgment:  # deterministic: repeats agree
        result = self._score(case, answer, case.gold)
        unknown = set(self.weights) - set(result.sub)
        if unknown:
            return Judgment(
                case.id,
                JudgmentStatus.UNSCORED,
                reason=f"error: reference judge cannot score {sorted(unknown)}",
                unscored=UnscoredKind.ERROR,
            )
        lo, hi = self.rubric.scale_min, self.rubric.scale_max
        scores = {name: round(lo + (hi - lo) * result.sub[name], 4) for name in self.weights}
        candidate = self._normalized(result.sub)
        gold = self._gold_normalized(case)
        verdict = Verdict.WIN if candidate - gold > self.tie_margin else Verdict.LOSS if gold - candidate > self.tie_margin else Verdict.TIE
        notes = dict(result.notes)
        notes["pairwise"] = f"{verdict}: candidate {candidate:.3f} vs gold {gold:.3f} (tie band ±{self.tie_margin})"
        return scored(case.id, scores, self.weights, verdict, notes)


def _weakest(questions: list[str], values: np.ndarray) -> str:
    worst = int(np.argmin(values))
    if values[worst] >= 0.999:
        return "all questions pass"
    return f"weakest q{worst + 1} ({values[worst]:.2f}): “{questions[worst]}”"

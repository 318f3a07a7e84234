"""The leak detector: an answer that repeats its own case's gold questions (for free text: its
sentences) verbatim, or copies nearly all of them with a few words added or changed, was not
produced honestly (gold smuggled into a prompt, a Python agent reading the ruler, a corpus copy of
a case). Independent writers of short questions converge on some identical ones, so a near copy
counts only when nearly the whole answer is one (measured on every bundled gold_alt: none reaches it
except a gold_alt that is itself a copy, see tests/test_leak.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from parity.cases import Case

LEAK_THRESHOLD = 4  # this many normalized questions shared verbatim with the case's gold flags the experiment
NEAR_THRESHOLD = 5  # ... or this many near copies (all of them, when the gold has fewer units)
NEAR_RATIO = 0.9  # character similarity of two normalized units above which one is a near copy of the other
NEAR_EXTRA_WORDS = 4  # a gold unit inside a longer one with at most this many words added is a near copy


@dataclass
class Leak:
    case_id: str
    shared: list[str]  # the answer's questions found verbatim (after normalizing) in gold or gold_alt
    near: bool = False  # found as near copies (a few words added or changed), not verbatim

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case_id, "shared": self.shared, "near": self.near}


def normalize_question(text: str) -> str:
    """Lowercase, punctuation dropped, whitespace collapsed: trivial edits do not hide a copy."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def is_near_copy(unit: str, reference: str) -> bool:
    """Both normalized: the same unit with a few words added, dropped or changed."""
    if unit == reference:
        return True
    if f" {reference} " in f" {unit} " and len(unit.split()) - len(reference.split()) <= NEAR_EXTRA_WORDS:
        return True
    matcher = SequenceMatcher(None, unit, reference, autojunk=False)
    # the quick ratios are upper bounds of ratio(): most pairs are ruled out without the full match
    return matcher.real_quick_ratio() >= NEAR_RATIO and matcher.quick_ratio() >= NEAR_RATIO and matcher.ratio() >= NEAR_RATIO


def find_leak(case: Case, questions: list[str]) -> Leak | None:
    golds = [case.gold] + ([case.gold_alt] if case.gold_alt is not None else [])
    units = list(dict.fromkeys(questions))
    for gold in golds:
        reference = [normalize_question(q) for q in gold.units()]
        shared = [q for q in units if normalize_question(q) in set(reference)]
        if len(shared) >= LEAK_THRESHOLD:
            return Leak(case.id, shared)
        near = [q for q in units if any(is_near_copy(normalize_question(q), r) for r in reference)]
        if len(reference) >= 2 and len(near) >= min(NEAR_THRESHOLD, len(reference)):
            return Leak(case.id, near, near=True)
    return None


def find_leaks(cases: list[Case], answers: dict[str, list[str]]) -> list[Leak]:
    """Every case whose answer shares at least LEAK_THRESHOLD questions with its own gold."""
    leaks = []
    for case in cases:
        if case.id in answers and (leak := find_leak(case, answers[case.id])) is not None:
            leaks.append(leak)
    return leaks

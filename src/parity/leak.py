"""The leak detector: an answer that repeats its own case's gold questions (for free text: its
sentences) verbatim was not produced honestly (gold smuggled into a prompt, a Python agent
reading the ruler, a corpus copy of a case)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parity.ruler import Case

LEAK_THRESHOLD = 4  # this many normalized questions shared verbatim with the case's gold flags the experiment


@dataclass
class Leak:
    case_id: str
    shared: list[str]  # the answer's questions found verbatim (after normalizing) in gold or gold_alt

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.case_id, "shared": self.shared}


def normalize_question(text: str) -> str:
    """Lowercase, punctuation dropped, whitespace collapsed: trivial edits do not hide a copy."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def find_leak(case: Case, questions: list[str]) -> Leak | None:
    golds = [case.gold] + ([case.gold_alt] if case.gold_alt is not None else [])
    for gold in golds:
        reference = {normalize_question(q) for q in gold.units()}
        shared = [q for q in dict.fromkeys(questions) if normalize_question(q) in reference]
        if len(shared) >= LEAK_THRESHOLD:
            return Leak(case.id, shared)
    return None


def find_leaks(cases: list[Case], answers: dict[str, list[str]]) -> list[Leak]:
    """Every case whose answer shares at least LEAK_THRESHOLD questions with its own gold."""
    leaks = []
    for case in cases:
        if case.id in answers and (leak := find_leak(case, answers[case.id])) is not None:
            leaks.append(leak)
    return leaks

"""The cases of a ruler: held-out inputs with their gold answers (and an independent second gold),
read from ruler/cases.jsonl and checked line by line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parity.errors import ParityError
from parity.io import one_line, read_jsonl
from parity.task import Answer, Workspace, parse_answer

DIFFICULTIES = ("easy", "medium", "hard")
_CASE_FIELDS = {"id", "category", "difficulty", "input", "gold", "gold_alt"}


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    difficulty: str
    input: str
    gold: Answer
    gold_alt: Answer | None

    def to_dict(self) -> dict[str, Any]:
        """The case as a line of ruler/cases.jsonl holds it (what the fingerprint hashes)."""
        return {
            "id": self.id,
            "category": self.category,
            "difficulty": self.difficulty,
            "input": self.input,
            "gold": self.gold.to_dict(),
            "gold_alt": self.gold_alt.to_dict() if self.gold_alt else None,
        }


def load_cases(ws: Workspace) -> list[Case]:
    shown = ws.shown(ws.cases_path)
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for where, obj in read_jsonl(ws.cases_path, shown):
        case = parse_case(obj, ws, where)
        if case.id in seen:
            raise ParityError(f"duplicate case id '{one_line(case.id)}' (first at {seen[case.id]})", where, "give every case a unique id")
        seen[case.id] = where
        cases.append(case)
    if not cases:
        raise ParityError("the ruler has no cases", shown, "add held-out cases, one JSON object per line")
    return cases


def parse_case(obj: dict[str, Any], ws: Workspace, where: str) -> Case:
    for key in ("id", "category", "difficulty", "input", "gold"):
        if key not in obj:
            raise ParityError(f"missing field '{key}'", where, f"every case needs {', '.join(sorted(_CASE_FIELDS - {'gold_alt'}))}")
    unknown = set(obj) - _CASE_FIELDS
    if unknown:
        raise ParityError(f"unknown field(s) {sorted(unknown)}", where, f"allowed: {', '.join(sorted(_CASE_FIELDS))}")
    for key in ("id", "category", "input"):
        if not isinstance(obj[key], str) or not obj[key].strip():
            raise ParityError(f"field '{key}' must be a non-empty string", where, "fix that line")
    if obj["difficulty"] not in DIFFICULTIES:
        raise ParityError(
            f"difficulty '{one_line(str(obj['difficulty']))}' is not one of {', '.join(DIFFICULTIES)}", where, "fix that line"
        )
    try:
        gold = parse_answer(obj["gold"], ws.task, "gold")
        gold_alt = parse_answer(obj["gold_alt"], ws.task, "gold_alt") if obj.get("gold_alt") is not None else None
    except ValueError as exc:
        raise ParityError(str(exc), where, "fix the gold answer on that line") from None
    return Case(obj["id"], obj["category"], obj["difficulty"], obj["input"].strip(), gold, gold_alt)

"""The cases of a ruler: held-out inputs with their gold answers (and an independent second gold),
read from ruler/cases.jsonl and checked line by line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from parity.errors import ParityError
from parity.io import one_line, parse_json, read_jsonl
from parity.task import Answer, TaskSpec, Workspace, parse_answer

DIFFICULTIES = ("easy", "medium", "hard")
_CASE_FIELDS = {"id", "category", "difficulty", "input", "gold", "gold_alt", "meta"}


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    difficulty: str
    input: str  # an object input (the task declares input_fields) travels as its JSON text
    gold: Answer
    gold_alt: Answer | None
    meta: dict[str, Any] | None = field(default=None, compare=False)  # the user's own notes on the case, kept and shown

    def to_dict(self) -> dict[str, Any]:
        """The case as a line of ruler/cases.jsonl holds it (what the fingerprint hashes)."""
        row = {
            "id": self.id,
            "category": self.category,
            "difficulty": self.difficulty,
            "input": self.input,
            "gold": self.gold.to_dict(),
            "gold_alt": self.gold_alt.to_dict() if self.gold_alt else None,
        }
        if self.meta is not None:  # absent, as before meta existed: old fingerprints stay
            row["meta"] = self.meta
        return row


def input_text(value: Any, task: TaskSpec) -> str:
    """A case or corpus input as agents receive it: the string, or an object's JSON text with the task's
    fields in their declared order. ValueError says what is wrong."""
    if task.input_fields is None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("field 'input' must be a non-empty string (declare [task] input_fields for object inputs)")
        return value.strip()
    if not isinstance(value, dict):
        raise ValueError(f"field 'input' must be an object with {', '.join(task.input_fields)}")
    missing = [name for name in task.input_fields if name not in value]
    extra = sorted(set(value) - set(task.input_fields))
    if missing or extra:
        problem = f"misses {', '.join(missing)}" if missing else f"has undeclared field(s) {', '.join(extra)}"
        raise ValueError(f"input {problem}; [task] input_fields = {task.input_fields}")
    return json.dumps({name: value[name] for name in task.input_fields}, ensure_ascii=False)


def input_values(text: str, task: TaskSpec) -> dict[str, Any]:
    """The fields of an object input from its JSON text (`input_text`); empty for string inputs."""
    if task.input_fields is None:
        return {}
    try:
        value = parse_json(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ValueError(f"this task's inputs are objects with {', '.join(task.input_fields)}; got text that is not one")
    return value


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
        raise ParityError(
            "the ruler has no cases", shown, "add held-out cases, one JSON object per line (ruler/README.md of a new workspace shows one)"
        )
    return cases


def parse_case(obj: dict[str, Any], ws: Workspace, where: str) -> Case:
    for key in ("id", "category", "difficulty", "input", "gold"):
        if key not in obj:
            fix = f"every case needs {', '.join(sorted(_CASE_FIELDS - {'gold_alt', 'meta'}))}"
            raise ParityError(
                f"missing field '{key}'",
                where,
                fix + (" (or have a teacher write it: parity gold --teacher SPEC)" if key == "gold" else ""),
            )
    unknown = set(obj) - _CASE_FIELDS
    if unknown:
        raise ParityError(f"unknown field(s) {sorted(unknown)}", where, f"allowed: {', '.join(sorted(_CASE_FIELDS))}")
    for key in ("id", "category"):
        if not isinstance(obj[key], str) or not obj[key].strip():
            raise ParityError(f"field '{key}' must be a non-empty string", where, "fix that line")
    if obj.get("meta") is not None and not isinstance(obj["meta"], dict):
        raise ParityError("field 'meta' must be an object", where, "fix that line, or leave meta out")
    if obj["difficulty"] not in DIFFICULTIES:
        raise ParityError(
            f"difficulty '{one_line(str(obj['difficulty']))}' is not one of {', '.join(DIFFICULTIES)}", where, "fix that line"
        )
    try:
        text = input_text(obj["input"], ws.task)
    except ValueError as exc:
        raise ParityError(str(exc), where, "fix the input on that line") from None
    try:
        gold = parse_answer(obj["gold"], ws.task, "gold")
        gold_alt = parse_answer(obj["gold_alt"], ws.task, "gold_alt") if obj.get("gold_alt") is not None else None
    except ValueError as exc:
        raise ParityError(str(exc), where, "fix the gold answer on that line") from None
    return Case(obj["id"], obj["category"], obj["difficulty"], text, gold, gold_alt, obj.get("meta"))

"""The reference judge for json tasks: offline and deterministic, it compares an answer with the gold
field by field (parity/json_shape.py names the fields). Formulas: docs/reference-judge.md.

- enum, const, boolean and number fields: exact (a number within `[judge] number_tolerance`): 1 or 0;
- string fields: 1 when equal after normalizing (case, punctuation, spacing), else MiniLM cosine ramped
  from STRING_LO (0) to STRING_HI (1);
- array fields: set F1, an item matching when equal after normalizing, or (strings) at cosine ≥ ITEM_MATCH.

A rubric dimension scores the mean of the fields it names (`fields = [...]`; unset: every field). It
measures closeness to one gold answer, not quality: a reply worded differently from the gold but as good
scores lower. Use an LLM judge for decisions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

import parity.json_shape as json_shape
from parity.errors import ParityError
from parity.judge.reference import ReferenceJudge, Scored, ramp
from parity.leak import normalize_question
from parity.task import Answer, RubricSpec, TaskSpec

if TYPE_CHECKING:
    from parity.cases import Case
    from parity.models.embedder import Embedder

JSON_JUDGE_VERSION = "reference-json-1"
SIGNALS = {"fields": "the mean of the dimension's fields' closeness to the gold (exact for enums, numbers, booleans)"}
STRING_LO, STRING_HI = 0.30, 0.90
ITEM_MATCH = 0.75


def identity(number_tolerance: float) -> dict[str, Any]:
    """Everything that determines this judge's scores, for the ruler fingerprint."""
    return {"version": JSON_JUDGE_VERSION, "signals": sorted(SIGNALS), "constants": [STRING_LO, STRING_HI, ITEM_MATCH, number_tolerance]}


class FieldScorer:
    """Closeness of each field of an answer to the same field of a reference answer, in [0, 1]."""

    def __init__(self, task: TaskSpec, embedder: Embedder, number_tolerance: float = 0.0):
        self.declared = json_shape.schema_fields(task.output_schema)
        self.embedder = embedder
        self.tolerance = number_tolerance

    def score(self, answer: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
        mine, theirs = json_shape.fields(answer), json_shape.fields(reference)
        return {name: self.field(sub, mine.get(name), theirs.get(name)) for name, sub in self.declared.items()}

    def field(self, subschema: dict[str, Any], value: Any, reference: Any) -> float:
        if value is None or reference is None:
            return float(value is None and reference is None)
        if json_shape.is_exact(subschema) or isinstance(reference, bool):
            return float(self._same(value, reference))
        if isinstance(reference, str) and isinstance(value, str):
            return self._text(value, reference)
        if isinstance(reference, list) and isinstance(value, list):
            return self._set_f1(value, reference)
        return float(value == reference)

    def _same(self, value: Any, reference: Any) -> bool:
        numbers = (int, float)
        if (
            isinstance(value, numbers)
            and isinstance(reference, numbers)
            and not isinstance(value, bool)
            and not isinstance(reference, bool)
        ):
            return abs(value - reference) <= self.tolerance
        return bool(value == reference)

    def _text(self, value: str, reference: str) -> float:
        if normalize_question(value) == normalize_question(reference):
            return 1.0
        vectors = self.embedder.encode([value, reference])
        return float(ramp(float(vectors[0] @ vectors[1]), STRING_LO, STRING_HI))

    def _set_f1(self, values: list[Any], reference: list[Any]) -> float:
        if not values or not reference:
            return float(not values and not reference)
        matched = sum(any(self._item_match(v, r) for v in values) for r in reference)
        found = sum(any(self._item_match(v, r) for r in reference) for v in values)
        recall, precision = matched / len(reference), found / len(values)
        return 0.0 if recall + precision == 0 else 2 * precision * recall / (precision + recall)

    def _item_match(self, value: Any, reference: Any) -> bool:
        if isinstance(value, str) and isinstance(reference, str):
            if normalize_question(value) == normalize_question(reference):
                return True
            vectors = self.embedder.encode([value, reference])
            return float(vectors[0] @ vectors[1]) >= ITEM_MATCH
        return self._same(value, reference)


def check_fields(rubric: RubricSpec, task: TaskSpec) -> None:
    """Refuse a dimension naming a field the schema does not declare, or a signal this judge lacks."""
    declared = json_shape.schema_fields(task.output_schema)
    for name, dim in rubric.dimensions.items():
        if (dim.signal or "fields") != "fields":
            raise ParityError(
                f"the json reference judge has no signal '{dim.signal}' for dimension '{name}'",
                f"parity.toml [rubric.dimensions.{name}]",
                'remove signal (it scores the dimension\'s fields), or use an LLM judge ([judge] kind = "llm")',
            )
        for field in dim.fields or []:
            if field not in declared:
                raise ParityError(
                    f"dimension '{name}' names field '{field}', which the answer schema does not declare",
                    f"parity.toml [rubric.dimensions.{name}]",
                    f"use one of {', '.join(declared)}",
                )


class JsonReferenceJudge(ReferenceJudge):
    """The questions judge's pairwise rule and scale mapping, with per-field signals."""

    def __init__(self, rubric: RubricSpec, task: TaskSpec, embedder: Embedder, tie_margin: float, number_tolerance: float = 0.0):
        super().__init__(rubric, embedder, tie_margin)
        check_fields(rubric, task)
        self.scorer = FieldScorer(task, embedder, number_tolerance)

    def _score(self, case: Case, answer: Answer, reference: Answer | None) -> Scored:
        if reference is None or reference.data is None:
            return Scored(
                {name: 1.0 for name in self.rubric.dimensions},
                {name: "no independent reference to measure against" for name in self.rubric.dimensions},
            )
        per_field = self.scorer.score(answer.data or {}, reference.data)  # an answer of another kind matches no field
        sub, notes = {}, {}
        for name, dim in self.rubric.dimensions.items():
            names = dim.fields or list(per_field)
            values = [per_field[f] for f in names]
            sub[name] = float(np.mean(values))
            notes[name] = ", ".join(f"{f} {per_field[f]:.2f}" for f in names)
        return Scored(sub, notes)


def field_accuracy(scorer: FieldScorer, cases: list[Case], answers: dict[str, dict[str, Any] | None]) -> dict[str, float]:
    """Per field, over every case of the gate (a case with no answer scores 0): the share answered exactly as
    the gold for enum, number and boolean fields; the mean closeness for the others. Reported beside quality."""
    if not cases:
        return {}
    totals = dict.fromkeys(scorer.declared, 0.0)
    for case in cases:
        answer = answers.get(case.id)
        if answer is None or case.gold.data is None:
            continue
        for name, value in scorer.score(answer, case.gold.data).items():
            totals[name] += value
    return {name: round(total / len(cases), 4) for name, total in totals.items()}

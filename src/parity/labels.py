"""Frontier-labelled calibration sets: answers judged blind by frontier models, one row per answer.

A workspace ships its set as `calibration/labels.jsonl` beside `ruler/`. Every row is self-contained
(the task input, its gold and gold_alt, the candidate, where the candidate came from, and one or more
independent judgings), so a set can be checked against any judge without the ruler it was drawn from.
Rows are split by task: `fit` tasks may be used to fit a judge, `heldout` tasks only to check one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parity.cases import Case
from parity.errors import ParityError
from parity.io import canonical_json, read_jsonl
from parity.judge.base import JudgeRecord, Judgment
from parity.metrics import case_quality
from parity.statuses import JudgmentStatus, Pairwise
from parity.task import Answer, Workspace, parse_answer

LABELS_PATH = Path("calibration") / "labels.jsonl"
GOLD_ALT_SOURCE = "gold_alt"  # the independent second expert: the ceiling, never a "model answer"
GENERATED_PREFIXES = ("agent:", "adapter:")  # sources a model generated (the rest were written by hand)


class Split(StrEnum):
    FIT = "fit"
    HELDOUT = "heldout"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelJudging(_Strict):
    """One frontier judge's blind reading of one answer."""

    judge: str = Field(min_length=1)  # which model, which session/helper
    brief: str = Field(min_length=1)  # sha256 of the brief it was given
    scores: dict[str, int]
    verdict: Literal["win", "tie", "loss"]  # the candidate against gold


class LabelRow(_Strict):
    item: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    split: Split
    category: str = ""
    difficulty: str = ""
    input: str
    gold: dict[str, Any]
    gold_alt: dict[str, Any] | None = None
    candidate: dict[str, Any]
    source: str = Field(min_length=1)  # e.g. agent:baseline, adapter:sft-e1, gold_alt, degraded:compound
    judgings: list[LabelJudging] = Field(min_length=1)


@dataclass(frozen=True)
class LabelledItem:
    item: str
    split: Split
    source: str
    case: Case
    candidate: Answer
    judgings: tuple[Judgment, ...]  # the labels, as judgments a metric can read

    @property
    def is_model_answer(self) -> bool:
        return self.source != GOLD_ALT_SOURCE


@dataclass(frozen=True)
class LabelSet:
    items: tuple[LabelledItem, ...]
    fingerprint: str  # sha256 of the rows as read
    path: str

    def where(self, split: Split | None) -> list[LabelledItem]:
        return [i for i in self.items if split is None or i.split == split]

    def on_tasks(self, task_ids: set[str]) -> LabelSet:
        """Only the answers to these tasks (e.g. the workspace's own ruler cases)."""
        return LabelSet(tuple(i for i in self.items if i.case.id in task_ids), self.fingerprint, self.path)


def labels_path(ws: Workspace) -> Path:
    return ws.root / LABELS_PATH


def load_labels(path: Path, ws: Workspace, shown_as: str | None = None) -> LabelSet:
    """Read and validate a label set against the workspace's task and rubric; one-line errors at file:line."""
    shown = shown_as or str(path)
    rubric = ws.config.rubric
    items: list[LabelledItem] = []
    digests: list[str] = []
    seen: dict[str, str] = {}
    for where, obj in read_jsonl(path, shown):
        try:
            row = LabelRow.model_validate(obj)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "row"
            raise ParityError(f"{field}: {first['msg']}", where, "fix that row (see docs/calibration.md for the row format)") from None
        if row.item in seen:
            raise ParityError(
                f"duplicate item '{row.item}' (first at {seen[row.item]})", where, "give every labelled answer a unique item id"
            )
        seen[row.item] = where
        for judging in row.judgings:
            if set(judging.scores) != set(rubric.dimensions):
                raise ParityError(
                    f"judging by '{judging.judge}' scores {sorted(judging.scores)}, the rubric has {sorted(rubric.dimensions)}",
                    where,
                    "label sets must score exactly the workspace's rubric dimensions",
                )
            bad = {d: s for d, s in judging.scores.items() if not rubric.scale_min <= s <= rubric.scale_max}
            if bad:
                raise ParityError(f"scores {bad} outside the rubric's scale {rubric.scale_min}–{rubric.scale_max}", where, "fix the scores")
        items.append(_item(row, ws, where))
        digests.append(canonical_json(obj))
    if not items:
        raise ParityError("the label set is empty", shown, "add labelled answers, one JSON object per line")
    fingerprint = hashlib.sha256("\n".join(digests).encode()).hexdigest()
    return LabelSet(tuple(items), fingerprint, shown)


def _item(row: LabelRow, ws: Workspace, where: str) -> LabelledItem:
    rubric = ws.config.rubric
    try:
        gold = parse_answer(row.gold, ws.task, "gold")
        gold_alt = parse_answer(row.gold_alt, ws.task, "gold_alt") if row.gold_alt is not None else None
        candidate = parse_answer(row.candidate, ws.task, "candidate")
    except ValueError as exc:
        raise ParityError(str(exc), where, "every answer in a label set must fit the workspace's task") from None
    case = Case(row.task_id, row.category, row.difficulty, row.input, gold, gold_alt)
    judgments = tuple(
        Judgment(
            row.task_id,
            JudgmentStatus.SCORED,
            scores=dict(j.scores),
            overall=_overall(j.scores, rubric.normalized_weights()),
            verdict=Pairwise(j.verdict),
            extra=JudgeRecord(labeller=j.judge),
        )
        for j in row.judgings
    )
    return LabelledItem(row.item, row.split, row.source, case, candidate, judgments)


def _overall(scores: dict[str, int], weights: dict[str, float]) -> float:
    return sum(weights[d] * scores[d] for d in weights)


def label_quality(item: LabelledItem, ws: Workspace) -> float:
    """The frontier labels' quality of one answer: the mean over its independent judgings."""
    values = [case_quality(j, ws.config.rubric, ws.config.metric) for j in item.judgings]
    return sum(v for v in values if v is not None) / len(values)

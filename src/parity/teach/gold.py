"""`parity gold`: the teacher writes `gold` for ruler cases that have only an input, and (`--alt`) an
independent `gold_alt`, asked separately and never shown the gold. A gold_alt that nearly copies its gold
(analysis/ruler_check.py's thresholds) is asked for again, then kept and flagged. Each answer is written
into ruler/cases.jsonl atomically as soon as it validates; the user reviews, then locks the ruler."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from parity.analysis.ruler_check import independence_of
from parity.cases import Case, input_text
from parity.errors import ParityError
from parity.io import atomic_write_text, read_jsonl
from parity.models.embedder import Embedder
from parity.store import Store
from parity.task import Answer, Workspace, parse_answer
from parity.teach.teacher import BudgetStop, Teacher, budget_error, record

ALT_SEED = 1  # the same model as a second expert answers at another seed, told to answer on its own


@dataclass
class GoldReport:
    written: list[str] = field(default_factory=list)  # "case-id gold" / "case-id gold_alt"
    failed: dict[str, str] = field(default_factory=dict)  # "case-id gold" -> why, e.g. the validation error
    failed_at: list[str] = field(default_factory=list)  # the cases.jsonl lines of the failures
    flagged: list[str] = field(default_factory=list)  # a gold_alt that still nearly copies its gold
    cost_usd: float = 0.0


def fill_gold(
    ws: Workspace,
    teacher: Teacher,
    alt: Teacher | None,
    embedder: Embedder,
    store: Store,
    show: Callable[[str, str, Answer], None] = lambda case_id, which, answer: None,
) -> GoldReport:
    rows = [(where, row) for where, row in read_jsonl(ws.cases_path, ws.shown(ws.cases_path))]
    if not rows:
        raise ParityError("the ruler has no cases", ws.shown(ws.cases_path), "add cases with at least an id and an input first")
    inputs = [_input_of(row, where, ws) for where, row in rows]
    report = GoldReport()
    try:
        for (where, row), case_input in zip(rows, inputs):
            failures = len(report.failed)
            if row.get("gold") is None:
                _fill(ws, rows, row, "gold", teacher.answer(case_input), report, show)
            if alt is not None and row.get("gold") is not None and row.get("gold_alt") is None:
                _fill_alt(ws, rows, row, case_input, alt, embedder, report, show, where)
            if len(report.failed) > failures:
                report.failed_at.append(where)
    except BudgetStop:
        raise budget_error(teacher.budget, f"{len(report.written)} answers written", "parity gold") from None
    finally:
        if report.written or report.failed:
            record(
                store,
                ws.cases_path,
                ws.shown(ws.cases_path),
                "gold",
                [teacher] + ([alt] if alt else []),
                {"written": report.written, "failed": report.failed, "flagged": report.flagged, "cost_usd": report.cost_usd},
            )
    return report


def _input_of(row: dict[str, Any], where: str, ws: Workspace) -> str:
    if not isinstance(row.get("id"), str) or not row["id"].strip():
        raise ParityError("field 'id' must be a non-empty string", where, "give every case an id")
    try:
        return input_text(row.get("input"), ws.task)
    except ValueError as exc:
        raise ParityError(str(exc), where, "fix the input on that line") from None


def _fill(ws: Workspace, rows: list, row: dict[str, Any], which: str, taught: Any, report: GoldReport, show: Callable) -> None:
    report.cost_usd += taught.cost_usd
    if taught.answer is None:
        report.failed[f"{row['id']} {which}"] = taught.failure or "no answer"
        return
    row[which] = taught.answer.shown()
    _write(ws, rows)
    report.written.append(f"{row['id']} {which}")
    show(row["id"], which, taught.answer)


def _fill_alt(
    ws: Workspace,
    rows: list,
    row: dict[str, Any],
    case_input: str,
    alt: Teacher,
    embedder: Embedder,
    report: GoldReport,
    show: Callable,
    where: str,
) -> None:
    try:
        gold = parse_answer(row["gold"], ws.task, "gold")
    except ValueError as exc:
        raise ParityError(str(exc), where, "fix the gold answer on that line") from None
    taught = alt.answer(case_input, independent=True, seed=ALT_SEED)
    if taught.answer is not None and _copies(row, case_input, gold, taught.answer, embedder):
        report.cost_usd += taught.cost_usd
        taught = alt.answer(case_input, independent=True, seed=ALT_SEED, attempt_offset=2)  # asked again, at another draw
        if taught.answer is not None and _copies(row, case_input, gold, taught.answer, embedder):
            report.flagged.append(str(row["id"]))
    _fill(ws, rows, row, "gold_alt", taught, report, show)


def _copies(row: dict[str, Any], case_input: str, gold: Answer, alt: Answer, embedder: Embedder) -> bool:
    return independence_of(Case(str(row["id"]), "", "", case_input, gold, alt), embedder).copied


def _write(ws: Workspace, rows: list) -> None:
    atomic_write_text(ws.cases_path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for _, row in rows))

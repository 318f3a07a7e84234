"""Reading an experiment's stored answers back for analyses that judge or probe them again."""

from __future__ import annotations

from dataclasses import replace

from parity.errors import ParityError
from parity.experiment import failed_judgment
from parity.judge import Judge, Judgment
from parity.ruler import Case, Ruler
from parity.store import CaseRow, ExperimentRow, Store
from parity.task import Answer, RubricSpec, Workspace


def experiment_of_ruler(ws: Workspace, ruler: Ruler, store: Store, experiment_id: int) -> ExperimentRow:
    row = store.require_experiment(experiment_id)
    if row.ruler_fingerprint != ruler.fingerprint:
        raise ParityError(
            f"experiment #{experiment_id} ran on another ruler ({row.ruler_fingerprint[:12]})",
            ws.shown(ws.lock_path),
            "analyze experiments of the current ruler only",
        )
    return row


def stored_cases(ruler: Ruler, store: Store, experiment_id: int) -> list[tuple[Case, CaseRow]]:
    cases = {case.id: case for case in ruler.cases}
    return [(cases[r.case_id], r) for r in store.case_rows(experiment_id) if r.case_id in cases]


def answer_of(row: CaseRow) -> Answer | None:
    return Answer.from_dict(row.answer) if row.answer is not None else None


def answer_text(answer: dict | Answer) -> str:
    """One string per answer, for embeddings and text features: the title, then one question per line
    (or a free-text answer's text)."""
    return (Answer.from_dict(answer) if isinstance(answer, dict) else answer).render()


def check_dimension(ws: Workspace, dimension: str) -> None:
    if dimension not in ws.config.rubric.dimensions:
        raise ParityError(
            f"the rubric has no dimension '{dimension}'", "--dimension", f"use one of: {', '.join(ws.config.rubric.dimensions)}"
        )


def judge_stored(ws: Workspace, judge: Judge, case: Case, row: CaseRow, repeat: int = 0, rubric: RubricSpec | None = None) -> Judgment:
    """The stored answer judged again; a case the agent failed stays failed, on whichever rubric is in use."""
    answer = answer_of(row)
    if answer is not None:
        return judge.judge(case, answer, repeat=repeat)
    failed = failed_judgment(case, row.answer_error or "no answer", ws)
    if rubric is None:
        return failed
    return replace(failed, scores={name: float(rubric.scale_min) for name in rubric.dimensions})

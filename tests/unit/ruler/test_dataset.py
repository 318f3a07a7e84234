"""The bundled discovery data: the shape of the ruler and of the corpus."""

from __future__ import annotations

import re
from collections import Counter

from parity.io import read_jsonl
from parity.ruler import load_ruler
from parity.task import Workspace, parse_answer


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def test_ruler_shape(ws: Workspace) -> None:
    ruler = load_ruler(ws)  # also proves the shipped LOCK matches the shipped data
    assert len(ruler.cases) == 30
    assert len({c.category for c in ruler.cases}) >= 8
    assert {c.difficulty for c in ruler.cases} == {"easy", "medium", "hard"}
    assert len(ruler.gates["dev"]) == 10 and len(ruler.gates["full"]) == 30
    for case in ruler.cases:
        assert case.gold_alt is not None, case.id
        for answer in (case.gold, case.gold_alt):
            assert len(answer.questions) == 7
            assert len({_norm(q) for q in answer.questions}) == 7, case.id
            assert all(q.endswith("?") for q in answer.questions), case.id
        assert case.gold.questions != case.gold_alt.questions


def test_corpus_is_large_distinct_and_well_formed(ws: Workspace) -> None:
    rows = [obj for _, obj in read_jsonl(ws.corpus_path)]
    assert len(rows) >= 400
    assert len({r["id"] for r in rows}) == len(rows)
    questions = []
    for row in rows:
        answer = parse_answer(row["answer"], ws.task, row["id"])
        questions.extend(_norm(q) for q in answer.questions)
    distinct_share = len(set(questions)) / len(questions)
    assert distinct_share >= 0.95, distinct_share
    assert len({_norm(r["input"]) for r in rows}) == len(rows)


def test_corpus_categories_are_spread(ws: Workspace) -> None:
    counts = Counter(obj["category"] for _, obj in read_jsonl(ws.corpus_path))
    assert len(counts) >= 8 and min(counts.values()) >= 10

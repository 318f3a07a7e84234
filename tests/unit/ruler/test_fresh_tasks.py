"""The discovery workspace's fresh tasks (fresh/cases.jsonl): new tasks with two independent golds, kept
out of the ruler and the corpus for a final, never-fitted confirmation. Each line is a valid ruler case,
and no input repeats or nearly repeats a ruler case or a corpus input."""

from __future__ import annotations

import json

import numpy as np

from parity.agent.corpus import NEAR_DUPLICATE, Corpus
from parity.cases import parse_case
from parity.leak import normalize_question
from parity.models.embedder import workspace_cache
from parity.ruler import load_ruler
from parity.task import Workspace


def test_the_fresh_tasks_are_new_valid_cases_with_two_golds_by_different_writers(ws: Workspace) -> None:
    folder = ws.root / "fresh"
    lines = (folder / "cases.jsonl").read_text().splitlines()
    cases = [parse_case(json.loads(line), ws, f"fresh/cases.jsonl:{n}") for n, line in enumerate(lines, 1) if line.strip()]
    assert len(cases) >= 30 and len({c.id for c in cases}) == len(cases)
    assert all(c.gold_alt is not None for c in cases)
    assert {c.category for c in cases} == {c.category for c in load_ruler(ws).cases}

    inputs = [c.input for c in cases]
    corpus = Corpus.load(ws.corpus_path, workspace_cache(ws.state_dir), "corpus/train.jsonl", ws.task)
    assert corpus.repeats(inputs) == []  # no corpus input is, or nearly is, a fresh task
    ruler_inputs = [c.input for c in load_ruler(ws).cases]
    assert not {normalize_question(t) for t in inputs} & {normalize_question(t) for t in ruler_inputs}
    assert float(np.max(corpus.embed(inputs) @ corpus.embed(ruler_inputs).T)) < NEAR_DUPLICATE

    provenance = json.loads((folder / "PROVENANCE.json").read_text())
    for case in cases:
        writers = provenance["writers"][case.id]
        assert writers["gold"] != writers["gold_alt"]  # the second gold is independent of the first

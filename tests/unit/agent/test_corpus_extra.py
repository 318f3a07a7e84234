"""The discovery workspace's further corpus (corpus/extra.jsonl): 200 entries written by hand for training
only. Each is a valid corpus entry in a bundled category with its own id, and no input repeats or nearly
repeats a ruler case or a fresh task, so `--data corpus/train.jsonl --data corpus/extra.jsonl` can never
train on what the ruler or the fresh confirmation measures."""

from __future__ import annotations

import json

from parity.agent.corpus import Corpus
from parity.cases import parse_case
from parity.models.embedder import workspace_cache
from parity.ruler import load_ruler
from parity.task import Workspace


def test_the_extra_corpus_is_new_valid_entries_that_leak_neither_the_ruler_nor_the_fresh_tasks(ws: Workspace) -> None:
    cache = workspace_cache(ws.state_dir)
    extra = Corpus.load(ws.root / "corpus" / "extra.jsonl", cache, "corpus/extra.jsonl", ws.task)
    bundled = Corpus.load(ws.corpus_path, cache, "corpus/train.jsonl", ws.task)
    ids = [demo.id for demo in extra.demos]
    assert len(ids) == 200 and len(set(ids)) == 200 and not set(ids) & {demo.id for demo in bundled.demos}
    assert {demo.category for demo in extra.demos} == {demo.category for demo in bundled.demos}
    assert all(len(demo.answer["questions"]) == ws.task.n_questions for demo in extra.demos)

    fresh = [
        parse_case(json.loads(line), ws, f"fresh/cases.jsonl:{n}").input
        for n, line in enumerate((ws.root / "fresh" / "cases.jsonl").read_text().splitlines(), 1)
        if line.strip()
    ]
    assert extra.repeats([case.input for case in load_ruler(ws).cases]) == []  # normalized-equal or MiniLM cosine ≥ 0.9
    assert extra.repeats(fresh) == []
    assert bundled.repeats([demo.input for demo in extra.demos]) == []  # new tasks, not the bundled ones again

    provenance = json.loads((ws.root / "corpus" / "PROVENANCE-extra.json").read_text())
    assert set(provenance["writers"]) == set(ids)

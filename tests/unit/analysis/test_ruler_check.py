"""`parity ruler check`: a gold_alt that copies its gold is flagged, independent ones are not, and the
bundled rulers pass (tests/e2e/test_ruler_check.py)."""

from __future__ import annotations

import json
from pathlib import Path

from parity.examples import write_example
from tests.helpers.cli import invoke_parity


def test_a_copied_gold_alt_a_duplicate_case_and_a_corpus_copy_are_reported(tmp_path: Path) -> None:
    ws = write_example("discovery", tmp_path / "ws")
    cases = [json.loads(line) for line in (ws / "ruler" / "cases.jsonl").read_text().splitlines()]
    cases[0]["gold_alt"] = {**cases[0]["gold"], "title": "Another title"}  # the questions copied
    cases[1]["input"] = cases[2]["input"] + "!"
    (ws / "ruler" / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    corpus = (ws / "corpus" / "train.jsonl").read_text().splitlines()[:5]  # a short corpus: seconds of MiniLM, not a minute
    corpus.append(json.dumps({"id": "copy", "input": cases[3]["input"], "answer": cases[3]["gold"]}))
    (ws / "corpus" / "train.jsonl").write_text("\n".join(corpus) + "\n")
    result = invoke_parity("ruler", "check", cwd=ws)
    assert result.returncode == 0, result.stderr
    assert cases[0]["id"] in result.stdout and "7/7" in result.stdout
    assert f"near-duplicate cases: {cases[1]['id']} and {cases[2]['id']}" in result.stdout
    assert f"corpus entry copy repeats ruler case {cases[3]['id']}" in result.stdout

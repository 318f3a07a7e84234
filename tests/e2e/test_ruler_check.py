"""`parity ruler check` on the bundled rulers: every gold_alt was written without seeing its gold, no two
cases are near-duplicates and no corpus input repeats a ruler input (MiniLM over every corpus: a minute)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.examples import write_example
from tests.helpers.cli import invoke_parity


@pytest.mark.parametrize("example", ["discovery", "persona", "triage"])
def test_the_bundled_rulers_have_independent_gold_alt(tmp_path: Path, example: str) -> None:
    ws = write_example(example, tmp_path / "ws")
    result = invoke_parity("ruler", "check", "--json", cwd=ws)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["totals"]["copied_cases"] == 0
    assert report["duplicate_cases"] == [] and report["corpus_overlap"] == []

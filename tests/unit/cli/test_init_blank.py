"""`parity init DIR --task …`: a blank workspace that loads, refuses to lock while its ruler is empty,
and locks once a case is added; bad --task values are one-line errors that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import invoke_parity


def test_a_blank_workspace_loads_refuses_an_empty_ruler_then_locks(tmp_path: Path) -> None:
    made = invoke_parity("init", "feature", "--task", 'route "support" emails \\ fast', cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    ws = tmp_path / "feature"
    assert {p.relative_to(ws).as_posix() for p in ws.rglob("*") if p.is_file()} == {
        "parity.toml", "task/schema.json", "ruler/cases.jsonl", "ruler/README.md", "corpus/README.md", "agents/baseline.yaml",
    }  # fmt: skip
    refused = invoke_parity("ruler", "lock", cwd=ws)
    assert refused.returncode == 2 and "the ruler has no cases" in refused.stderr
    assert not (ws / "ruler" / "LOCK").exists()
    case = {"id": "c1", "category": "x", "difficulty": "easy", "input": "hello", "gold": {"answer": "Hi there."}}
    (ws / "ruler" / "cases.jsonl").write_text(json.dumps(case) + "\n")
    locked = invoke_parity("ruler", "lock", cwd=ws)
    assert locked.returncode == 0, locked.stderr
    assert 'route \\"support\\" emails \\\\ fast' in (ws / "parity.toml").read_text()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--task", "   "], "--task is empty"),
        (["--task", "x", "--example", "triage"], "two different starts"),
        (["--task", "bad \udcff byte"], "characters a TOML file cannot"),
    ],
)
def test_bad_starts_are_one_line_errors_that_write_nothing(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = invoke_parity("init", "feature", *args, cwd=tmp_path)
    assert result.returncode == 2 and fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []

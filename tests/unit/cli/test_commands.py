"""Commands that run no model, in-process: init, ruler verify and lock, show on an empty store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.examples import EXAMPLES
from tests.helpers.cli import invoke_parity


@pytest.mark.parametrize("example", EXAMPLES)
def test_init_writes_a_workspace_whose_ruler_verifies(tmp_path: Path, example: str) -> None:
    made = invoke_parity("init", "--example", example, "ws", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0] == f"Wrote the {example} workspace to {tmp_path / 'ws'}"
    assert {"parity.toml", "ruler", "agents"} <= {p.name for p in (tmp_path / "ws").iterdir()}
    verified = invoke_parity("ruler", "verify", cwd=tmp_path / "ws")
    lock = json.loads((tmp_path / "ws" / "ruler" / "LOCK").read_text())
    assert verified.returncode == 0 and verified.stdout.startswith("ruler OK: ")
    assert verified.stdout.rstrip().endswith(f"fingerprint {lock['fingerprint']}")


def test_init_of_an_unknown_example_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result = invoke_parity("init", "--example", "nope", "ws", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: unknown example 'nope' — use one of: {', '.join(EXAMPLES)}\n"
    assert list(tmp_path.iterdir()) == []


def test_lock_of_an_unchanged_ruler_keeps_its_fingerprint(ws_dir: Path) -> None:
    before = json.loads((ws_dir / "ruler" / "LOCK").read_text())["fingerprint"]
    locked = invoke_parity("ruler", "lock", cwd=ws_dir)
    assert locked.returncode == 0 and locked.stdout.strip() == f"locked: {before}"


def test_show_on_a_fresh_workspace_lists_no_experiments(ws_dir: Path) -> None:
    shown = invoke_parity("show", "--json", cwd=ws_dir)
    assert shown.returncode == 0 and json.loads(shown.stdout) == []
    missing = invoke_parity("show", "7", cwd=ws_dir)
    assert missing.returncode == 2
    assert missing.stderr == f"error: sqlite:///{ws_dir / '.parity' / 'parity.db'}: no experiment #7 — list them with: parity show\n"

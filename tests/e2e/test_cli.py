"""`parity init`, `run`, `show` end to end with the bundled model, reference judge and real SQLite."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import run_parity

pytestmark = pytest.mark.slow

SHOW_KEYS = {"id", "agent", "gate", "quality", "ci_low", "ci_high", "ceiling", "dimensions", "wtl", "n_cases", "n_unscored", "verdict"}


def test_init_run_show(tmp_path: Path) -> None:
    ws = tmp_path / "discovery"
    assert run_parity("init", "--example", "discovery", str(ws), cwd=tmp_path).returncode == 0
    assert run_parity("ruler", "verify", cwd=ws).returncode == 0

    first = run_parity("run", "baseline", "--gate", "dev", "--hypothesis", "stock baseline", cwd=ws)
    assert first.returncode == 0, first.stderr
    assert "quality" in first.stdout and "ceiling" in first.stdout and "parity" in first.stdout

    listed = json.loads(run_parity("show", "--json", cwd=ws).stdout)
    assert len(listed) == 1 and set(listed[0]) >= SHOW_KEYS
    one = json.loads(run_parity("show", "1", "--json", cwd=ws).stdout)
    assert one == listed[0]
    assert one["n_cases"] == 10 and one["n_unscored"] == 0 and one["verdict"] == "kept"
    assert 0 <= one["ci_low"] <= one["quality"] <= one["ci_high"] <= 1
    assert 0 < one["ceiling"] <= 1
    assert set(one["dimensions"]) == {"atomicity", "specificity", "coverage", "naturalness", "non_redundancy"}
    assert sum(one["wtl"].values()) == 10

    # Every case is in the store with its answer, judgment and the ruler fingerprint.
    db = sqlite3.connect(ws / ".parity" / "parity.db")
    rows = db.execute("SELECT case_id, answer, judgment_status, ruler_fingerprint FROM case_results WHERE experiment_id = 1").fetchall()
    assert len(rows) == 10 and all(r[3] == one["ruler_fingerprint"] for r in rows)
    assert all(len(json.loads(r[1])["questions"]) == 7 for r in rows if r[1])

    # The identical experiment again: answered from the cache, same quality, and not kept over itself.
    again = run_parity("run", "baseline", "--gate", "dev", cwd=ws)
    assert again.returncode == 0, again.stderr
    second = json.loads(run_parity("show", "2", "--json", cwd=ws).stdout)
    assert second["quality"] == one["quality"] and second["verdict"] == "discarded"
    cached = db.execute("SELECT COUNT(*) FROM case_results WHERE experiment_id = 2 AND cached = 1").fetchone()[0]
    assert cached == 10

    table = run_parity("show", cwd=ws)
    assert table.returncode == 0 and "baseline" in table.stdout

    # The same answers against themselves: no difference, and a CI that contains 0.
    same = json.loads(run_parity("compare", "1", "2", "--json", cwd=ws).stdout)
    assert same["n_paired"] == 10 and same["diff"] == 0 and same["ci_low"] <= 0 <= same["ci_high"] and same["p_value"] == 1
    # The reference judge is deterministic: re-judging gives zero spread, and the figure is kept.
    noise = run_parity("analyze", "noise", "1", "--times", "3", cwd=ws)
    assert noise.returncode == 0 and "SD of quality" in noise.stdout and "0.0000" in noise.stdout
    assert "judge noise" in run_parity("show", "1", cwd=ws).stdout


def test_unknown_experiment_id(tmp_path: Path) -> None:
    ws = tmp_path / "discovery"
    run_parity("init", str(ws), cwd=tmp_path)
    result = run_parity("show", "42", cwd=ws)
    assert result.returncode == 2 and "no experiment #42" in result.stderr


def test_run_on_postgres_unchanged(tmp_path: Path, pg_url: str) -> None:
    ws = tmp_path / "discovery"
    run_parity("init", str(ws), cwd=tmp_path)
    result = run_parity("run", "baseline", "--gate", "dev", cwd=ws, env={"PARITY_DB": pg_url})
    assert result.returncode == 0, result.stderr
    assert not (ws / ".parity" / "parity.db").exists()
    shown = json.loads(run_parity("show", "--json", cwd=ws, env={"PARITY_DB": pg_url}).stdout)
    assert len(shown) == 1 and shown[0]["n_cases"] == 10 and shown[0]["quality"] is not None

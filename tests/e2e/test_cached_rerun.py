"""A fully cached re-run of a gate pays only for what runs: every completion and every embedding comes
from the workspace's cache, so the process imports no torch, no sentence-transformers and no llama.cpp,
and reports the same figures as the run that filled the cache. (Its time is in benchmarks/bench_cached_rerun.py.)"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import run_parity, show_json

pytestmark = pytest.mark.slow

MODEL_LIBRARIES = ("torch", "transformers", "sentence_transformers", "sklearn", "llama_cpp")

# `python -m parity ...` as a user runs it, writing the names of the modules it imported when it exits.
RECORDING = """
import atexit, json, os, runpy, sys
atexit.register(lambda: open(os.environ["MODULES_OUT"], "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["parity", *sys.argv[1:]]
runpy.run_module("parity", run_name="__main__", alter_sys=True)
"""


def _run_recording_modules(ws: Path, out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "COLUMNS": "200", "MODULES_OUT": str(out)}
    done = subprocess.run([sys.executable, "-c", RECORDING, *args], cwd=ws, env=env, capture_output=True, text=True, timeout=900)
    return done, set(json.loads(out.read_text()))


def test_a_cached_rerun_loads_no_model_and_reports_the_same(tmp_path: Path) -> None:
    ws = tmp_path / "discovery"
    assert run_parity("init", "--example", "discovery", str(ws), cwd=tmp_path).returncode == 0

    cold, cold_modules = _run_recording_modules(ws, tmp_path / "cold.json", "run", "baseline", "--gate", "dev")
    assert cold.returncode == 0, cold.stderr
    assert {"torch", "sentence_transformers", "llama_cpp"} <= cold_modules  # the recording sees what a run loads

    again, modules = _run_recording_modules(ws, tmp_path / "again.json", "run", "baseline", "--gate", "dev")
    assert again.returncode == 0, again.stderr
    loaded = sorted(m for m in modules if m.split(".")[0] in MODEL_LIBRARIES)
    assert loaded == []
    assert any((ws / ".parity" / "cache" / "embeddings").rglob("*.npy"))

    first, second = show_json(ws, 1), show_json(ws, 2)
    for key in ("quality", "ci_low", "ci_high", "ceiling", "dimensions", "wtl", "n_unscored"):
        assert second[key] == first[key], key
    db = sqlite3.connect(ws / ".parity" / "parity.db")
    columns = "case_id, judgment_status, scores, overall, verdict, notes, quality"
    judged = [db.execute(f"SELECT {columns} FROM case_results WHERE experiment_id = ? ORDER BY case_id", (e,)).fetchall() for e in (1, 2)]
    assert len(judged[0]) == 10 and judged[0] == judged[1]  # every case to the same scores, and the same notes on its features
    cached = db.execute("SELECT COUNT(*) FROM case_results WHERE experiment_id = 2 AND cached = 1").fetchone()[0]
    assert cached == 10

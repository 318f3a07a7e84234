"""The LLM judge end to end, served by a real llama.cpp server on 127.0.0.1 (SmolLM2 is a weak judge:
this tests the machinery, not taste; a small max_tokens keeps its rambling judgments short), then re-judged for noise and calibrated against the reference."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import run_parity, show_json
from tests.helpers.servers import LlamaServer

pytestmark = pytest.mark.slow


def test_llm_judge_run_rejudge_calibrate(ws_dir: Path, tmp_path: Path) -> None:
    with LlamaServer(tmp_path) as server:
        config = ws_dir / "parity.toml"
        text = config.read_text()
        text = text.replace(
            'kind = "reference"', f'kind = "llm"\nmodel = "openai:smollm2@{server.base_url}"\ntemperature = 0.7\nmax_tokens = 200'
        )
        text = text.replace('full = "all"', 'full = "all"\ntiny = ["travel-easy"]')
        config.write_text(text)
        refused = run_parity("run", "baseline", "--gate", "tiny", cwd=ws_dir)
        assert refused.returncode == 2 and "(judge, gates differ" in refused.stderr  # a new judge is a new ruler
        assert run_parity("ruler", "lock", cwd=ws_dir).returncode == 0

        result = run_parity("run", "baseline", "--gate", "tiny", "--hypothesis", "LLM judge", cwd=ws_dir)
        assert result.returncode == 0, result.stderr
        shown = show_json(ws_dir, 1)
        assert shown["n_cases"] == 1 and shown["status"] == "done"
        assert shown["n_unscored"] + sum(shown["wtl"].values()) == 1
        assert "position consistency" in result.stdout or shown["n_unscored"] == 1
        db = sqlite3.connect(ws_dir / ".parity" / "parity.db")
        for status, calls, reason, judge in db.execute("SELECT judgment_status, judge_calls, reason, judge FROM case_results"):
            calls = json.loads(calls)
            assert judge == f"openai:smollm2@{server.base_url}"
            assert len(calls) >= 1 and all(c["messages"] and "raw" in c and c["prompt_tokens"] > 0 for c in calls)
            assert status == "scored" or reason.split(":")[0] in {"parse", "truncated", "refused", "error"}

        noise = run_parity("analyze", "noise", "1", "--times", "2", "--json", cwd=ws_dir)
        assert noise.returncode == 0, noise.stderr
        report = json.loads(noise.stdout)
        assert len(report["qualities"]) == 2 and report["times"] == 2
        assert "judge noise" in run_parity("show", "1", cwd=ws_dir).stdout

        calibration = run_parity(
            "calibrate", "--judge", "reference", "--against", f"openai:smollm2@{server.base_url}", "--json", cwd=ws_dir
        )
        assert calibration.returncode == 0, calibration.stderr
        figures = json.loads(calibration.stdout)
        assert figures["n_answers"] == 1 and set(figures["spearman"]) == {
            "atomicity",
            "specificity",
            "coverage",
            "naturalness",
            "non_redundancy",
        }
        assert figures["pairwise_agreement"] is None or 0 <= figures["pairwise_agreement"] <= 1

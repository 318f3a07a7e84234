"""A workspace whose fitted judge is broken refuses to judge, in one line, through the real command."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import run_parity


def test_a_workspace_with_a_broken_fit_refuses_to_judge_in_one_line(ws_dir: Path) -> None:
    (ws_dir / "calibration").mkdir(exist_ok=True)
    (ws_dir / "calibration" / "judge-fit.json").write_text('{"version": "reference-2", "features": [')
    done = run_parity("calibrate", "--labels", "calibration/labels.jsonl", cwd=ws_dir)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "judge-fit.json" in done.stderr

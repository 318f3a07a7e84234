"""`parity analyze …` on a store of real experiments from the bundled model and the reference judge."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from parity.examples import write_example
from parity.models.spec import embedded_model_path
from parity.store import Store
from parity.task import load_workspace
from tests.helpers.cli import run_parity, show_json
from tests.helpers.workspace import SMALL_GATE, add_gates


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws_dir = add_gates(write_example("discovery", tmp_path_factory.mktemp("analyze") / "ws"), small=SMALL_GATE)
    for agent in ("baseline", "overgen_prune"):
        result = run_parity("run", agent, "--gate", "small", "--hypothesis", f"{agent} for the analyses", cwd=ws_dir)
        assert result.returncode == 0, result.stderr
    return ws_dir


def _latest(ws_dir: Path):
    return Store.for_workspace(load_workspace(ws_dir)).analyses()[-1]


def _check_plot(ws_dir: Path, analysis) -> None:
    png = ws_dir / ".parity" / "analyses" / f"{analysis.id}-{analysis.kind}.png"
    svg = ws_dir / ".parity" / "analyses" / f"{analysis.id}-{analysis.kind}.svg"
    with Image.open(png) as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] > 300
    assert ET.fromstring(svg.read_text()).tag.endswith("svg")
    assert png.read_bytes() == analysis.png


@pytest.mark.slow
def test_every_analysis_on_real_experiments(analysed: Path) -> None:
    experiments = show_json(analysed)
    by_agent = {e["agent"]: e for e in experiments}

    blind = run_parity("analyze", "blind", "1", "2", "--dimension", "coverage", cwd=analysed)
    assert blind.returncode == 0, blind.stderr
    row = _latest(analysed)
    assert row.kind == "blind" and [r[8] for r in row.rows] == ["yes", "yes"]  # the full-rubric control reproduces the log
    assert [r[2] for r in row.rows] == [by_agent["baseline"]["quality"], by_agent["overgen_prune"]["quality"]]
    _check_plot(analysed, row)

    result = run_parity("analyze", "factors", cwd=analysed)
    assert result.returncode == 0, result.stderr
    row = _latest(analysed)
    assert row.kind == "factors" and 0 < row.params["variance_explained"] <= 1 and row.params["judgments"] >= 6
    _check_plot(analysed, row)

    result = run_parity("analyze", "noise", "1", "--times", "3", cwd=analysed)
    assert result.returncode == 0, result.stderr
    row = _latest(analysed)
    assert row.kind == "noise" and row.params["quality_sd"] == 0.0  # the reference judge is deterministic
    _check_plot(analysed, row)

    same_model = f"llamacpp:{embedded_model_path('smollm2-135m')}"
    result = run_parity("analyze", "ceiling", "--candidate", same_model, "--gate", "small", cwd=analysed)
    assert result.returncode == 0, result.stderr
    row = _latest(analysed)
    candidate = show_json(analysed)[-1]
    assert candidate["verdict"] == "reference" and row.rows[-1][1] == candidate["id"]
    # the identical harness with the identical weights reproduces the baseline exactly
    assert candidate["quality"] == by_agent["baseline"]["quality"]
    assert row.rows[0][0].startswith("best agent")
    _check_plot(analysed, row)

    result = run_parity("analyze", "probe", "1", "2", cwd=analysed)
    assert result.returncode == 0, result.stderr
    row = _latest(analysed)
    assert row.kind == "probe" and all(0.0 <= r[2] <= 1.0 for r in row.rows) and row.params["folds"] >= 2
    _check_plot(analysed, row)

    result = run_parity("analyze", "critic", "--dimension", "specificity", cwd=analysed)
    assert result.returncode == 0, result.stderr
    row = _latest(analysed)
    assert row.kind == "critic" and [r[0].split()[0] for r in row.rows] == ["seen", "unseen"]
    _check_plot(analysed, row)

    site = analysed / "site"
    exported = run_parity("export", "html", str(site), cwd=analysed)
    assert exported.returncode == 0, exported.stderr
    page = (site / "analyses.html").read_text()
    assert all(f' {kind} <span class="muted">' in page for kind in ("blind", "factors", "noise", "ceiling", "probe", "critic"))
    record = run_parity("report", cwd=analysed)
    assert "## Analyses" in record.stdout and "### #1 blind" in record.stdout

    missing = run_parity("analyze", "blind", "99", cwd=analysed)
    assert missing.returncode == 2 and "no experiment #99" in missing.stderr

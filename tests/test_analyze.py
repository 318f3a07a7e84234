"""`parity analyze …` on a store of real experiments from the bundled model and the reference judge."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from conftest import SMALL_GATE, add_gates, run_parity, show_json
from parity.analysis.blind import blinded_rubric
from parity.analysis.factors import factors
from parity.analysis.probe import STYLE_FEATURES, style_features
from parity.errors import ParityError
from parity.examples import write_example
from parity.models.spec import embedded_model_path
from parity.ruler import load_ruler
from parity.store import Store
from parity.task import load_workspace


def test_style_features_read_the_answer_not_its_topic() -> None:
    plain = style_features("Paris trip", ["What dates suit you?", "How many people, and of what ages?"])
    assert len(plain) == len(STYLE_FEATURES)
    assert plain[0] == 2 and plain[1] == pytest.approx(5.5)  # title words; words per question
    assert plain[4] == pytest.approx(0.5)  # one comma over two questions
    assert plain[5] == pytest.approx(0.5) and plain[6] == pytest.approx(1.0)  # "you" once; both open with a wh-word
    assert style_features("Rome trip", ["What dates suit you?", "How many people, and of what ages?"])[1:] == plain[1:]


def test_blinding_and_factors_refuse_what_they_cannot_measure(tmp_path: Path) -> None:
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    rubric = blinded_rubric(ws, "coverage")
    assert "coverage" not in rubric.dimensions and len(rubric.dimensions) == len(ws.config.rubric.dimensions) - 1
    with pytest.raises(ParityError, match="no dimension 'tone'"):
        blinded_rubric(ws, "tone")
    with pytest.raises(ParityError, match="0 scored judgments"):
        factors(ws, load_ruler(ws), Store(f"sqlite:///{tmp_path / 'empty.db'}"))


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
    exported = run_parity("export", "--html", str(site), cwd=analysed)
    assert exported.returncode == 0, exported.stderr
    page = (site / "analyses.html").read_text()
    assert all(f' {kind} <span class="muted">' in page for kind in ("blind", "factors", "noise", "ceiling", "probe", "critic"))
    record = run_parity("report", cwd=analysed)
    assert "## Analyses" in record.stdout and "### #1 blind" in record.stdout

    missing = run_parity("analyze", "blind", "99", cwd=analysed)
    assert missing.returncode == 2 and "no experiment #99" in missing.stderr

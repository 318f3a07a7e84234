"""Commands that run experiments, in-process with a scripted model and judge (no llama.cpp, no
embedder): `run --confirm` screening then deciding, `show`, `compare`, `analyze noise` and `export html`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from parity.task import load_workspace
from tests.helpers.cli import invoke_parity
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, by_word, strong_when_hot, use_model


@pytest.fixture
def scripted(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The discovery workspace whose agents talk to a scripted model and whose judge scores by word:
    `baseline` (greedy) answers weakly, `hot` (sampling) strongly."""
    use_model(monkeypatch, ScriptedModel(strong_when_hot))
    rubric = load_workspace(ws_dir).config.rubric
    monkeypatch.setattr("parity.judge.make_judge", lambda ws, **_: ScriptedJudge(rubric, by_word))
    config = yaml.safe_load((ws_dir / "agents" / "baseline.yaml").read_text())
    config["decoding"]["temperature"] = 0.7
    (ws_dir / "agents" / "hot.yaml").write_text(yaml.safe_dump(config))
    return ws_dir


def _run(ws_dir: Path, *args: str):
    result = invoke_parity("run", *args, cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    return result


def _shown(ws_dir: Path) -> list[dict]:
    listed = invoke_parity("show", "--json", cwd=ws_dir)
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def test_confirm_runs_the_full_gate_only_when_the_screen_beats_the_running_best(scripted: Path) -> None:
    first = _run(scripted, "baseline", "--confirm", "--hypothesis", "greedy")
    assert "screen: dev quality" in first.stdout and "is the first on dev; confirming on the full gate" in first.stdout
    assert [(e["gate"], e["screened_by"]) for e in _shown(scripted)] == [("dev", None), ("full", 1)]

    again = _run(scripted, "baseline", "--confirm")  # the same answers: no better than the running best's own screen
    assert "does not beat the running best's" in again.stdout and "the full gate is not run" in again.stdout
    assert [e["gate"] for e in _shown(scripted)] == ["dev", "full", "dev"]

    better = _run(scripted, "hot", "--confirm", "--hypothesis", "sampling")
    assert "beats the running best's" in better.stdout and "confirming on the full gate" in better.stdout
    experiments = _shown(scripted)
    assert [(e["gate"], e["screened_by"]) for e in experiments] == [("dev", None), ("full", 1), ("dev", None), ("dev", None), ("full", 4)]
    assert experiments[-1]["verdict"] == "kept"


def test_show_and_compare_print_the_summary_tables(scripted: Path) -> None:
    _run(scripted, "baseline", "--hypothesis", "greedy")
    _run(scripted, "hot", "--hypothesis", "sampling")

    one = invoke_parity("show", "2", cwd=scripted, env={"COLUMNS": "300"})
    assert one.returncode == 0, one.stderr
    for row in ("quality", "ceiling", "parity", "vs gold W/T/L", "cases", "verdict", "hypothesis", "ruler"):
        assert f"│ {row} " in one.stdout, row
    assert "experiment #2: hot on dev" in one.stdout and "sampling" in one.stdout

    listed = invoke_parity("show", cwd=scripted, env={"COLUMNS": "300"})
    assert listed.returncode == 0 and "greedy" in listed.stdout and "sampling" in listed.stdout

    paired = invoke_parity("compare", "2", "1", cwd=scripted, env={"COLUMNS": "300"})
    figures = json.loads(invoke_parity("compare", "2", "1", "--json", cwd=scripted).stdout)
    assert paired.returncode == 0 and figures["diff"] > 0
    assert f"#2 vs #1 over {figures['n_paired']} paired cases" in paired.stdout
    assert f"{figures['diff']:+.3f}" in paired.stdout and f"{figures['quality_a']:.3f} / {figures['quality_b']:.3f}" in paired.stdout


def test_analyze_noise_prints_the_spread_and_keeps_it_and_the_analysis(scripted: Path) -> None:
    _run(scripted, "baseline")
    table = invoke_parity("analyze", "noise", "1", "--times", "3", cwd=scripted, env={"COLUMNS": "300"})
    assert table.returncode == 0, table.stderr
    assert "judge noise on experiment #1: 3 re-judgments" in table.stdout and "SD of quality" in table.stdout
    assert "analysis #1: noise" in table.stdout and "plot: .parity/analyses/" in table.stdout

    figures = json.loads(invoke_parity("analyze", "noise", "1", "--times", "2", "--json", cwd=scripted).stdout)
    assert figures["times"] == 2 and len(figures["qualities"]) == 2 and figures["quality_sd"] == 0.0  # a deterministic judge
    assert figures["analysis_id"] == 2 and len(figures["findings"]) == 2
    assert "judge noise" in invoke_parity("show", "1", cwd=scripted).stdout  # the experiment keeps the estimate


def test_export_html_writes_every_page(scripted: Path, tmp_path: Path) -> None:
    _run(scripted, "baseline", "--hypothesis", "greedy")
    _run(scripted, "hot", "--hypothesis", "sampling")
    site = tmp_path / "site"
    written = invoke_parity("export", "html", str(site), cwd=scripted)
    assert written.returncode == 0, written.stderr
    pages = {p.name for p in site.iterdir()}
    assert {"index.html", "training.html", "analyses.html", "experiment-1.html", "experiment-2.html", "compare-2-1.html"} <= pages
    assert f"wrote {len([p for p in pages if p.endswith('.html')])} pages to {site}; open {site / 'index.html'}" in written.stdout
    compared = json.loads(invoke_parity("compare", "2", "1", "--json", cwd=scripted).stdout)
    assert f"{compared['diff']:+.3f}" in (site / "compare-2-1.html").read_text()  # numbers formatted as the CLI formats them


def test_analyze_noise_on_an_experiment_with_no_quality_is_one_line(scripted: Path) -> None:
    from parity.store import Store
    from tests.helpers.store import finished_experiment

    _run(scripted, "baseline")
    store = Store.for_workspace(load_workspace(scripted))
    first = store.require_experiment(1)
    unscored = finished_experiment(
        store, ruler_fingerprint=first.ruler_fingerprint, gate=first.gate, status="crashed", quality=None, ci_low=None, ci_high=None
    )
    result = invoke_parity("analyze", "noise", str(unscored), "--times", "2", cwd=scripted)
    assert result.returncode == 2 and f"experiment #{unscored} has no quality to re-measure" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1

"""Frontier labels through the real command: `parity calibrate`, fitting a judge, and the agreement every
summary reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity import examples
from tests.helpers.cli import run_parity
from tests.helpers.labels import label_row, label_set, write_labels


def test_calibrate_labels_command_prints_agreement_and_json(ws_dir: Path, tmp_path: Path) -> None:
    path = write_labels(tmp_path / "labels.jsonl", label_set(tmp_path))
    shown = run_parity("calibrate", "--labels", str(path), "--split", "all", "--json", cwd=ws_dir)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["n_items"] == 12 and data["split"] == "all" and len(data["sources"]) == 3
    assert data["inter_judge"]["n_double_judged"] == 4
    table = run_parity("calibrate", "--labels", str(path), "--split", "heldout", cwd=ws_dir)
    assert table.returncode == 0 and "labels vs labels" in table.stdout and "agent:strong" in table.stdout
    bad = run_parity("calibrate", "--labels", str(path), "--split", "nope", cwd=ws_dir)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "use heldout, fit, all or ruler" in bad.stderr


def _paris_rows() -> list[dict]:
    """Labels that punish repeats and questions about the task itself, over the bundled ruler's tasks."""
    cases = [json.loads(line) for line in (Path(examples.__file__).parent / "discovery/ruler/cases.jsonl").read_text().splitlines()]
    rows = []
    for n, case in enumerate(cases):
        gold = case["gold"]["questions"]
        variants = {
            "gold_alt": (case["gold_alt"]["questions"], [5, 5, 5, 5, 5], "tie"),
            "agent:repeats": ([gold[0]] * 7, [5, 3, 1, 4, 1], "loss"),
            "agent:meta": (["What is the task?"] * 4 + gold[:3], [4, 2, 2, 2, 2], "loss"),
            "agent:half": (gold[:4] + [gold[0], gold[1], gold[2]], [5, 4, 3, 4, 2], "loss"),
        }
        for source, (questions, scores, verdict) in variants.items():
            row = label_row(f"{source}-{n}", case["id"], source, scores, verdict, split="fit" if n % 3 else "heldout")
            rows.append(
                dict(
                    row, input=case["input"], gold=case["gold"], gold_alt=case["gold_alt"], candidate={"title": "t", "questions": questions}
                )
            )
    return rows


def test_fit_writes_a_judge_that_orders_unseen_tasks_like_its_labels(ws_dir: Path, tmp_path: Path) -> None:
    labels = write_labels(tmp_path / "labels.jsonl", _paris_rows())
    fitted = run_parity("calibrate", "--labels", str(labels), "--fit", str(ws_dir / "calibration" / "fit-test.json"), cwd=ws_dir)
    assert fitted.returncode == 0, fitted.stderr
    params = json.loads((ws_dir / "calibration" / "fit-test.json").read_text())
    assert params["version"] == "reference-2" and params["fit"]["n_tasks"] == 20 and params["agreement"]["n_tasks"] == 10
    assert params["agreement"]["quality_spearman"] > 0.8 and params["agreement"]["system_pairs_same_order"] == 1.0
    text = (ws_dir / "parity.toml").read_text().replace('fitted = "calibration/judge-fit.json"', 'fitted = "calibration/fit-test.json"', 1)
    assert 'fitted = "calibration/fit-test.json"' in text
    (ws_dir / "parity.toml").write_text(text)
    refused = run_parity("ruler", "verify", cwd=ws_dir)
    assert refused.returncode == 2 and "judge" in refused.stderr  # a fitted judge is a new ruler
    assert run_parity("ruler", "lock", cwd=ws_dir).returncode == 0
    v1 = run_parity("calibrate", "--labels", str(labels), "--judge", "reference-v1", "--json", cwd=ws_dir)
    v2 = run_parity("calibrate", "--labels", str(labels), "--json", cwd=ws_dir)
    assert v1.returncode == 0 and v2.returncode == 0, v1.stderr + v2.stderr
    assert json.loads(v2.stdout)["quality_spearman"] == pytest.approx(params["agreement"]["quality_spearman"])
    assert json.loads(v1.stdout)["quality_spearman"] != json.loads(v2.stdout)["quality_spearman"]


NEAREST = '''
def answer(input, ctx):
    """The teacher answer of the nearest corpus case: retrieval only, no model call."""
    return ctx.retrieve(input, k=1)[0].answer
'''


@pytest.mark.sandbox
def test_every_summary_says_how_far_its_judge_was_measured_to_agree(ws_dir: Path, tmp_path: Path) -> None:
    """The bundled discovery judge (v2) carries its held-out agreement into the summary, show --json, the
    keep decision and the report; a workspace on v1 says its judge is uncalibrated."""
    from tests.helpers.cli import show_json
    from tests.helpers.workspace import add_gates

    add_gates(ws_dir, tiny=["travel-easy", "career-medium"])
    (ws_dir / "agents" / "nearest.py").write_text(NEAREST)
    ran = run_parity("run", "nearest", "--gate", "tiny", cwd=ws_dir)
    assert ran.returncode == 0, ran.stderr
    assert "reference judge v2 vs frontier labels on" in " ".join(ran.stdout.split())
    shown = show_json(ws_dir, 1)
    assert shown["judge_agreement"]["calibrated"] is True and shown["judge_agreement"]["judge"] == "reference-v2"
    assert "[judge: reference judge v2 vs frontier labels" in shown["decision"]
    report = run_parity("report", cwd=ws_dir)
    assert report.returncode == 0 and "Judge: reference judge v2 vs frontier labels" in report.stdout

    config = ws_dir / "parity.toml"
    config.write_text("\n".join(line for line in config.read_text().splitlines() if not line.startswith("fitted =")) + "\n")
    assert run_parity("ruler", "lock", cwd=ws_dir).returncode == 0
    again = run_parity("run", "nearest", "--gate", "tiny", cwd=ws_dir)
    assert again.returncode == 0, again.stderr
    assert show_json(ws_dir, 2)["judge_agreement"] == {
        "judge": "reference-v1",
        "calibrated": False,
        "text": "reference judge v1, uncalibrated: no agreement with frontier labels is recorded for it on this workspace; a screening number only",
    }

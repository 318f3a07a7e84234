"""The frontier-labelled calibration sets shipped with the bundled workspaces (no model runs)."""

from __future__ import annotations

import hashlib
import json

import pytest

from parity.analysis.calibration import inter_judge_agreement
from parity.examples import write_example
from parity.labels import GOLD_ALT_SOURCE, Split, labels_path, load_labels
from parity.task import load_workspace

MINIMUM = {"discovery": 1500, "persona": 600}


@pytest.fixture(scope="module", params=["discovery", "persona"])
def bundled(request, tmp_path_factory):
    ws = load_workspace(write_example(request.param, tmp_path_factory.mktemp(request.param) / "ws"))
    if not labels_path(ws).is_file():
        pytest.skip(f"{request.param} ships no calibration set yet")
    return request.param, ws, load_labels(labels_path(ws), ws)


def test_the_set_parses_and_is_as_large_as_promised(bundled) -> None:
    name, _ws, labels = bundled
    assert len(labels.items) >= MINIMUM[name]
    sources = {i.source for i in labels.items}
    assert GOLD_ALT_SOURCE in sources and any(s.startswith("agent:") for s in sources) and any(s.startswith("degraded:") for s in sources)


def test_splits_are_by_task_and_every_judging_names_the_shipped_brief(bundled) -> None:
    _, ws, labels = bundled
    fit = {i.case.id for i in labels.where(Split.FIT)}
    heldout = {i.case.id for i in labels.where(Split.HELDOUT)}
    assert fit and len(heldout) >= 30 and not fit & heldout
    brief = hashlib.sha256((ws.root / "calibration" / "BRIEF.md").read_bytes()).hexdigest()
    rows = [json.loads(line) for line in labels_path(ws).read_text().splitlines()]
    assert {j["brief"] for r in rows for j in r["judgings"]} == {brief}
    assert all(j["judge"] for r in rows for j in r["judgings"])


def _agree_as_reported(ws, labels, provenance: str, share: float = 0.2) -> None:
    reported = json.loads((ws.root / "calibration" / provenance).read_text())
    assert reported["fingerprint"] == labels.fingerprint
    measured = inter_judge_agreement(ws, list(labels.items))
    assert (
        measured["n_double_judged"]
        == reported["inter_judge"]["n_double_judged"]
        >= share * len({(i.case.id, i.candidate) for i in labels.items})
    )
    for key in ("quality_spearman", "verdict_agreement", "cohen_kappa", "mean_abs_quality_diff"):
        assert measured[key] == pytest.approx(reported["inter_judge"][key])


def test_double_judged_items_agree_as_reported(bundled) -> None:
    _, ws, labels = bundled
    _agree_as_reported(ws, labels, "PROVENANCE.json")


def test_the_levers_wave_parses_is_all_double_judged_and_agrees_as_reported(tmp_path) -> None:
    """Frontier labels of the answers the README's training and loop rows report (ruler tasks only)."""
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    path = ws.root / "calibration" / "labels-levers.jsonl"
    labels = load_labels(path, ws, "calibration/labels-levers.jsonl")
    assert len(labels.items) >= 150 and all(len(i.judgings) >= 2 for i in labels.items)
    assert {i.split for i in labels.items} == {Split.FIT}  # the ruler's own tasks, which v2 was fit on
    assert "agent:baseline" in {i.source for i in labels.items}
    _agree_as_reported(ws, labels, "PROVENANCE-levers.json")


# the fresh set's second judgings came from two waves; 14 of its 81 items (17%) were judged twice
@pytest.mark.parametrize(("gate", "split", "at_least", "share"), [("ruler", Split.FIT, 90, 0.2), ("fresh", Split.HELDOUT, 80, 0.15)])
def test_the_climb_sets_parse_and_agree_as_reported(tmp_path, gate: str, split: Split, at_least: int, share: float) -> None:
    """Frontier labels of the climb's confirmation answers: the ruler's tasks (v2 was fit on them) and the
    30 fresh tasks nothing was fit or chosen on, each with the stock baseline, the SFT adapter and gold_alt."""
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    shown = f"calibration/labels-climb-{gate}.jsonl"
    labels = load_labels(ws.root / shown, ws, shown)
    assert len(labels.items) >= at_least and {i.split for i in labels.items} == {split}
    assert {"agent:baseline", GOLD_ALT_SOURCE} <= {i.source for i in labels.items}
    fresh_ids = {i.case.id.startswith("fresh-") for i in labels.items}
    assert fresh_ids == {gate == "fresh"}
    _agree_as_reported(ws, labels, f"PROVENANCE-climb-{gate}.json", share)


def test_no_held_out_task_is_a_ruler_or_corpus_input(bundled) -> None:
    _, ws, labels = bundled
    from parity.leak import normalize_question as normalize

    corpus = {normalize(json.loads(line)["input"]) for line in ws.corpus_path.read_text().splitlines() if line.strip()}
    ruler = {normalize(json.loads(line)["input"]) for line in ws.cases_path.read_text().splitlines() if line.strip()}
    heldout = {normalize(i.case.input) for i in labels.where(Split.HELDOUT)}
    assert not heldout & (corpus | ruler)


def test_the_serving_wave_parses_and_agrees_as_reported(tmp_path) -> None:
    """Frontier labels of five serving variants of the discovery SFT adapter (README's serving table)."""
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    labels = load_labels(ws.root / "calibration" / "labels-serving.jsonl", ws, "calibration/labels-serving.jsonl")
    sources = {i.source for i in labels.items}
    assert {"serving:adapter-on-base", "serving:merged-q4_k_m", "serving:merged-q5_k_m", "serving:lora-on-q4_1"} <= sources
    assert sum(len(i.judgings) >= 2 for i in labels.items) >= 30
    _agree_as_reported(ws, labels, "PROVENANCE-serving.json")


def test_the_persona_serving_wave_parses_and_agrees_as_reported(tmp_path) -> None:
    """Frontier labels of the persona ORPO adapter's two servers, each with its default sampler and with
    the in-process engine's repeat_penalty (docs/results.md, serving)."""
    ws = load_workspace(write_example("persona", tmp_path / "ws"))
    labels = load_labels(ws.root / "calibration" / "labels-serving.jsonl", ws, "calibration/labels-serving.jsonl")
    sources = {i.source for i in labels.items}
    assert {f"serving:served-{engine}-{sampler}" for engine in ("lora", "merged-q4_k_m") for sampler in ("default", "rp1.0")} == sources
    assert sum(len(i.judgings) >= 2 for i in labels.items) >= 25
    _agree_as_reported(ws, labels, "PROVENANCE-serving.json")


def test_the_climb_dpo_wave_is_all_double_judged_and_agrees_as_reported(tmp_path) -> None:
    """Frontier labels of the climb's screened-out DPO step: its dev answers beside the SFT adapter's
    and gold_alt on the same 10 ruler tasks, every item judged by two helpers."""
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    shown = "calibration/labels-climb-dpo.jsonl"
    labels = load_labels(ws.root / shown, ws, shown)
    assert len(labels.items) == 28 and all(len(i.judgings) >= 2 for i in labels.items)
    assert {i.split for i in labels.items} == {Split.FIT}
    assert {i.source for i in labels.items} == {"loop:dpo-on-sft", "loop:sft-e2", GOLD_ALT_SOURCE}
    _agree_as_reported(ws, labels, "PROVENANCE-climb-dpo.json", share=1.0)


@pytest.mark.parametrize(("gate", "split"), [("ruler", Split.FIT), ("fresh", Split.HELDOUT)])
@pytest.mark.parametrize(("wave", "step"), [("climb2", "agent:sft_large"), ("climb3", "agent:sft-full")])
def test_a_later_climb_wave_rejudges_the_first_waves_answers_beside_its_step(
    tmp_path, gate: str, split: Split, wave: str, step: str
) -> None:
    """A climb step judged in one wave with the stock baseline's and the first SFT adapter's answers
    re-judged (anchors: the very answers the first climb wave labelled), so old and new answers are
    scored on one scale: SFT on 655 corpus rows (climb2), full fine-tuning on them (climb3)."""
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    shown = f"calibration/labels-{wave}-{gate}.jsonl"
    labels = load_labels(ws.root / shown, ws, shown)
    assert {i.split for i in labels.items} == {split}
    assert {i.source for i in labels.items} == {step, "anchor:baseline", "anchor:sft-e2", GOLD_ALT_SOURCE}
    first = f"calibration/labels-climb-{gate}.jsonl"
    earlier = {(i.case.id, i.candidate) for i in load_labels(ws.root / first, ws, first).items if i.source != GOLD_ALT_SOURCE}
    anchors = [(i.case.id, i.candidate) for i in labels.items if i.source.startswith("anchor:")]
    assert len(anchors) >= 55 and set(anchors) <= earlier
    _agree_as_reported(ws, labels, f"PROVENANCE-{wave}-{gate}.json", share=0.15)

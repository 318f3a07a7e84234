"""Frontier-labelled calibration sets: loading, one-line errors, and agreement of a judge with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity.analysis.calibration import agree_with_labels
from parity.errors import ParityError
from parity.judge.base import Judgment
from parity.labels import Split, load_labels
from parity.task import Workspace
from tests.helpers.labels import label_set, write_labels


class EchoJudge:
    """A judge that agrees with the first label of every item exactly (it reads them from the rows)."""

    def __init__(self, rows: list[dict], noise: float = 0.0):
        self.by_candidate = {json.dumps(r["candidate"]): r["judgings"][0] for r in rows}

    def judge(self, case, answer, repeat: int = 0) -> Judgment:
        label = self.by_candidate[json.dumps(answer.to_dict())]
        scores = {d: float(s) for d, s in label["scores"].items()}
        weights = {"atomicity": 0.2, "specificity": 0.2, "coverage": 0.3, "naturalness": 0.15, "non_redundancy": 0.15}
        return Judgment(case.id, "scored", scores=scores, overall=sum(weights[d] * scores[d] for d in weights), verdict=label["verdict"])


def test_a_judge_that_reads_like_the_labels_agrees_perfectly(ws: Workspace, tmp_path: Path) -> None:
    rows = label_set(tmp_path)
    labels = load_labels(write_labels(tmp_path / "labels.jsonl", rows), ws)
    result = agree_with_labels(ws, EchoJudge(rows), labels, None)
    assert result.n_items == result.n_scored == 12
    assert result.n_model_answers == 8
    assert result.quality_spearman == pytest.approx(1.0)
    assert result.verdict_accuracy == 1.0 and result.cohen_kappa == pytest.approx(1.0)
    assert result.system_spearman == pytest.approx(1.0) and result.system_pairs_same_order == 1.0
    assert result.system_pairs_clear == 3 and result.system_pairs_clear_wrong == []
    assert result.max_ratio_error < 0.01  # only from the weak items' second judgings, which the echo ignores
    assert [s.source for s in result.sources] == ["gold_alt", "agent:strong", "agent:weak"]
    assert result.inter_judge["n_double_judged"] == 4


def test_splits_are_by_task_and_a_reversed_judge_is_reported(ws: Workspace, tmp_path: Path) -> None:
    rows = label_set(tmp_path)
    labels = load_labels(write_labels(tmp_path / "labels.jsonl", rows), ws)
    assert len(labels.where(Split.HELDOUT)) == 11 and len(labels.where(Split.FIT)) == 1
    flipped = [dict(r, judgings=[dict(r["judgings"][0], scores={d: 6 - s for d, s in r["judgings"][0]["scores"].items()})]) for r in rows]
    result = agree_with_labels(ws, EchoJudge(flipped), labels, None)
    assert result.quality_spearman is not None and result.quality_spearman < 0
    assert len(result.system_pairs_clear_wrong) >= 1


def test_the_rulers_detectors_fail_labelled_answers_as_they_fail_the_judges(ws: Workspace, tmp_path: Path) -> None:
    """A frontier judge run by parity would have the same answers failed: the comparison is on what
    the judges decide, and --no-detectors (the bare judge) still sees the raw labels."""
    from parity.judge.detectors import DetectingJudge
    from parity.task import DetectorSpec

    rows = label_set(tmp_path)
    labels = load_labels(write_labels(tmp_path / "labels.jsonl", rows), ws)
    detecting = DetectingJudge(EchoJudge(rows), {"strong_one": DetectorSpec(patterns=[r"^b0 question"])}, ws.config.rubric)
    result = agree_with_labels(ws, detecting, labels, None)
    bare = agree_with_labels(ws, EchoJudge(rows), labels, None)
    assert result.n_failed == 1 and bare.n_failed == 0
    strong, strong_bare = (next(s for s in r.sources if s.source == "agent:strong") for r in (result, bare))
    assert strong.judge_quality == pytest.approx(strong.label_quality)  # both sides failed b0
    assert strong.label_quality < strong_bare.label_quality
    assert result.quality_spearman == pytest.approx(1.0) and result.verdict_accuracy == 1.0


def test_inter_judge_agreement_is_measured_on_double_judged_items(ws: Workspace, tmp_path: Path) -> None:
    labels = load_labels(write_labels(tmp_path / "labels.jsonl", label_set(tmp_path)), ws)
    inter = agree_with_labels(ws, EchoJudge(label_set(tmp_path)), labels, None).inter_judge
    assert inter["verdict_agreement"] == 1.0
    assert inter["mean_abs_quality_diff"] > 0  # the second judging differs on two dimensions


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("source"), "source: Field required"),
        (lambda r: r.update(split="train"), "split: Input should be 'fit' or 'heldout'"),
        (lambda r: r["judgings"][0]["scores"].update(coverage=9), "outside the rubric's scale"),
        (lambda r: r["judgings"][0]["scores"].pop("coverage"), "the rubric has"),
        (lambda r: r["judgings"][0].update(verdict="candidate"), "verdict"),
        (lambda r: r["candidate"]["questions"].pop(), "candidate has 6 questions"),
        (lambda r: r.update(judgings=[]), "judgings"),
        (lambda r: r.update(extra=1), "extra: Extra inputs are not permitted"),
    ],
)
def test_bad_rows_are_one_line_errors_at_file_line(ws: Workspace, tmp_path: Path, mutate, message: str) -> None:
    rows = label_set(tmp_path)
    mutate(rows[2])
    with pytest.raises(ParityError) as err:
        load_labels(write_labels(tmp_path / "labels.jsonl", rows), ws)
    assert "labels.jsonl:3" in err.value.line() and message in err.value.line()
    assert "\n" not in err.value.line()


def test_duplicate_items_and_empty_sets_are_refused(ws: Workspace, tmp_path: Path) -> None:
    rows = label_set(tmp_path)
    rows[5]["item"] = rows[0]["item"]
    with pytest.raises(ParityError, match=r"duplicate item 'a0' \(first at .*labels\.jsonl:1\)"):
        load_labels(write_labels(tmp_path / "labels.jsonl", rows), ws)
    with pytest.raises(ParityError, match="empty"):
        load_labels(write_labels(tmp_path / "empty.jsonl", []), ws)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    line=st.one_of(
        st.text(max_size=200),
        st.builds(
            json.dumps,
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                max_leaves=12,
            ),
        ),
    )
)
def test_any_line_loads_or_is_a_one_line_error(tmp_path_factory, line: str) -> None:
    from parity.examples import write_example
    from parity.task import load_workspace

    folder = tmp_path_factory.mktemp("h")
    ws = load_workspace(write_example("discovery", folder / "ws"))
    path = folder / "labels.jsonl"
    path.write_bytes((line.replace("\n", " ") + "\n").encode("utf-8", errors="replace"))
    try:
        load_labels(path, ws)
    except ParityError as exc:
        assert "\n" not in exc.line()

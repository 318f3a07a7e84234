"""Frontier-labelled calibration sets: loading, one-line errors, and agreement of a judge with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_parity
from parity.analysis.calibration import agree_with_labels
from parity.errors import ParityError
from parity.judge.base import Judgment
from parity.labels import Split, load_labels
from parity.task import Workspace

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")
GOLD = {"title": "Paris trip", "questions": [f"Gold question {i} about Paris?" for i in range(7)]}


def _row(
    item: str, task: str, source: str, scores: list[int], verdict: str, split: str = "heldout", second: list[int] | None = None
) -> dict:
    judgings = [{"judge": "frontier-a", "brief": "sha", "scores": dict(zip(DIMS, scores)), "verdict": verdict}]
    if second is not None:
        judgings.append({"judge": "frontier-b", "brief": "sha", "scores": dict(zip(DIMS, second)), "verdict": verdict})
    candidate = {"title": "t", "questions": [f"{item} question {i} for {task}?" for i in range(7)]}
    return {
        "item": item,
        "task_id": task,
        "split": split,
        "input": f"plan {task}",
        "gold": GOLD,
        "gold_alt": GOLD,
        "candidate": candidate,
        "source": source,
        "judgings": judgings,
    }


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _set(tmp_path: Path) -> list[dict]:
    """Three sources over four tasks, with clear quality levels and one double-judged item per task."""
    rows = []
    for t in range(4):
        rows.append(_row(f"a{t}", f"task{t}", "agent:weak", [2, 1 + t % 2, 1, 2, 2], "loss", second=[2, 1, 1, 2, 3]))
        rows.append(_row(f"b{t}", f"task{t}", "agent:strong", [4, 4, 3 + t % 2, 4, 5], "loss"))
        rows.append(_row(f"c{t}", f"task{t}", "gold_alt", [5, 5, 5, 5, 5], "tie", split="heldout" if t < 3 else "fit"))
    return rows


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
    rows = _set(tmp_path)
    labels = load_labels(_write(tmp_path / "labels.jsonl", rows), ws)
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
    rows = _set(tmp_path)
    labels = load_labels(_write(tmp_path / "labels.jsonl", rows), ws)
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

    rows = _set(tmp_path)
    labels = load_labels(_write(tmp_path / "labels.jsonl", rows), ws)
    detecting = DetectingJudge(EchoJudge(rows), {"strong_one": DetectorSpec(patterns=[r"^b0 question"])}, ws.config.rubric)
    result = agree_with_labels(ws, detecting, labels, None)
    bare = agree_with_labels(ws, EchoJudge(rows), labels, None)
    assert result.n_failed == 1 and bare.n_failed == 0
    strong, strong_bare = (next(s for s in r.sources if s.source == "agent:strong") for r in (result, bare))
    assert strong.judge_quality == pytest.approx(strong.label_quality)  # both sides failed b0
    assert strong.label_quality < strong_bare.label_quality
    assert result.quality_spearman == pytest.approx(1.0) and result.verdict_accuracy == 1.0


def test_inter_judge_agreement_is_measured_on_double_judged_items(ws: Workspace, tmp_path: Path) -> None:
    labels = load_labels(_write(tmp_path / "labels.jsonl", _set(tmp_path)), ws)
    inter = agree_with_labels(ws, EchoJudge(_set(tmp_path)), labels, None).inter_judge
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
    rows = _set(tmp_path)
    mutate(rows[2])
    with pytest.raises(ParityError) as err:
        load_labels(_write(tmp_path / "labels.jsonl", rows), ws)
    assert "labels.jsonl:3" in err.value.line() and message in err.value.line()
    assert "\n" not in err.value.line()


def test_duplicate_items_and_empty_sets_are_refused(ws: Workspace, tmp_path: Path) -> None:
    rows = _set(tmp_path)
    rows[5]["item"] = rows[0]["item"]
    with pytest.raises(ParityError, match="duplicate item 'a0' \\(first at .*labels.jsonl:1\\)"):
        load_labels(_write(tmp_path / "labels.jsonl", rows), ws)
    with pytest.raises(ParityError, match="empty"):
        load_labels(_write(tmp_path / "empty.jsonl", []), ws)


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


def test_calibrate_labels_command_prints_agreement_and_json(ws_dir: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "labels.jsonl", _set(tmp_path))
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
    cases = [
        json.loads(line)
        for line in (Path(__file__).parents[1] / "src/parity/examples/discovery/ruler/cases.jsonl").read_text().splitlines()
    ]
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
            row = _row(f"{source}-{n}", case["id"], source, scores, verdict, split="fit" if n % 3 else "heldout")
            rows.append(
                dict(
                    row, input=case["input"], gold=case["gold"], gold_alt=case["gold_alt"], candidate={"title": "t", "questions": questions}
                )
            )
    return rows


def test_fit_writes_a_judge_that_orders_unseen_tasks_like_its_labels(ws_dir: Path, tmp_path: Path) -> None:
    labels = _write(tmp_path / "labels.jsonl", _paris_rows())
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


def test_every_summary_says_how_far_its_judge_was_measured_to_agree(ws_dir: Path, tmp_path: Path) -> None:
    """The bundled discovery judge (v2) carries its held-out agreement into the summary, show --json, the
    keep decision and the report; a workspace on v1 says its judge is uncalibrated."""
    from conftest import add_gates, show_json

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

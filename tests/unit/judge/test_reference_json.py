"""The json reference judge compares an answer with the gold field by field: exact for enums, numbers
(within the tolerance) and booleans, normalized text then MiniLM for strings, set F1 for arrays."""

from __future__ import annotations

import numpy as np
import pytest

from parity.judge.reference_json import FieldScorer
from parity.task import TaskSpec


class Words:
    """An embedder stand-in: one axis per word, so unrelated texts are orthogonal and equal texts identical."""

    def encode(self, texts: list[str]) -> np.ndarray:
        vocab = sorted({w for t in texts for w in t.lower().split()})
        rows = np.array([[float(w in t.lower().split()) for w in vocab] for t in texts])
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)


SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["a", "b"]},
        "score": {"type": "number"},
        "ok": {"type": "boolean"},
        "note": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "where": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
    "additionalProperties": False,
}


@pytest.fixture
def scorer() -> FieldScorer:
    task = TaskSpec(name="t", description="d", kind="json", schema="s.json")
    task.attach_schema(SCHEMA)
    return FieldScorer(task, Words(), number_tolerance=0.5)  # type: ignore[arg-type]


GOLD = {"kind": "a", "score": 3, "ok": True, "note": "Hello there, friend.", "tags": ["x", "y"], "where": {"city": "Paris"}}


def test_the_gold_scores_one_on_every_field(scorer: FieldScorer) -> None:
    assert scorer.score(GOLD, GOLD) == {"kind": 1.0, "score": 1.0, "ok": 1.0, "note": 1.0, "tags": 1.0, "where.city": 1.0}


def test_exact_fields_are_all_or_nothing_and_numbers_have_a_tolerance(scorer: FieldScorer) -> None:
    answer = {**GOLD, "kind": "b", "score": 3.4, "ok": False}
    got = scorer.score(answer, GOLD)
    assert (got["kind"], got["score"], got["ok"]) == (0.0, 1.0, 0.0)
    assert scorer.score({**GOLD, "score": 4}, GOLD)["score"] == 0.0


def test_text_is_equal_after_normalizing_and_partly_close_otherwise(scorer: FieldScorer) -> None:
    assert scorer.score({**GOLD, "note": "hello THERE friend"}, GOLD)["note"] == 1.0
    assert scorer.score({**GOLD, "note": "Goodbye now."}, GOLD)["note"] == 0.0
    assert 0.0 < scorer.score({**GOLD, "note": "Hello there, stranger."}, GOLD)["note"] < 1.0


def test_arrays_score_set_f1_and_missing_fields_score_zero(scorer: FieldScorer) -> None:
    assert scorer.score({**GOLD, "tags": ["y", "x"]}, GOLD)["tags"] == 1.0
    assert scorer.score({**GOLD, "tags": ["x", "z"]}, GOLD)["tags"] == pytest.approx(0.5)
    assert scorer.score({k: v for k, v in GOLD.items() if k != "where"}, GOLD)["where.city"] == 0.0


def test_an_answer_that_is_not_json_scores_the_bottom_of_the_scale(tmp_path) -> None:
    from parity.examples import write_example
    from parity.judge.reference_json import JsonReferenceJudge
    from parity.ruler import load_cases
    from parity.task import Answer, load_workspace

    ws = load_workspace(write_example("triage", tmp_path / "ws"))
    case = load_cases(ws)[0]
    judge = JsonReferenceJudge(ws.config.rubric, ws.task, Words(), 0.05)  # type: ignore[arg-type]
    judgment = judge.judge(case, Answer(title="t", questions=("q?",)))
    assert set(judgment.scores.values()) == {1.0} and judgment.verdict == "loss"

"""Property tests: parsers either return a valid value or raise their one documented error."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from parity.errors import ParityError
from parity.io import read_jsonl
from parity.models.spec import BACKENDS, parse_spec
from parity.task import TaskSpec, parse_answer

TASK = TaskSpec(name="t", description="d")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=9) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=30,
)


@given(json_values)
def test_parse_answer_accepts_or_raises_value_error(obj) -> None:
    try:
        answer = parse_answer(obj, TASK)
    except ValueError as exc:
        assert str(exc)
        return
    assert len(answer.questions) == 7 and answer.title


@given(st.text(min_size=1, max_size=40), st.lists(st.text(min_size=1, max_size=60), min_size=7, max_size=7))
def test_parse_answer_round_trips_valid_answers(title, questions) -> None:
    if not title.strip() or not all(q.strip() for q in questions):
        return
    answer = parse_answer({"title": title, "questions": questions}, TASK)
    assert answer.to_dict() == {"title": title.strip(), "questions": [q.strip() for q in questions]}


@settings(max_examples=60)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
            max_size=30,
        ),
        max_size=6,
    )
)
def test_read_jsonl_yields_objects_or_a_located_error(tmp_path_factory, lines) -> None:
    path = Path(tmp_path_factory.mktemp("jsonl")) / "x.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        rows = list(read_jsonl(path, "x.jsonl"))
    except ParityError as exc:
        assert exc.where and exc.where.startswith("x.jsonl:")
        number = int(exc.where.split(":")[1])
        bad = lines[number - 1]
        with contextlib.suppress(json.JSONDecodeError):
            assert not isinstance(json.loads(bad), dict)
        return
    assert all(isinstance(obj, dict) for _, obj in rows)


@given(st.text(max_size=40))
def test_parse_spec_accepts_or_raises_parity_error(text) -> None:
    try:
        spec = parse_spec(text)
    except ParityError as exc:
        assert exc.fix
        return
    assert spec.backend in BACKENDS and spec.target
    assert parse_spec(str(spec)) == spec  # a parsed spec prints back to itself


@given(st.integers(0, 6), st.integers(1, 80), st.booleans())
def test_parse_answer_holds_the_tasks_length_limits_as_the_schema_does(index: int, over: int, in_title: bool) -> None:
    """Gold answers and Python agents' answers never pass the schema's maxLength, so the parser holds it too."""
    task = TaskSpec(name="t", description="d", max_question_chars=40, max_title_chars=20)
    title, questions = "Trip", [f"Question {i}?" for i in range(7)]
    if in_title:
        title = "T" * (20 + over)
    else:
        questions[index] = "Q" * (40 + over - 1) + "?"
    try:
        parse_answer({"title": title, "questions": questions}, task)
    except ValueError as exc:
        assert ("title" if in_title else f"question {index + 1}") in str(exc) and "characters" in str(exc)
    else:
        raise AssertionError("an over-long answer was accepted")
    parse_answer({"title": "T" * 20, "questions": ["Q" * 39 + "?"] * 7}, task)  # at the limits: accepted

"""Property tests for `ruler/cases.jsonl`: whatever the file holds, `load_cases` returns cases that can be
run or refuses the file with one line (a ParityError naming the line), never another exception; valid
cases written out and loaded again are the same cases."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.cases import DIFFICULTIES, Case, load_cases
from parity.errors import ParityError
from parity.examples import write_example
from parity.task import Answer, Workspace, load_workspace
from tests.helpers.draws import one_thing_wrong
from tests.helpers.hostile import assert_one_line, assert_storable

SHOWN = "ruler/cases.jsonl"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return load_workspace(write_example("discovery", tmp_path_factory.mktemp("cases") / "ws"))


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The first bundled cases (from a copy of their own: the tests overwrite the workspace's)."""
    ws_dir = write_example("discovery", tmp_path_factory.mktemp("bundled") / "ws")
    return [json.loads(line) for line in (ws_dir / SHOWN).read_text("utf-8").splitlines()[:3]]


def record(case: Case) -> dict[str, Any]:
    return case.to_dict()


def load(ws: Workspace, data: bytes) -> list[Case] | None:
    """The cases `data` holds, checked as runnable; None when the file is refused in one line."""
    ws.cases_path.write_bytes(data)
    try:
        cases = load_cases(ws)
    except ParityError as exc:
        assert_one_line(exc)
        assert exc.where and exc.where.startswith(SHOWN)
        return None
    assert cases and len({c.id for c in cases}) == len(cases)
    for case in cases:
        assert all(isinstance(text, str) and text.strip() for text in (case.id, case.category, case.input))
        assert case.difficulty in DIFFICULTIES
        assert len(case.gold.questions) == ws.task.n_questions
        assert_storable(record(case))
    return cases


def jsonl(objects: list[Any]) -> bytes:
    """One JSON value per line, as Python writes it: NaN and Infinity bare, lone surrogates escaped."""
    return "".join(json.dumps(obj) + "\n" for obj in objects).encode()


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_load_or_are_refused_in_one_line(ws: Workspace, data: bytes) -> None:
    load(ws, data)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=60) | st.sampled_from(['{"id": "\ud800"}', '{"a": 1}', "[]", "{}", "\ud800"]), max_size=5))
def test_any_text_loads_or_is_refused_in_one_line(ws: Workspace, lines: list[str]) -> None:
    load(ws, "\n".join(lines).encode("utf-8", "surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_valid_cases_with_one_thing_wrong_load_or_are_refused_in_one_line(ws: Workspace, bundled: list[dict[str, Any]], data) -> None:
    objects = list(bundled)
    index = data.draw(st.integers(0, len(objects) - 1), label="line")
    objects[index] = one_thing_wrong(data, objects[index])
    load(ws, jsonl(objects))


DEEP = 100_000
ATTACKS = {
    "an empty file": b"",
    "blank lines only": b"\n \n\t\n",
    "deep JSON": b"[" * DEEP + b"]" * DEEP,
    "a deep value": b'{"id": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "a 5000-digit number": b'{"id": ' + b"9" * 5000 + b"}",
    "an escaped lone surrogate": b'{"id": "\\ud800"}',
    "a lone surrogate's bytes": b'{"id": "\xed\xa0\x80"}',
    "latin-1 text": b'{"id": "caf\xe9"}',
    "a NUL byte": b"\x00",
}


@pytest.mark.parametrize("data", ATTACKS.values(), ids=ATTACKS.keys())
def test_handwritten_attacks_are_refused_in_one_line(ws: Workspace, data: bytes) -> None:
    assert load(ws, data) is None


@pytest.mark.parametrize(
    "change",
    [
        {"id": "a\nb"},  # and twice: the duplicate's message quotes it
        {"id": "a\u2028b"},
        {"difficulty": "easy\nhard"},
        {"difficulty": ["easy"]},
        {"difficulty": 1e400},
        {"gold": {"title": "t", "questions": ["q?"] * 6 + ["\ud800"]}},
        {"input": "\ud800"},
        {"gold_alt": {"title": "t\u2029", "questions": "7"}},
    ],
)
def test_each_broken_case_is_refused_in_one_line(ws: Workspace, bundled: list[dict[str, Any]], change: dict[str, Any]) -> None:
    broken = {**bundled[0], **change}
    assert load(ws, jsonl([broken, broken])) is None


names = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20).filter(str.strip)


def answers(n: int) -> st.SearchStrategy[dict[str, Any]]:
    title = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=100).filter(str.strip)
    question = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200).filter(str.strip)
    return st.fixed_dictionaries({"title": title, "questions": st.lists(question, min_size=n, max_size=n)})


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_valid_cases_round_trip(ws: Workspace, data) -> None:
    n = ws.task.n_questions
    ids = data.draw(st.lists(names, min_size=1, max_size=4, unique=True), label="ids")
    objects = [
        {
            "id": case_id,
            "category": data.draw(names),
            "difficulty": data.draw(st.sampled_from(DIFFICULTIES)),
            "input": data.draw(names),
            "gold": data.draw(answers(n)),
            **({"gold_alt": data.draw(answers(n))} if data.draw(st.booleans()) else {}),
        }
        for case_id in ids
    ]
    cases = load(ws, jsonl(objects))

    def as_answer(obj: dict[str, Any]) -> Answer:
        return Answer(obj["title"].strip(), tuple(q.strip() for q in obj["questions"]))

    assert cases == [
        Case(
            o["id"],
            o["category"],
            o["difficulty"],
            o["input"].strip(),
            as_answer(o["gold"]),
            as_answer(o["gold_alt"]) if "gold_alt" in o else None,
        )
        for o in objects
    ]

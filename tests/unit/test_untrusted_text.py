"""Text parity did not write (a file, a model's or a judge's output) that Python's own parsers choke on:
nested too deeply, an integer too long, a lone surrogate. Each is a bad answer or a one-line error, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parity.io import is_text, parse_json
from parity.judge.parsing import load_object
from parity.task import answer_from_text, load_workspace

HOSTILE = ["[" * 100000, '{"a": ' * 50000, "1" * 5000, '{"title": "' + "x" * 10 + '", "questions": ' + "[" * 100000 + "]"]


@pytest.mark.parametrize("text", HOSTILE, ids=["deep list", "deep object", "long integer", "deep field"])
def test_parse_json_raises_only_json_decode_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        parse_json(text)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
def test_parse_json_reads_what_json_writes(value: object) -> None:
    assert parse_json(json.dumps(value)) == value


@pytest.mark.parametrize("text", HOSTILE, ids=["deep list", "deep object", "long integer", "deep field"])
def test_a_model_answer_nested_too_deeply_is_a_bad_answer(ws_dir, text: str) -> None:
    task = load_workspace(ws_dir).task
    with pytest.raises(ValueError):
        answer_from_text(text, task)
    parsed = load_object(text)  # the judge's parser: no crash
    assert parsed.value is None or isinstance(parsed.value, dict)


def test_an_answer_with_a_lone_surrogate_is_refused(ws_dir) -> None:
    task = load_workspace(ws_dir).task
    text = json.dumps({"title": "\ud800", "questions": [f"Question {i} about the trip?" for i in range(7)]})
    with pytest.raises(ValueError, match="lone surrogate"):
        answer_from_text(text, task)
    assert not is_text({"a": ["\udfff"]}) and is_text({"a": ["é", "😀"]})


def test_a_written_file_gets_the_mode_a_plain_open_would_give_and_keeps_its_own(tmp_path) -> None:
    import os
    import stat

    from parity.io import atomic_write_text

    umask = os.umask(0)
    os.umask(umask)
    fresh = tmp_path / "report.md"
    atomic_write_text(fresh, "x")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    fresh.chmod(0o640)
    atomic_write_text(fresh, "y")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640 and fresh.read_text() == "y"

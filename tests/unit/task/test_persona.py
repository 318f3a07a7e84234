"""The free-text persona task's parts: answers, their limits, whole sentences, and the checks on
strategies and reference dimensions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parity.agent import load_agent
from parity.agent.context import whole_sentences
from parity.errors import ParityError
from parity.examples import write_example
from parity.judge import make_judge
from parity.task import Answer, TaskSpec, answer_from_text, load_workspace, parse_answer

FREE = TaskSpec(name="t", description="d", kind="free_text", max_answer_chars=500)


@pytest.fixture(scope="module")
def persona(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_example("persona", tmp_path_factory.mktemp("persona") / "ws")


def test_a_dimension_without_a_reference_signal_is_a_one_line_error(persona: Path, tmp_path: Path) -> None:
    ws_dir = write_example("persona", tmp_path / "ws")
    config = ws_dir / "parity.toml"
    # v1 reads the signals; the bundled v2 judge reads features instead, so drop its fit first.
    text = config.read_text().replace('signal = "stance"', 'signal = "truth"')
    config.write_text("\n".join(line for line in text.splitlines() if not line.startswith("fitted =")) + "\n")
    with pytest.raises(ParityError, match="no signal 'truth' for dimension 'position'"):
        make_judge(load_workspace(ws_dir))


def test_question_only_strategies_are_refused_for_free_text(persona: Path, tmp_path: Path) -> None:
    ws_dir = write_example("persona", tmp_path / "ws")
    (ws_dir / "agents" / "vote.yaml").write_text("model: llamacpp:smollm2-135m\nstrategy:\n  kind: vote\n")
    with pytest.raises(ParityError, match="strategy 'vote' combines lists of questions"):
        load_agent(load_workspace(ws_dir), "vote")
    (ws_dir / "agents" / "revise.yaml").write_text("model: llamacpp:smollm2-135m\nstrategy:\n  kind: critique_revise\n")
    with pytest.raises(ParityError, match="default prompts critique clarifying questions"):
        load_agent(load_workspace(ws_dir), "revise")


@given(st.text(min_size=1).filter(lambda s: s.strip()))
def test_any_non_blank_text_is_a_free_text_answer_and_round_trips(text: str) -> None:
    text = text[:500]
    answer = parse_answer(text, FREE)
    assert answer.text == text.strip() and Answer.from_dict(answer.to_dict()) == answer
    assert answer_from_text(answer.as_output(), FREE) == answer


@given(st.sampled_from(["", "   ", None, 3, ["a"], {"title": "x"}]))
def test_blank_or_non_text_answers_are_refused(obj: object) -> None:
    with pytest.raises(ValueError):
        parse_answer(obj, FREE)


def test_an_over_long_answer_is_refused() -> None:
    with pytest.raises(ValueError, match="501 characters, the task allows 500"):
        parse_answer("x" * 501, FREE)


@given(st.text())
def test_a_truncated_reply_keeps_only_whole_sentences(text: str) -> None:
    kept = whole_sentences(text)
    assert text.strip().startswith(kept)
    assert kept == "" or kept.rstrip("\"')]")[-1] in ".!?"

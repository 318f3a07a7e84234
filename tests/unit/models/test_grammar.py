"""The grammars parity builds from a schema: llama.cpp's, walked token by token over the bundled model's own
vocabulary with llama.cpp's grammar sampler, and xgrammar's (the hf: backend), matched character by
character. Each admits what the answer parser accepts and refuses a blank string where the schema
requires a non-empty one (the parser refuses those: a failed case)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from parity.models.grammar import GrammarFirst
from parity.models.hf import json_grammar
from parity.models.llamacpp import grammar_text
from parity.models.spec import embedded_model_path
from parity.questions_shape import parse, schema
from parity.task import TaskSpec

TASK = TaskSpec(name="planner", description="a title and seven clarifying questions")
QUESTIONS = [f"What is detail number {i} of the plan?" for i in range(1, 8)]


@pytest.fixture(scope="module")
def vocab() -> Any:
    from llama_cpp import Llama

    llama = Llama(str(embedded_model_path("smollm2-135m")), vocab_only=True, verbose=False)
    yield llama
    llama.close()


def admits(llama: Any, schema_: dict[str, Any], text: str) -> bool:
    """Whether the grammar lets the model write `text`, token by token as the sampler would see it."""
    from llama_cpp import LlamaGrammar

    walker = GrammarFirst(llama, LlamaGrammar.from_string(grammar_text(schema_), verbose=False))
    logits = np.zeros(llama.n_vocab(), dtype=np.single)
    try:
        for token in llama.tokenize(text.encode(), add_bos=False, special=False):
            if not walker._allowed(np.array([token], dtype=np.intc), logits).size:
                return False
            walker._lib.llama_sampler_accept(walker._sampler, token)
        return True
    finally:
        walker.close()


def answer(title: str, questions: list[str]) -> str:
    return json.dumps({"title": title, "questions": questions})


def test_the_questions_grammar_admits_an_answer_the_parser_accepts(vocab: Any) -> None:
    text = answer("Plan a trip", QUESTIONS)
    assert parse(json.loads(text), TASK, "answer", None)[1] == tuple(QUESTIONS)
    assert admits(vocab, schema(TASK, 7), text)


@pytest.mark.parametrize(
    ("title", "last"),
    [("Plan a trip", " "), ("Plan a trip", "   "), ("Plan a trip", " Where to?"), (" ", QUESTIONS[-1]), ("Plan a trip", "")],
)
def test_the_questions_grammar_refuses_a_blank_or_space_led_string(vocab: Any, title: str, last: str) -> None:
    text = answer(title, [*QUESTIONS[:6], last])
    assert not admits(vocab, schema(TASK, 7), text)
    assert not xgrammar_admits(schema(TASK, 7), text)


def xgrammar_admits(schema_: dict[str, Any], text: str) -> bool:
    from xgrammar.testing import _is_grammar_accept_string

    return bool(_is_grammar_accept_string(json_grammar(schema_), text))


def test_the_xgrammar_grammar_admits_an_answer_the_parser_accepts() -> None:
    assert xgrammar_admits(schema(TASK, 7), answer("Plan a trip", QUESTIONS))
    assert not xgrammar_admits(schema(TASK, 7), answer("Plan a trip", QUESTIONS[:6]))


def test_a_string_the_schema_lets_be_empty_may_still_be_blank(vocab: Any) -> None:
    free = {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"], "additionalProperties": False}
    assert "visible-char" not in grammar_text(free)
    assert admits(vocab, free, json.dumps({"note": " "})) and xgrammar_admits(free, json.dumps({"note": " "}))

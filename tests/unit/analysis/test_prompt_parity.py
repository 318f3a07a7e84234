"""Prompt parity: the exact tokens an engine feeds the model, against the prompt training built with the
base tokenizer's chat template. A GGUF whose template was replaced must be caught, at the first token
that differs; the bundled model and a merged export must pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.analysis.prompt_parity import check_engine, first_difference, training_prompt
from parity.models.base import Request
from parity.models.llamacpp import LlamaCppModel
from parity.models.spec import embedded_model_path
from parity.train.base import resolve_base
from tests.helpers.llama import with_chat_template

MESSAGES = (
    {"role": "system", "content": "You plan trips. Ask exactly 7 questions."},
    {"role": "user", "content": "Task: plan a trip to Paris in 2026"},
)
LLAMA2_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% else %}{{ message['content'] }}{% endif %}{% endfor %}"
)


@pytest.mark.parametrize(
    ("expected", "got", "position"),
    [([1, 2, 3], [1, 2, 3], None), ([1, 2, 3], [1, 9, 3], 1), ([1, 2, 3], [1, 2], 2), ([1, 2], [1, 2, 3], 2), ([], [], None)],
)
def test_first_difference(expected: list[int], got: list[int], position: int | None) -> None:
    assert first_difference(expected, got) == position


def test_the_bundled_gguf_builds_the_training_prompt_and_a_replaced_template_is_caught(tmp_path: Path) -> None:
    base = resolve_base("smollm2-135m", tmp_path)
    request = Request(messages=MESSAGES)
    expected = training_prompt(base.folder, list(MESSAGES))
    assert len(expected) > 20

    bundled = check_engine("llama.cpp", LlamaCppModel("llamacpp:smollm2-135m", embedded_model_path("smollm2-135m")), request, base.folder)
    assert bundled.same is True and bundled.first_difference is None, bundled.detail

    wrong = with_chat_template(embedded_model_path("smollm2-135m"), tmp_path / "wrong-template.gguf", LLAMA2_TEMPLATE)
    caught = check_engine("llama.cpp, replaced template", LlamaCppModel(f"llamacpp:{wrong}", wrong), request, base.folder)
    assert caught.same is False and caught.first_difference == 0
    assert "differs from training's prompt at token 0" in caught.detail and "this engine 'You plan trips" in caught.detail

    # A template without the generation prompt: the same tokens until the assistant turn should begin.
    chatml = (
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    )
    cut = with_chat_template(embedded_model_path("smollm2-135m"), tmp_path / "no-generation-prompt.gguf", chatml)
    late = check_engine("llama.cpp, no generation prompt", LlamaCppModel(f"llamacpp:{cut}", cut), request, base.folder)
    assert late.same is False and 0 < late.first_difference < len(expected), late.detail
    assert "<|im_start|>assistant" in late.detail

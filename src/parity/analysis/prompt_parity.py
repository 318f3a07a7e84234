"""Prompt parity: does an engine feed the model the very tokens training did? Training (TRL) builds the
prompt with the base tokenizer's chat template and `add_generation_prompt`; a GGUF carries its own
copy of the template, a server may apply another, and a BOS/EOS or system-prompt difference
silently costs quality. Each engine's token sequence for the same messages is compared with
training's, and the first differing position is shown."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from parity.errors import ParityError
from parity.models.base import Request
from parity.models.resilience import BackendError


@dataclass(frozen=True)
class PromptParity:
    engine: str
    same: bool | None  # None: the engine does not say which tokens it fed (only how many)
    detail: str
    first_difference: int | None = None


@lru_cache(maxsize=2)
def _tokenizer(folder: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def training_prompt(base_folder: Path, messages: list[dict[str, str]]) -> list[int]:
    """The prompt tokens TRL trains on for these messages (its prompt-completion path)."""
    tokenizer = _tokenizer(str(base_folder))
    return [
        int(t) for t in tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
    ]


def first_difference(expected: list[int], got: list[int]) -> int | None:
    for position, (a, b) in enumerate(zip(expected, got)):
        if a != b:
            return position
    return None if len(expected) == len(got) else min(len(expected), len(got))


def check_engine(engine: str, model: Any, request: Request, base_folder: Path) -> PromptParity:
    """Compare what `model` feeds for `request` with training's prompt. Engines that can show their
    tokens (llama.cpp, transformers) are compared token by token; a served model by the prompt token
    count it reports, from a one-token request."""
    expected = training_prompt(base_folder, [dict(m) for m in request.messages])
    shown = getattr(model, "prompt_token_ids", None)
    if shown is None:
        try:
            counted = model.complete(Request(messages=request.messages, max_tokens=1, temperature=0.0, seed=0)).prompt_tokens
        except BackendError as exc:
            raise ParityError(
                f"{engine} did not answer a one-token request ({exc.cause})", exc.backend, "start the server, or leave out its --endpoint"
            ) from None
        if counted == len(expected):
            return PromptParity(engine, None, f"the server counts {counted} prompt tokens, as training does (it does not show which)")
        return PromptParity(engine, False, f"the server counts {counted} prompt tokens, training {len(expected)}")
    got = shown(request)
    position = first_difference(expected, got)
    if position is None:
        return PromptParity(engine, True, f"the training prompt, token for token ({len(got)} tokens)")
    tokenizer = _tokenizer(str(base_folder))

    def window(tokens: list[int]) -> str:
        return repr(tokenizer.decode(tokens[max(0, position - 2) : position + 6]))

    return PromptParity(
        engine,
        False,
        f"differs from training's prompt at token {position} of {len(expected)}: training {window(expected)}, "
        f"this engine {window(got)} ({len(got)} tokens)",
        position,
    )

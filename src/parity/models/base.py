"""The one protocol every model backend speaks: a Request in, a Completion out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class Request:
    messages: tuple[dict[str, str], ...]
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int = 0
    schema: dict[str, Any] | None = None
    repeat: int = 0  # sampled repeats differ only by this index, so their cache keys never collide

    def key_material(self) -> dict[str, Any]:
        return {
            "messages": list(self.messages),
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            # As a string: the property order shapes constrained output, and canonical JSON would sort it away.
            "schema": json.dumps(self.schema) if self.schema is not None else None,
            "repeat": self.repeat,
        }


@dataclass
class Completion:
    text: str
    finish_reason: FinishReason
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    parsed: Any = None
    cached: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Model(Protocol):
    spec: str  # what the user wrote, e.g. "llamacpp:smollm2-135m"
    identity: str  # what was resolved, content-addressed where possible (file hash)

    def complete(self, request: Request) -> Completion: ...

    def context_tokens(self, request: Request) -> tuple[int, int] | None:
        """(the request's prompt in the model's own tokens, the model's context length), counted the way
        the backend builds the prompt and without generating; None when that cannot be known exactly
        (a served model) or need not be (a cached answer)."""
        ...


def concurrency(model: Model) -> int:
    """How many of this model's requests are worth sending at once: a served model's max_in_flight; 1 for an
    in-process engine, which serves one request at a time."""
    return int(getattr(model, "max_concurrent", 1))

"""Timeouts, retries and a bounded, adaptive number of requests in flight per backend."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from parity.models.secrets import scrub

T = TypeVar("T")


RESERVED_BODY_FIELDS = {"model", "messages", "response_format", "stream", "n", "temperature", "top_p", "max_tokens", "seed", "tools"}


class BackendOptions(BaseModel):
    """How parity talks to one backend; set under `backend:` in an agent file or `[judge.backend]`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # an infinite timeout or backoff never ends
    max_in_flight: int = Field(default=1, ge=1, le=256, description="requests sent concurrently")
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=20)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    structured_output: str = Field(default="auto", pattern="^(auto|json_schema|json_object|none)$")
    # Sampler fields an OpenAI-compatible server takes beyond OpenAI's own. llama.cpp's Python server
    # and Ollama apply repeat_penalty 1.1 unless told otherwise, which the in-process engine does not:
    # {repeat_penalty: 1.0} makes a served model decode as parity's llama.cpp engine does.
    extra_body: dict[str, float | int | bool | str] = Field(default_factory=dict, max_length=32)

    @field_validator("extra_body")
    @classmethod
    def _no_request_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = sorted(set(value) & RESERVED_BODY_FIELDS)
        if taken:
            raise ValueError(f"extra_body may not set {', '.join(taken)}: parity sets it from the agent and the request")
        long = [key for key in value if len(key) > 64 or (isinstance(value[key], str) and len(value[key]) > 256)]
        if long:
            raise ValueError(f"extra_body field '{long[0][:64]}' is too long")
        return value


class TransientError(Exception):
    """Worth retrying: a dropped connection, a timeout, a 429 or a 5xx."""

    def __init__(self, cause: str, retry_after: float | None = None, throttled: bool = False):
        cause = scrub(cause)
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after
        self.throttled = throttled


class BackendError(Exception):
    """A backend failed for good: after the last retry, or at once for a request it will never accept."""

    def __init__(self, backend: str, cause: str):
        cause = scrub(cause)  # stored as the experiment's decision and printed: never a credential
        super().__init__(f"{backend}: {cause}")
        self.backend = backend
        self.cause = cause


class AdaptiveLimiter:
    """At most `limit` requests in flight; a 429 halves the limit, sustained success grows it back."""

    def __init__(self, max_in_flight: int):
        self.max = max_in_flight
        self.limit = max_in_flight
        self.in_flight = 0
        self._successes = 0
        self._cond = threading.Condition()

    def __enter__(self) -> AdaptiveLimiter:
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def throttled(self) -> None:
        with self._cond:
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def succeeded(self) -> None:
        with self._cond:
            self._successes += 1
            if self.limit < self.max and self._successes >= self.limit * 4:
                self.limit += 1
                self._successes = 0
                self._cond.notify_all()


RETRY_AFTER_LIMIT_S = 600.0  # a server that asks for a longer wait is down for now: say so rather than sleep


def retry_delay(attempt: int, options: BackendOptions, retry_after: float | None) -> float:
    """Honour the server's Retry-After; otherwise exponential backoff with full jitter."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), max(options.backoff_max_s, retry_after))
    ceiling = min(options.backoff_max_s, options.backoff_base_s * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)


def call_with_retries(
    backend: str, fn: Callable[[], T], options: BackendOptions, limiter: AdaptiveLimiter, sleep: Callable[[float], None] = time.sleep
) -> T:
    last = "unknown error"
    for attempt in range(options.max_retries + 1):
        try:
            with limiter:
                result = fn()
            limiter.succeeded()
            return result
        except TransientError as exc:
            last = exc.cause
            if exc.throttled:
                limiter.throttled()
            if attempt == options.max_retries:
                break
            if exc.retry_after is not None and exc.retry_after > RETRY_AFTER_LIMIT_S:
                raise BackendError(
                    backend,
                    f"{last}: the server asks to wait {exc.retry_after:.0f} s (Retry-After), longer than parity waits ({RETRY_AFTER_LIMIT_S:.0f} s); try again later",
                ) from None
            sleep(retry_delay(attempt, options, exc.retry_after))
    raise BackendError(backend, f"{last} (gave up after {options.max_retries + 1} attempts)")


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None  # "inf" and "nan" say nothing usable
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None

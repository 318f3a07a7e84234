"""What an experiment will cost before it starts, and a budget it never exceeds."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from parity.models.base import Request


def price_per_token(model: object) -> tuple[float, float]:
    """(USD per prompt token, USD per completion token); local and unpriced models cost 0."""
    inner = getattr(model, "inner", model)
    pricing = getattr(inner, "price_per_token", None)
    return pricing() if pricing else (0.0, 0.0)


def estimate_tokens(request: Request) -> int:
    # ~4 characters a token: an estimate for planning, never recorded as a measurement.
    return sum(len(m["content"]) for m in request.messages) // 4 + 8 * len(request.messages)


@dataclass
class Estimate:
    low_usd: float  # prompts only: what the calls cost even if every answer were empty
    high_usd: float  # every answer using max_tokens


def estimate(model: object, requests: list[Request]) -> Estimate:
    prompt_price, completion_price = price_per_token(model)
    low = sum(estimate_tokens(r) * prompt_price for r in requests)
    return Estimate(low, low + sum(r.max_tokens * completion_price for r in requests))


class Budget:
    """Reserve a call's worst case before sending it; settle with the measured cost afterwards."""

    def __init__(self, limit_usd: float | None, spent_usd: float = 0.0):
        self.limit = limit_usd
        self.spent = spent_usd
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, worst_usd: float) -> bool:
        with self._lock:
            if self.limit is not None and self.spent + self.reserved + worst_usd > self.limit:
                return False
            self.reserved += worst_usd
            return True

    def settle(self, reserved_usd: float, actual_usd: float) -> None:
        with self._lock:
            self.reserved -= reserved_usd
            self.spent += actual_usd

"""The screening rule, in one place for `parity run --confirm` and the loop: a candidate earns the
decide gate only by beating the running best's own screen score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Scored(Protocol):
    id: int
    quality: float | None


@dataclass(frozen=True)
class Screen:
    passes: bool
    reason: str


def _fmt(value: float | None) -> str:
    return "no quality" if value is None else f"{value:.3f}"


def screen(quality: float | None, best: Scored | None, gate: str = "dev") -> Screen:
    """Does a screen score of `quality` beat `best` (the running best's screen experiment, or None)?
    A screen with no quality (every case unscored) never passes."""
    if quality is None:
        against = f" (running best #{best.id}: {_fmt(best.quality)})" if best is not None else ""
        return Screen(False, f"{gate} screen has no quality: every case unscored or failed{against}")
    if best is None:
        return Screen(True, f"{gate} quality {quality:.3f} is the first on {gate}")
    if best.quality is None or quality <= best.quality:
        return Screen(False, f"{gate} quality {quality:.3f} does not beat the running best's {_fmt(best.quality)} (#{best.id})")
    return Screen(True, f"{gate} quality {quality:.3f} beats the running best's {best.quality:.3f} (#{best.id})")

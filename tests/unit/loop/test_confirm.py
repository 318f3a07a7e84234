"""`run --confirm` (parity.loop.confirm): the screen rule decides whether the full gate runs, against
the bar read before the screen ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from parity.errors import ParityError
from parity.loop.confirm import check_confirmable, confirm
from parity.loop.rules import Screen


@dataclass
class Bar:
    id: int
    quality: float | None


@dataclass
class BarStore:
    bar: Bar | None
    asked: list[tuple[str, str]] = field(default_factory=list)

    def screen_bar(self, fingerprint: str, screen_gate: str, decide_gate: str, exclude: int | None = None) -> Bar | None:
        self.asked.append((screen_gate, decide_gate))
        return self.bar


RULER = SimpleNamespace(fingerprint="f" * 64, gates={"dev": ("a",), "full": ("a", "b")})


def _gates(screen_quality: float | None):
    """A run_gate that records each gate run and answers the screen with `screen_quality`."""
    ran: list[tuple[str, int | None]] = []

    def run_gate(gate: str, screened_by: int | None):
        ran.append((gate, screened_by))
        quality = screen_quality if gate == "dev" else 0.9
        return SimpleNamespace(experiment_id=len(ran) + 10, result=SimpleNamespace(quality=quality))

    return run_gate, ran


@pytest.mark.parametrize(
    "bar, quality, decides, reason",
    [
        (None, 0.4, True, "dev quality 0.400 is the first on dev"),
        (Bar(3, 0.5), 0.6, True, "dev quality 0.600 beats the running best's 0.500 (#3)"),
        (Bar(3, 0.5), 0.5, False, "does not beat the running best's 0.500 (#3)"),
        (Bar(3, 0.5), None, False, "dev screen has no quality"),
    ],
)
def test_the_full_gate_runs_only_after_a_passing_screen(bar: Bar | None, quality: float | None, decides: bool, reason: str) -> None:
    store = BarStore(bar)
    run_gate, ran = _gates(quality)
    heard: list[Screen] = []
    done = confirm(store, RULER, run_gate, heard.append)  # type: ignore[arg-type]
    assert store.asked == [("dev", "full")]
    assert ran == ([("dev", None), ("full", 11)] if decides else [("dev", None)])
    assert heard == [done.screened] and done.screened.passes is decides and reason in done.screened.reason
    assert (done.decide is not None) is decides


@pytest.mark.parametrize("gate, gates", [("full", {"dev": (), "full": ()}), ("dev", {"full": ()})])
def test_confirm_needs_the_dev_gate(gate: str, gates: dict) -> None:
    with pytest.raises(ParityError, match="--confirm screens on the 'dev' gate"):
        check_confirmable(SimpleNamespace(gates=gates), gate)  # type: ignore[arg-type]

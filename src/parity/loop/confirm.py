"""`parity run --confirm`: screen a candidate on the dev gate, and spend the full gate on it only when
the screen passes the loop's screen rule (loop/rules.py) against the running best's own screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from parity.errors import ParityError
from parity.experiment import Outcome
from parity.loop.rules import Screen, screen
from parity.ruler import Ruler
from parity.store import Store
from parity.task import CONFIG_NAME

SCREEN_GATE = "dev"
DECIDE_GATE = "full"

# Runs one gate and records it as an experiment: (gate, the screen experiment it was screened by) → outcome.
RunGate = Callable[[str, int | None], Outcome]


@dataclass(frozen=True)
class Confirmation:
    screen: Outcome
    screened: Screen
    decide: Outcome | None  # None: the screen did not pass, the full gate was not run


def check_confirmable(ruler: Ruler, gate: str) -> None:
    """--confirm needs the screen gate, and was not asked to run another one."""
    if gate != SCREEN_GATE or SCREEN_GATE not in ruler.gates:
        raise ParityError(
            f"--confirm screens on the '{SCREEN_GATE}' gate and decides on '{DECIDE_GATE}'",
            CONFIG_NAME,
            "drop --gate, and declare a dev gate in [gates]",
        )


def confirm(store: Store, ruler: Ruler, run_gate: RunGate, on_screen: Callable[[Screen], None] | None = None) -> Confirmation:
    """Run the screen gate, apply the screen rule, and run the decide gate only if it passed;
    `on_screen` hears the screen's verdict before the decide gate starts."""
    bar = store.screen_bar(ruler.fingerprint, SCREEN_GATE, DECIDE_GATE)  # read first: the screen about to run is not its own bar
    screened_by = run_gate(SCREEN_GATE, None)
    screened = screen(screened_by.result.quality, bar, SCREEN_GATE)
    if on_screen:
        on_screen(screened)
    decide = run_gate(DECIDE_GATE, screened_by.experiment_id) if screened.passes else None
    return Confirmation(screened_by, screened, decide)

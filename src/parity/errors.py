"""One error type for everything a user can get wrong; the CLI prints it as one line. And Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

_interrupted = threading.Event()
_deferring = 0  # how deep the main thread is inside interrupts_deferred()


class ParityError(Exception):
    """A user-facing failure: what went wrong, where, and how to fix it."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text} — {self.fix}" if self.fix else text


class Interrupted(Exception):
    """Ctrl-C (or SIGINT) during an experiment: it is recorded as stopped and can be resumed. Not a
    KeyboardInterrupt, which typer turns into a silent exit code before parity can say how to resume."""

    def __init__(self, experiment_id: int):
        self.experiment_id = experiment_id
        super().__init__(
            f"experiment #{experiment_id} stopped; its finished cases are recorded — resume it with: parity run --resume {experiment_id}"
        )


def latch_interrupts() -> None:
    """Ctrl-C (or SIGTERM) raises KeyboardInterrupt as usual, and is remembered: one that lands while a C library
    calls back into Python (llama.cpp's logger, through ctypes) is swallowed there, so
    `raise_if_interrupted` raises it again where parity next looks (before each case)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        _interrupted.set()
        if not _deferring:
            raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():  # the only thread a handler may be set from
        signal.signal(signal.SIGINT, interrupt)
        # `timeout`, a job scheduler, systemd stop with SIGTERM: the experiment is recorded as stopped, as for Ctrl-C
        signal.signal(signal.SIGTERM, interrupt)
    sys.unraisablehook = _quiet_about_interrupts(sys.unraisablehook)


def _quiet_about_interrupts(default: Callable[[Any], None]) -> Callable[[Any], None]:
    """Python prints a traceback for an exception it must drop (one raised inside a ctypes callback); a
    latched Ctrl-C is not lost, so it is dropped silently and raised again by `raise_if_interrupted`."""

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            default(unraisable)

    return hook


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C inside the block is latched, not raised, and raised when the block ends. llama.cpp calls parity's
    grammar sampler back from C: an exception there stops it mid-step, the grammar falls behind the tokens,
    and llama.cpp aborts the whole process (seen: exit -6, "Unexpected empty grammar stack")."""
    global _deferring
    if threading.current_thread() is not threading.main_thread():  # a signal handler only ever runs on the main thread
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if _interrupted.is_set() and not _deferring:
        raise KeyboardInterrupt


def raise_if_interrupted() -> None:
    if _interrupted.is_set():
        raise KeyboardInterrupt

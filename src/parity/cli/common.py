"""What every `parity` command shares: the consoles, finding the workspace, the progress bar, JSON
output and the options several commands take."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from parity.progress import Progress
from parity.task import CONFIG_NAME, Workspace, load_workspace

__all__ = [
    "AsJson",
    "Bar",
    "WorkspaceOpt",
    "budget_option",
    "console",
    "find_root",
    "find_workspace",
    "hours_option",
    "print_json",
    "progress_bar",
    "stored_name",
]


console = Console(markup=False)  # stored text (hypotheses, answers, names) is data: nothing printed is read as markup

WorkspaceOpt = Annotated[
    Path | None, typer.Option("--workspace", "-w", help="Workspace folder (default: the current folder or a parent holding parity.toml).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
# A stored id: the store's integers are 64-bit, so a larger one is a usage error, not a database error.
ID = {"min": 1, "max": 2**63 - 1}


def find_workspace(path: Path | None) -> Workspace:
    return load_workspace(find_root(path))  # no parity.toml there: the "not a parity workspace" error


def find_root(path: Path | None) -> Path:
    """The workspace's folder, its config unread: `path`, else the current folder or the nearest parent holding
    parity.toml, else the current folder."""
    if path is not None:
        return path.resolve()
    here = Path.cwd().resolve()
    return next((folder for folder in (here, *here.parents) if (folder / CONFIG_NAME).is_file()), here)


class Bar:
    """A progress bar on stderr (never mixed with what --json prints). `phase` starts a line, with its
    total when known; `step` advances the current line, whatever the library's callback passes it. The
    bar shows from the first step on, so input refused before any work was done leaves stderr to its
    one-line error."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._task: TaskID | None = None
        self._shown = False

    def phase(self, what: str, total: int | None = None) -> None:
        self._task = self._progress.add_task(what, total=total)

    def describe(self, what: str) -> None:
        if self._task is not None:
            self._progress.update(self._task, description=what)

    def step(self, *_: object) -> None:
        if self._task is None:
            return
        if not self._shown:
            self._progress.start()
            self._shown = True
        self._progress.advance(self._task)

    def close(self) -> None:
        if self._shown:  # a bar never shown writes nothing (rich ends a non-terminal's bar with a newline)
            self._progress.stop()


@contextmanager
def progress_bar(what: str | None = None, total: int | None = None) -> Iterator[Bar]:
    """A bar whose first line is `what` (out of `total`); without `what`, it waits for the first phase."""
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns)
    bar = Bar(progress)
    try:
        if what is not None:
            bar.phase(what, total)
        yield bar
    finally:
        bar.close()


def print_json(value: Any) -> None:
    """--json: the value alone on stdout, for scripts."""
    print(json.dumps(value, indent=2))


STORED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def stored_name(value: str | None) -> str | None:
    """--name of an adapter or a dataset: it names files under .parity/, so never a path (`../x`, `a/b`)."""
    if value is not None and (not STORED_NAME.fullmatch(value) or ".." in value):
        raise typer.BadParameter(
            f"{value[:60]!r} is not a name: use letters, digits, '.', '_' and '-' (up to 100, starting with a letter or digit)"
        )
    return value


def budget_option(value: float | None) -> float | None:
    """--budget-usd: a finite amount above zero (nan and inf would make every comparison false)."""
    return _positive(value, "a budget", "a positive amount in US dollars, e.g. 0.50")


def hours_option(value: float | None) -> float | None:
    """--hours: a finite time above zero (nan would never stop the loop)."""
    return _positive(value, "a time limit", "a positive number of hours, e.g. 1.5")


def _positive(value: float | None, what: str, give: str) -> float | None:
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise typer.BadParameter(f"{value} is not {what}: give {give}")
    return value

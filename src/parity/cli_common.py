"""What every `parity` sub-command shares: the consoles and finding the workspace."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from parity.task import CONFIG_NAME, Workspace, load_workspace

console = Console(markup=False)  # stored text (hypotheses, answers, names) is data: nothing printed is read as markup
progress_console = Console(stderr=True, markup=False)  # progress never mixes with what --json prints

WorkspaceOpt = Annotated[
    Path | None, typer.Option("--workspace", "-w", help="Workspace folder (default: the current folder or a parent holding parity.toml).")
]


def find_workspace(path: Path | None) -> Workspace:
    if path is not None:
        return load_workspace(path)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return load_workspace(folder)
    return load_workspace(here)  # raises the "not a parity workspace" error for the current folder


@contextmanager
def progress_bar(what: str = "answering + judging"):
    """A bar on stderr (never mixed with what --json prints); the caller sets its total."""
    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=progress_console) as progress:
        yield progress, progress.add_task(what, total=None)


def budget_option(value: float | None) -> float | None:
    """--budget-usd: a finite amount above zero (nan and inf would make every comparison false)."""
    import math

    if value is not None and (not math.isfinite(value) or value <= 0):
        raise typer.BadParameter(f"{value} is not a budget: give a positive amount in US dollars, e.g. 0.50")
    return value

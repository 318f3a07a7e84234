"""Every progress bar parity shows. On a terminal it is Rich's bar; where stderr is a file, a pipe or a dumb
terminal (`nohup`, CI, a job scheduler) Rich draws nothing until the end, so a 30-minute drafting or training
run would log nothing at all: there the same bar writes one plain line per task every `every_s`."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import Task, TaskID

EVERY_S = 30.0  # short work stays silent off a terminal, as it always was; long work logs twice a minute

progress_console = Console(stderr=True, markup=False)  # progress never mixes with what --json prints


class Progress(RichProgress):
    def __init__(self, *columns: Any, every_s: float = EVERY_S, console: Console | None = None, **options: Any):
        super().__init__(*columns, console=console or progress_console, **options)
        self.every_s = every_s
        self._last_line = time.monotonic()
        self._logged = False

    def update(self, task_id: TaskID, **changes: Any) -> None:  # type: ignore[override]
        super().update(task_id, **changes)
        self._log_if_due()

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log_if_due()

    def stop(self) -> None:
        if self.disable:
            return
        if self.console.is_interactive or not self.live.transient:
            super().stop()
            return
        if self._logged:  # a transient bar that has logged ends its log with its last line
            self._log_lines()
        self.live.stop()  # not Rich's stop: off a terminal it ends a transient bar with a blank line

    def _log_if_due(self) -> None:
        if self.console.is_interactive or time.monotonic() - self._last_line < self.every_s:
            return
        self._log_lines()

    def _log_lines(self) -> None:
        self._last_line = time.monotonic()
        self._logged = True
        for task in self.tasks:
            if task.visible and task.started:
                self.console.print(progress_line(task), markup=False, highlight=False, soft_wrap=True)


def progress_line(task: Task) -> str:
    """`drafting with x: 50/200 · 3m12s elapsed · ~9m36s left · loss 2.137`"""
    done = f"{task.completed:.0f}/{task.total:.0f}" if task.total else f"{task.completed:.0f}"
    parts = [f"{task.description}: {done}", f"{duration(task.elapsed or 0.0)} elapsed"]
    if task.total and not task.finished and task.time_remaining is not None:
        parts.append(f"~{duration(task.time_remaining)} left")
    metrics = task.fields.get("metrics")
    if metrics:
        parts.append(str(metrics))
    return " · ".join(parts)


def duration(seconds: float) -> str:
    """45s, 3m12s, 1h02m."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"

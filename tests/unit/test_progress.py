"""Off a terminal, a long bar logs plain lines (a `nohup` log is not left silent); short work and a terminal are as Rich draws them."""

from __future__ import annotations

import io

from rich.console import Console

from parity.progress import Progress, duration


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=200, markup=False), out


def test_off_a_terminal_a_transient_bar_logs_each_due_step_and_its_end() -> None:
    console, out = _console(terminal=False)
    with Progress(console=console, transient=True, every_s=0.0) as progress:
        task = progress.add_task("drafting [4] per input", total=3)
        progress.advance(task)
        progress.update(task, advance=1, metrics="loss 2.137")
        progress.advance(task)
    lines = out.getvalue().splitlines()
    assert [line.split(" · ")[0] for line in lines] == [f"drafting [4] per input: {n}/3" for n in (1, 2, 3, 3)]
    assert "loss 2.137" in lines[1] and "left" not in lines[-1] and lines[-1].endswith("loss 2.137")


def test_work_shorter_than_the_interval_writes_nothing_off_a_terminal() -> None:
    console, out = _console(terminal=False)
    with Progress(console=console, transient=True, every_s=3600.0) as progress:
        task = progress.add_task("rendering", total=2)
        progress.advance(task, 2)
    assert out.getvalue() == ""


def test_a_terminal_gets_rich_bar_and_no_log_lines() -> None:
    console, out = _console(terminal=True)
    with Progress(console=console, transient=True, every_s=0.0) as progress:
        task = progress.add_task("training", total=2)
        progress.advance(task, 2)
    assert "training: " not in out.getvalue()


def test_durations_read_as_a_person_writes_them() -> None:
    assert [duration(s) for s in (0, 44.6, 192, 3720, -3)] == ["0s", "45s", "3m12s", "1h02m", "0s"]

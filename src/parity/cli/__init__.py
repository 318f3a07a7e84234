"""The `parity` command: one module per command group, each command parsing its options, calling one
function of the library and printing what parity.present makes of the result. Each command imports
the library inside its function, so `parity --help` loads none of it. Errors reach the user as one line
(`main`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
import typer
from sqlalchemy.exc import SQLAlchemyError

from parity.cli import calibrate, dashboard, init, loop, run, show, teach
from parity.cli.analyze import analyze_app
from parity.cli.export import export_app
from parity.cli.ruler import ruler_app
from parity.cli.teach import corpus_app
from parity.cli.train import pairs_app, train_app
from parity.errors import Interrupted, ParityError, latch_interrupts
from parity.io import one_line

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Specialize a small local model on one task and prove how close it got.")
for command in (
    init.init,
    teach.gold,
    run.run,
    show.show,
    show.compare,
    calibrate.calibrate,
    loop.loop,
    loop.program,
    dashboard.dashboard,
    dashboard.report,
):
    app.command()(command)
app.add_typer(ruler_app, name="ruler")
app.add_typer(export_app, name="export")
app.add_typer(train_app, name="train")
app.add_typer(pairs_app, name="pairs")
app.add_typer(analyze_app, name="analyze")
app.add_typer(corpus_app, name="corpus")


def _bundled(module: str, name: str) -> tuple[Any, ...]:
    """typer 0.2x bundles its own copy of click: its usage errors and aborts are not click's classes."""
    try:
        return (getattr(__import__(module, fromlist=[name]), name),)
    except (ImportError, AttributeError):
        return ()


_USAGE_ERRORS: tuple[type[click.ClickException], ...] = (
    click.exceptions.ClickException,
    *_bundled("typer._click.exceptions", "ClickException"),
)
_ABORTS: tuple[type[click.Abort], ...] = (click.exceptions.Abort, *_bundled("typer.exceptions", "Abort"))


def main() -> None:
    latch_interrupts()
    try:
        code = app(standalone_mode=False)
    except ParityError as exc:
        print(f"error: {exc.line()}", file=sys.stderr)  # one line, never wrapped
        sys.exit(2)
    except _ABORTS:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Interrupted as exc:
        print(f"interrupted: {exc}", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("interrupted; finished cases are recorded", file=sys.stderr)
        sys.exit(130)
    except _USAGE_ERRORS as exc:
        message = " ".join(str(exc.format_message()).split())  # one line, whatever click wrapped
        print(f"error: {message} — see parity --help", file=sys.stderr)
        sys.exit(2)
    except SQLAlchemyError as exc:
        print(
            f"error: the store failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}) — check the database, or report a bug",
            file=sys.stderr,
        )
        sys.exit(2)
    except OSError as exc:  # the file system or the network said no (a folder where a file belongs, a symlink loop, no permission)
        where = one_line(str(exc.filename))[:200] if exc.filename else "a file or connection"
        print(f"error: {where}: {one_line(exc.strerror or str(exc))} — fix that path or connection and run it again", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # a bug: one line, and the whole traceback in a file for the report
        log = _crash_log(exc)
        first = (str(exc).splitlines() or [""])[0][:200]
        print(f"error: unexpected {type(exc).__name__}: {first} — this is a bug in parity; the full traceback is in {log}", file=sys.stderr)
        sys.exit(1)
    if code == 130:  # typer turns a Ctrl-C outside an experiment into this exit code, silently
        print("interrupted", file=sys.stderr)
    if isinstance(code, int) and code:
        sys.exit(code)


def _crash_log(exc: BaseException) -> str:
    import tempfile
    import traceback
    from datetime import datetime

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(tempfile.gettempdir()) / "parity-crashes"
    try:
        folder.mkdir(exist_ok=True)
        path = folder / f"crash-{stamp}-{os.getpid()}.txt"
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return str(path)
    except OSError:
        return "(no log: the temporary folder is not writable)"

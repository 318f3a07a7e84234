"""The `parity` command line two ways: in a subprocess (`run_parity`: exit codes and stderr exactly as a
user sees them, for commands that run a model) and in-process (`invoke_parity`: typer's CliRunner over
parity's own entry point, for commands that run none: milliseconds instead of seconds)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from parity.cli import main


def run_parity(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "parity", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def flags(**options: object) -> list[str]:
    """Command-line options from keywords, underscores as dashes: flags(max_steps=2) == ["--max-steps", "2"]."""
    return [arg for name, value in options.items() for arg in ("--" + name.replace("_", "-"), str(value))]


def show_json(ws_dir: Path, experiment_id: int | None = None, env: dict[str, str] | None = None) -> Any:
    args = ["show", *([str(experiment_id)] if experiment_id else []), "--json"]
    result = invoke_parity(*args, cwd=ws_dir, env=env)  # runs no model: in-process, a second instead of a process
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Invoked:
    """What a run of the command left, named as subprocess.CompletedProcess names it."""

    returncode: int
    stdout: str
    stderr: str


def invoke_parity(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Invoked:
    """`parity ARGS` run in-process from `cwd`, through parity's own entry point (its one-line errors and
    exit codes) inside typer's CliRunner isolation (its captured streams and environment)."""
    saved = sys.argv
    with contextlib.chdir(cwd), CliRunner().isolation(env={"COLUMNS": "200", **(env or {})}) as (out, err, _):
        sys.argv = ["parity", *args]  # main() lets typer read its arguments from here
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        finally:
            sys.argv = saved
            sys.stdout.flush()
            sys.stderr.flush()
        return Invoked(code, out.getvalue().decode(), err.getvalue().decode())

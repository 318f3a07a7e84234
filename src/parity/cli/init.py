"""`parity init`: a new workspace from a bundled example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.cli.common import console

Directory = Annotated[Path, typer.Argument(help="Folder to create.")]
Example = Annotated[str, typer.Option("--example", help="Bundled example to start from: discovery (questions) or persona (free text).")]


def init(directory: Directory, example: Example = "discovery") -> None:
    """Write a workspace from a bundled example."""
    from parity.examples import write_example

    target = write_example(example, directory)
    console.print(f"Wrote the {example} workspace to {target}")
    console.print(f'Next: cd {directory} && parity run baseline --gate dev --hypothesis "stock model baseline"')

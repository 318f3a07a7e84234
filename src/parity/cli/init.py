"""`parity init`: a new workspace, blank for the user's own feature or from a bundled example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.cli.common import console
from parity.errors import ParityError

Directory = Annotated[Path, typer.Argument(help="Folder to create.")]
Example = Annotated[
    str | None,
    typer.Option("--example", help="Bundled example to start from: discovery (questions), persona (free text) or triage (JSON)."),
]
Task = Annotated[str | None, typer.Option("--task", help="What your feature does, in a sentence: writes a blank workspace for it.")]


def init(directory: Directory, example: Example = None, task: Task = None) -> None:
    """Write a blank workspace for your own feature (--task), or one of the bundled examples (--example)."""
    from parity.examples import write_example
    from parity.examples.blank import write_blank

    if task is not None and example is not None:
        raise ParityError("--task and --example are two different starts", "parity init", "give one of them")
    if task is not None:
        target = write_blank(directory, task)
        console.print(f"Wrote a blank workspace to {target}")
        console.print(
            f"Next: edit {directory}/task/schema.json and parity.toml, add cases to ruler/cases.jsonl (see ruler/README.md), then parity ruler lock"
        )
        return
    example = example or "discovery"
    target = write_example(example, directory)
    console.print(f"Wrote the {example} workspace to {target}")
    console.print(f'Next: cd {directory} && parity run baseline --gate dev --hypothesis "stock model baseline"')

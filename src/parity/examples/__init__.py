"""Bundled example workspaces, written out by `parity init --example NAME DIR`."""

from __future__ import annotations

import shutil
from importlib.resources import as_file, files
from pathlib import Path

from parity.errors import ParityError

EXAMPLES = ("discovery", "persona", "triage")


def write_example(name: str, target: Path) -> Path:
    if name not in EXAMPLES:
        raise ParityError(f"unknown example '{name}'", None, f"use one of: {', '.join(EXAMPLES)}")
    target = target.resolve()
    if target.exists() and any(target.iterdir()):
        raise ParityError("directory is not empty", str(target), "choose a new directory, or empty this one")
    source = files("parity.examples") / name
    # Copy into a sibling temp folder, then rename: a failed init leaves nothing half-written.
    staging = target.with_name(f".{target.name}.parity-init")
    shutil.rmtree(staging, ignore_errors=True)
    with as_file(source) as folder:
        shutil.copytree(folder, staging, ignore=shutil.ignore_patterns("__pycache__", ".parity"))
    if target.exists():
        target.rmdir()
    staging.rename(target)
    return target

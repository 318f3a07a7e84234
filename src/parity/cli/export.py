"""`parity export gguf|html`: an adapter as one GGUF file for llama.cpp, or the dashboard as static pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.cli.common import WorkspaceOpt, console, find_workspace
from parity.errors import ParityError
from parity.statuses import RunStatus

export_app = typer.Typer(no_args_is_help=True, help="Export an adapter as a merged GGUF file, or the dashboard as static pages.")

Name = Annotated[str, typer.Argument(help="Adapter to export.")]
Quant = Annotated[str, typer.Option("--quant", help="GGUF weight type: f16 or q8_0.")]
Out = Annotated[Path | None, typer.Option("--out", help="Output file (default .parity/exports/NAME-QUANT.gguf).")]
Folder = Annotated[Path, typer.Argument(help="Folder to write the pages into: new, empty, or an earlier export.")]


@export_app.command("gguf")
def gguf(name: Name, quant: Quant = "f16", out: Out = None, workspace: WorkspaceOpt = None) -> None:
    """Merge the adapter into its base and write a GGUF file for llama.cpp."""
    from parity.store import Store
    from parity.train.base import resolve_base
    from parity.train.export import export_gguf

    ws = find_workspace(workspace)
    store = Store.for_workspace(ws)
    row = store.adapter(name)
    if row is None or row.status != RunStatus.DONE:
        known = ", ".join(a.name for a in store.adapters() if a.status == RunStatus.DONE) or "none yet"
        raise ParityError(f"no trained adapter named '{name}'", "parity export gguf", f"trained adapters: {known}")
    target = out or ws.state_dir / "exports" / f"{name}-{quant}.gguf"
    target = target if target.is_absolute() else Path.cwd() / target
    with console.status(f"merging {name} into {row.base} and writing {quant} GGUF"):
        path = export_gguf(resolve_base(row.base, ws.root), Path(row.path), target, quant)
    summary = row.summary or {}
    store.update_adapter(name, summary={**summary, "exports": {**summary.get("exports", {}), quant: str(path)}})
    console.print(f"wrote {ws.shown(path)} ({path.stat().st_size / 1e6:.0f} MB)")
    console.print(f"use it in an agent file:  model: llamacpp:{path}")


@export_app.command("html")
def html(folder: Folder, workspace: WorkspaceOpt = None) -> None:
    """Write the dashboard as static pages into this folder."""
    from parity.store import Store
    from parity.web.pages import ruler_or_none
    from parity.web.static import export_html

    ws = find_workspace(workspace)
    written = export_html(ws, Store.for_workspace(ws), ruler_or_none(ws), folder.resolve())
    console.print(f"wrote {written} pages to {folder}; open {folder / 'index.html'}")

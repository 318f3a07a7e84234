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
Quant = Annotated[str, typer.Option("--quant", help="GGUF weight types, comma-separated: f16, q8_0, q6_k, q5_k_m, q4_k_m.")]
Out = Annotated[Path | None, typer.Option("--out", help="Output file, for one --quant (default .parity/exports/NAME-QUANT.gguf).")]
Folder = Annotated[Path, typer.Argument(help="Folder to write the pages into: new, empty, or an earlier export.")]


@export_app.command("gguf")
def gguf(name: Name, quant: Quant = "f16", out: Out = None, workspace: WorkspaceOpt = None) -> None:
    """Merge the adapter into its base and write a GGUF file for llama.cpp per rung of the quantization ladder."""
    from parity.store import Store
    from parity.train.base import resolve_base
    from parity.train.export import QUANTS, export_ladder

    quants = list(dict.fromkeys(q.strip() for q in quant.split(",") if q.strip()))
    unknown = [q for q in quants if q not in QUANTS]
    if not quants or unknown:
        raise ParityError(
            f"unknown quantization '{unknown[0] if unknown else quant}'", "--quant", f"use any of: {', '.join(QUANTS)} (comma-separated)"
        )
    if out is not None and len(quants) > 1:
        raise ParityError(
            "--out names one file, and --quant asks for several",
            "--out",
            "leave --out unset: each rung goes to .parity/exports/NAME-QUANT.gguf",
        )
    ws = find_workspace(workspace)
    store = Store.for_workspace(ws)
    row = store.adapter(name)
    if row is None or row.status != RunStatus.DONE:
        known = ", ".join(a.name for a in store.adapters() if a.status == RunStatus.DONE) or "none yet"
        raise ParityError(f"no trained adapter named '{name}'", "parity export gguf", f"trained adapters: {known}")
    targets = {q: out or ws.state_dir / "exports" / f"{name}-{q}.gguf" for q in quants}
    targets = {q: path if path.is_absolute() else Path.cwd() / path for q, path in targets.items()}
    identity = f"{name} (data {(row.dataset_fingerprint or '')[:12]}, base {row.base_identity})"
    with console.status(f"merging {name} into {row.base} and writing {', '.join(quants)} GGUF"):
        written = export_ladder(resolve_base(row.base, ws.root), Path(row.path), targets, identity)
    summary = row.summary or {}
    exports = {**summary.get("exports", {}), **{q: str(path) for q, (path, _) in written.items()}}
    store.update_adapter(name, summary={**summary, "exports": exports})
    for q, (path, fallbacks) in written.items():
        kept = f"; {fallbacks} tensors kept at another type (width not a multiple of 256)" if fallbacks else ""
        console.print(f"wrote {ws.shown(path)} ({q}, {path.stat().st_size / 1e6:.0f} MB{kept})")
    console.print(f"use one in an agent file:  model: llamacpp:{next(iter(written.values()))[0]}")


@export_app.command("html")
def html(folder: Folder, workspace: WorkspaceOpt = None) -> None:
    """Write the dashboard as static pages into this folder."""
    from parity.store import Store
    from parity.web.pages import ruler_or_none
    from parity.web.static import export_html

    ws = find_workspace(workspace)
    written = export_html(ws, Store.for_workspace(ws), ruler_or_none(ws), folder.resolve())
    console.print(f"wrote {written} pages to {folder}; open {folder / 'index.html'}")

"""`parity export gguf|html`: an adapter as one GGUF file for llama.cpp, or the dashboard as static pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.cli.common import WorkspaceOpt, console, find_workspace
from parity.errors import ParityError

export_app = typer.Typer(no_args_is_help=True, help="Export an adapter as a merged GGUF file, or the dashboard as static pages.")

Name = Annotated[str, typer.Argument(help="Adapter to export.")]
Quant = Annotated[
    str | None, typer.Option("--quant", help="GGUF weight types, comma-separated: f16, q8_0, q6_k, q5_k_m, q4_k_m (default f16).")
]
Lora = Annotated[bool, typer.Option("--lora", help="Also (or, without --quant, only) write the adapter alone as a GGUF LoRA.")]
Out = Annotated[Path | None, typer.Option("--out", help="Output file, for one --quant (default .parity/exports/NAME-QUANT.gguf).")]
Folder = Annotated[Path, typer.Argument(help="Folder to write the pages into: new, empty, or an earlier export.")]


@export_app.command("gguf")
def gguf(name: Name, quant: Quant = None, lora: Lora = False, out: Out = None, workspace: WorkspaceOpt = None) -> None:
    """Merge the adapter into its base and write a GGUF file for llama.cpp per rung of the quantization
    ladder; with --lora, the adapter alone as a GGUF LoRA that llama.cpp applies to its base."""
    from parity.store import Store
    from parity.train.export import QUANTS, export_recorded, trained_adapter

    quants = list(dict.fromkeys(q.strip() for q in (quant if quant is not None else "" if lora else "f16").split(",") if q.strip()))
    unknown = [q for q in quants if q not in QUANTS]
    if (not quants and not lora) or unknown:
        raise ParityError(
            f"unknown quantization '{unknown[0] if unknown else quant}'", "--quant", f"use any of: {', '.join(QUANTS)} (comma-separated)"
        )
    if out is not None and len(quants) + lora > 1:
        raise ParityError(
            "--out names one file, and several are asked for",
            "--out",
            "leave --out unset: each file goes to .parity/exports/NAME-QUANT.gguf (NAME-lora.gguf for --lora)",
        )
    ws = find_workspace(workspace)
    store = Store.for_workspace(ws)
    row = trained_adapter(store, name, "parity export gguf")
    exports = ws.state_dir / "exports"
    targets = {q: _absolute(out or exports / f"{name}-{q}.gguf") for q in quants}
    lora_out = _absolute(out or exports / f"{name}-lora.gguf") if lora else None
    asked = ", ".join([*quants, *(["LoRA"] if lora else [])])
    with console.status(f"writing {name} as GGUF ({asked})"):
        written = export_recorded(store, row, ws.root, targets, lora_out)
    for q, (path, fallbacks) in written.items():
        kept = f"; {fallbacks} tensors kept at another type (width not a multiple of 256)" if fallbacks else ""
        console.print(f"wrote {ws.shown(path)} ({q}, {path.stat().st_size / 1e6:.0f} MB{kept})")
    if quants:
        console.print(f"use one in an agent file:  model: llamacpp:{written[quants[0]][0]}")
    if lora_out is not None:
        from parity.models.spec import parse_spec

        base = parse_spec(row.base).target
        console.print(f"run the LoRA on its base:  model: llamacpp:{base}  with  adapter: {name}  (or adapter: {ws.shown(lora_out)})")


def _absolute(path: Path) -> Path:
    return path if path.is_absolute() else Path.cwd() / path


@export_app.command("html")
def html(folder: Folder, workspace: WorkspaceOpt = None) -> None:
    """Write the dashboard as static pages into this folder."""
    from parity.store import Store
    from parity.web.pages import ruler_or_none
    from parity.web.static import export_html

    ws = find_workspace(workspace)
    written = export_html(ws, Store.for_workspace(ws), ruler_or_none(ws), folder.resolve())
    console.print(f"wrote {written} pages to {folder}; open {folder / 'index.html'}")

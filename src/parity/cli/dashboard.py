"""`parity dashboard` and `parity report`: the store shown live in a browser, or written as a Markdown record."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from parity.cli.common import WorkspaceOpt, console, find_workspace

Port = Annotated[int, typer.Option("--port", help="Port to serve on.", min=1, max=65535)]
Host = Annotated[str, typer.Option("--host", help="Address to bind; the default serves this machine only.")]
Out = Annotated[Path | None, typer.Option("--out", help="Markdown file to write (default: print it).")]


def dashboard(port: Port = 8765, host: Host = "127.0.0.1", workspace: WorkspaceOpt = None) -> None:
    """Serve the dashboard: experiments, the running best, each experiment's cases, comparisons, training."""
    from parity.store import Store
    from parity.web.app import LOOPBACK, serve

    ws = find_workspace(workspace)
    store = Store.for_workspace(ws)
    console.print(f"parity dashboard for {ws.root.name}: http://{host}:{port}/  (Ctrl-C stops it)")
    if host not in LOOPBACK:
        print(
            f"warning: --host {host} serves every hypothesis, answer and gold in this store to anyone who can reach this machine on port {port}; the dashboard has no login",
            file=sys.stderr,
        )
    serve(ws, store, host, port)


def report(out: Out = None, workspace: WorkspaceOpt = None) -> None:
    """Write the training record (Markdown) from the store: progression, tables, training, datasets, cost, findings."""
    from parity.io import atomic_write_text
    from parity.report import training_record
    from parity.store import Store

    ws = find_workspace(workspace)
    text = training_record(ws, Store.for_workspace(ws))
    if out is None:
        print(text)
        return
    atomic_write_text(out, text)
    console.print(f"wrote {out}")

"""`parity ruler verify|lock|restore`: the frozen ruler, checked, re-locked, or rewritten from the store."""

from __future__ import annotations

from typing import Annotated

import typer

from parity.cli.common import WorkspaceOpt, console, find_workspace
from parity.errors import ParityError

ruler_app = typer.Typer(no_args_is_help=True, help="Check or re-lock the frozen ruler.")

Fingerprint = Annotated[
    str | None, typer.Option("--fingerprint", help="Which stored ruler (a prefix is enough); default: the one ruler/LOCK names.")
]


@ruler_app.command("verify")
def verify(workspace: WorkspaceOpt = None) -> None:
    """Check that the ruler still matches its LOCK."""
    from parity.ruler import load_ruler

    ruler = load_ruler(find_workspace(workspace))
    console.print(
        f"ruler OK: {len(ruler.cases)} cases, gates {', '.join(f'{k}={len(v)}' for k, v in ruler.gates.items())}, fingerprint {ruler.fingerprint}"
    )


@ruler_app.command("lock")
def lock(workspace: WorkspaceOpt = None) -> None:
    """Fingerprint the ruler as it is now. A new fingerprint is a new ruler: old results are never compared with it."""
    from parity.ruler import build_ruler, read_lock, write_lock

    ws = find_workspace(workspace)
    ruler = build_ruler(ws)
    previous = read_lock(ws) if ws.lock_path.exists() else None
    write_lock(ws, ruler)
    if previous and previous["fingerprint"] != ruler.fingerprint:
        console.print(
            f"re-locked: {previous['fingerprint'][:12]} → {ruler.fingerprint[:12]} (a new ruler; earlier results stay with the old one)"
        )
    else:
        console.print(f"locked: {ruler.fingerprint}")


@ruler_app.command("restore")
def restore(fingerprint: Fingerprint = None, workspace: WorkspaceOpt = None) -> None:
    """Rewrite parity.toml, ruler/cases.jsonl and ruler/LOCK from the copy the store kept when the ruler was first used."""
    from parity.ruler import load_ruler, restore_files
    from parity.store import Store
    from parity.task import load_workspace

    ws = find_workspace(workspace)
    store = Store.for_workspace(ws)
    wanted = fingerprint or _locked(ws)
    copy = store.find_ruler_copy(wanted)
    if copy is None:
        known = ", ".join(c.fingerprint[:12] for c in store.ruler_copies()) or "none (run an experiment first)"
        raise ParityError(
            f"the store has no copy of ruler {wanted[:12] if wanted else ''}".strip(), store.url, f"pass --fingerprint with one of: {known}"
        )
    changed = restore_files(ws, copy.files)
    ruler = load_ruler(load_workspace(ws.root))
    console.print(f"restored ruler {ruler.fingerprint[:12]}: " + (", ".join(changed) + " rewritten" if changed else "nothing had changed"))


def _locked(ws) -> str | None:
    """The fingerprint ruler/LOCK names; None when it is missing or damaged (the newest copy is restored)."""
    from parity.ruler import read_lock

    try:
        lock = read_lock(ws)
    except ParityError:
        return None
    return lock["fingerprint"] if lock else None

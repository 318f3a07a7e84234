"""`parity ruler verify|lock|restore`: the frozen ruler, checked, re-locked, or rewritten from the store."""

from __future__ import annotations

from typing import Annotated

import typer

from parity.cli.common import WorkspaceOpt, console, find_root, find_workspace
from parity.errors import ParityError

ruler_app = typer.Typer(no_args_is_help=True, help="Check or re-lock the frozen ruler.")

Fingerprint = Annotated[
    str | None, typer.Option("--fingerprint", help="Which stored ruler (a prefix is enough); default: the one ruler/LOCK names.")
]


@ruler_app.command("verify")
def verify(workspace: WorkspaceOpt = None) -> None:
    """Check that the ruler still matches its LOCK, and that the store saw that LOCK locked."""
    from parity.ruler import check_lock_record, load_ruler
    from parity.store import Store, store_exists, store_url

    ws = find_workspace(workspace)
    ruler = load_ruler(ws)
    url = store_url(ws)
    if store_exists(url):  # without a store there is no record to hold the LOCK against, and verify makes none
        check_lock_record(ws, Store(url), ruler.fingerprint)
    console.print(
        f"ruler OK: {len(ruler.cases)} cases, gates {', '.join(f'{k}={len(v)}' for k, v in ruler.gates.items())}, fingerprint {ruler.fingerprint}"
    )


@ruler_app.command("lock")
def lock(workspace: WorkspaceOpt = None) -> None:
    """Fingerprint the ruler as it is now. A new fingerprint is a new ruler: old results are never compared with it."""
    from parity.ruler import build_ruler, lock_ruler, read_lock
    from parity.store import Store

    ws = find_workspace(workspace)
    ruler = build_ruler(ws)
    previous = read_lock(ws) if ws.lock_path.exists() else None
    lock_ruler(ws, Store.for_workspace(ws), ruler)
    if previous and previous["fingerprint"] != ruler.fingerprint:
        console.print(
            f"re-locked: {previous['fingerprint'][:12]} → {ruler.fingerprint[:12]} (a new ruler; earlier results stay with the old one)"
        )
    else:
        console.print(f"locked: {ruler.fingerprint}")


@ruler_app.command("restore")
def restore(fingerprint: Fingerprint = None, workspace: WorkspaceOpt = None) -> None:
    """Put back the ruler (its tables of parity.toml, ruler/cases.jsonl, ruler/LOCK) from the copy the store kept
    when it was first used, once that copy is checked. Works when parity.toml no longer loads."""
    from parity.ruler import load_ruler, restore_files, restore_target
    from parity.statuses import LockHow
    from parity.store import Store, folder_store_url, safe_url
    from parity.task import CONFIG_NAME, STATE_DIR, load_workspace

    root = find_root(workspace)
    if not (root / CONFIG_NAME).is_file() and not (root / STATE_DIR).is_dir():
        load_workspace(root)  # neither a config nor a store: the "not a parity workspace" error
    store = Store(folder_store_url(root))
    wanted = fingerprint or restore_target(root, store)
    copy = store.find_ruler_copy(wanted)
    if copy is None:
        known = ", ".join(c.fingerprint[:12] for c in store.ruler_copies()) or "none (run an experiment first)"
        what = f"the store has no copy of ruler {wanted[:12] if wanted else ''}".strip()
        raise ParityError(what, safe_url(store.url), f"pass --fingerprint with one of: {known}")
    restored = restore_files(root, copy.fingerprint, copy.files)
    store.record_lock(copy.fingerprint, LockHow.RESTORED)  # a copy from before lock events were recorded is locked again
    done = ", ".join(restored.changed) + " rewritten" if restored.changed else "nothing had changed"
    console.print(f"restored ruler {copy.fingerprint[:12]}: {done}")
    if restored.whole:
        console.print(f"{CONFIG_NAME} did not parse, so the store's copy of it was written whole")
    if restored.hidden:
        console.print(f"the store keeps no credentials: put back the password or key of {', '.join(restored.hidden)} in {CONFIG_NAME}")
    try:
        load_ruler(load_workspace(root))
    except ParityError as exc:  # outside the ruler, e.g. [loop], which a restore leaves as it is
        console.print(f"the workspace still does not load: {exc.line()}")

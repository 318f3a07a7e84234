"""`parity ruler verify|lock|restore|check`: the frozen ruler, checked, re-locked, rewritten from the store, or examined."""

from __future__ import annotations

from typing import Annotated

import typer

from parity.cli.common import AsJson, WorkspaceOpt, console, find_root, find_workspace, print_json
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
    try:
        previous, damaged = read_lock(ws), False
    except ParityError:  # a damaged LOCK is what re-locking replaces
        previous, damaged = None, True
    lock_ruler(ws, Store.for_workspace(ws), ruler)
    if damaged:
        console.print(f"locked: {ruler.fingerprint} (in place of a damaged LOCK)")
    elif previous and previous["fingerprint"] != ruler.fingerprint:
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


@ruler_app.command("check")
def check(workspace: WorkspaceOpt = None, as_json: AsJson = False) -> None:
    """Is the ruler measuring what it claims? gold_alt independence per case and in aggregate,
    near-duplicate cases, corpus inputs that repeat a ruler input. Needs no model; changes nothing."""
    from rich.table import Table

    from parity.agent.corpus import Corpus
    from parity.analysis.ruler_check import COPY_SHARE, COPY_SIMILARITY, check_ruler
    from parity.cases import load_cases
    from parity.models.embedder import get_embedder, workspace_cache

    ws = find_workspace(workspace)
    cases = load_cases(ws)
    corpus = Corpus.load(ws.corpus_path, workspace_cache(ws.state_dir), ws.shown(ws.corpus_path), ws.task)
    result = check_ruler(cases, corpus, get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir)))
    if as_json:
        print_json(result.to_dict())
        return
    t = result.totals
    console.print(
        f"gold_alt independence: {t['with_gold_alt']} of {t['cases']} cases have one; {t['identical_units']} of {t['units']} gold units "
        f"repeated verbatim ({t['identical_share']:.1%}), word overlap {t['word_overlap']:.2f}, MiniLM similarity {t['similarity']:.3f}"
    )
    if result.copied:
        table = Table(
            "case",
            "identical",
            "word overlap",
            "similarity",
            title=f"gold_alt that copies its gold (≥ {COPY_SHARE:.0%} identical or similarity ≥ {COPY_SIMILARITY})",
        )
        for row in result.copied:
            table.add_row(row.case_id, f"{row.identical}/{row.units}", f"{row.word_overlap:.2f}", f"{row.similarity:.3f}")
        console.print(table)
    else:
        console.print("no gold_alt copies its gold")
    if result.no_alt:
        console.print(f"no gold_alt (no ceiling for them): {', '.join(result.no_alt)}")
    for a, b, s in result.duplicate_cases:
        console.print(f"near-duplicate cases: {a} and {b} (similarity {s:.3f})")
    for demo, case, s in result.corpus_overlap:
        console.print(f"corpus entry {demo} repeats ruler case {case} (similarity {s:.3f})")
    if not result.duplicate_cases and not result.corpus_overlap:
        console.print("no near-duplicate cases; no corpus input repeats a ruler input")

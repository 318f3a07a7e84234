"""The frozen ruler: held-out cases with gold answers, gates, and the fingerprint that locks them."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from parity.cases import Case, load_cases
from parity.errors import ParityError
from parity.io import atomic_write_text, canonical_json, parse_json, read_text
from parity.judge import check_rubric
from parity.judge.identity import judge_identity
from parity.models.secrets import REDACTED, scrub
from parity.statuses import LockHow
from parity.store import Store
from parity.task import CONFIG_NAME, Workspace, load_workspace


@dataclass(frozen=True)
class Ruler:
    cases: tuple[Case, ...]
    gates: dict[str, tuple[str, ...]]
    parts: dict[str, str]  # name -> sha256 of that part, so a mismatch can say what changed
    fingerprint: str

    def gate(self, name: str) -> list[Case]:
        if name not in self.gates:
            raise ParityError(f"unknown gate '{name}'", "parity.toml [gates]", f"use one of: {', '.join(self.gates)}")
        by_id = {case.id: case for case in self.cases}
        return [by_id[case_id] for case_id in self.gates[name]]


def _resolve_gates(ws: Workspace, cases: list[Case]) -> dict[str, tuple[str, ...]]:
    ids = [case.id for case in cases]
    gates: dict[str, tuple[str, ...]] = {}
    for name, members in ws.config.gates.items():
        if members == "all":
            gates[name] = tuple(ids)
            continue
        missing = [case_id for case_id in members if case_id not in ids]
        if missing:
            raise ParityError(f"gate '{name}' names unknown case(s) {missing}", "parity.toml [gates]", "use ids from ruler/cases.jsonl")
        gates[name] = tuple(members)
    return gates


def _sha(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def compute_parts(ws: Workspace, cases: list[Case], gates: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Hash each frozen part separately; the fingerprint is the hash of these hashes."""
    cfg = ws.config
    # Unset optional fields are left out, so adding one to parity never changes an existing fingerprint.
    parts = {
        "cases": _sha([case.to_dict() for case in cases]),
        "task": _sha(cfg.task.model_dump(exclude_none=True)),
        "rubric": _sha(cfg.rubric.model_dump(exclude_none=True)),
        "judge": _sha(judge_identity(ws)),
        "metric": _sha(cfg.metric.model_dump()),
        "gates": _sha({name: list(members) for name, members in gates.items()}),
    }
    if cfg.task.is_json:  # the schema file says what an answer is
        parts["schema"] = _sha(cfg.task.output_schema)
    if cfg.detectors:  # they decide which cases fail, so they are part of the ruler
        parts["detectors"] = _sha({name: spec.model_dump() for name, spec in cfg.detectors.items()})
    return parts


def fingerprint_of(parts: dict[str, str]) -> str:
    return _sha(parts)


def build_ruler(ws: Workspace) -> Ruler:
    """Load and validate the ruler without checking the LOCK (used by `ruler lock`)."""
    check_rubric(ws)
    cases = load_cases(ws)
    gates = _resolve_gates(ws, cases)
    parts = compute_parts(ws, cases, gates)
    return Ruler(tuple(cases), gates, parts, fingerprint_of(parts))


def read_lock(ws: Workspace) -> dict[str, Any] | None:
    if not ws.lock_path.is_file():
        return None
    shown = ws.shown(ws.lock_path)
    try:
        lock = parse_json(read_text(ws.lock_path, shown))
        if not isinstance(lock, dict) or not isinstance(lock.get("fingerprint"), str) or not isinstance(lock.get("parts", {}), dict):
            raise ValueError
    except ValueError:
        raise ParityError("LOCK is not a valid lock file", shown, "restore it from version control or run: parity ruler lock") from None
    return lock


def load_ruler(ws: Workspace) -> Ruler:
    """Load the ruler and refuse it unless it matches its LOCK exactly."""
    ruler = build_ruler(ws)
    lock = read_lock(ws)
    if lock is None:
        raise ParityError("the ruler is not locked (no ruler/LOCK)", ws.shown(ws.lock_path), "run: parity ruler lock")
    if lock["fingerprint"] != ruler.fingerprint:
        locked_parts = lock.get("parts", {})
        changed = [name for name, digest in ruler.parts.items() if locked_parts.get(name) != digest] or ["unknown part"]
        raise ParityError(
            f"the ruler changed since it was locked ({', '.join(changed)} differ; locked {lock['fingerprint'][:12]}, now {ruler.fingerprint[:12]})",
            ws.shown(ws.lock_path),
            "restore the original files, or run `parity ruler lock` to start a new ruler (its results are never compared with the old one's)",
        )
    return ruler


def changed_since(ws: Workspace, ruler: Ruler) -> str | None:
    """Why the ruler on disk is no longer `ruler` (the one a run began on), or None. Checked after every
    run, because an agent's code runs with the user's rights and could rewrite the ruler and its LOCK."""
    from parity.task import load_workspace

    try:
        now = build_ruler(load_workspace(ws.root))
        lock = read_lock(ws)
    except ParityError as exc:
        return f"the ruler's files no longer load ({exc.what})"
    if now.fingerprint != ruler.fingerprint:
        changed = [name for name, digest in now.parts.items() if ruler.parts.get(name) != digest]
        return f"the ruler changed during the run ({', '.join(changed) or 'its parts'} differ; it began on {ruler.fingerprint[:12]}, is now {now.fingerprint[:12]})"
    if lock is None or lock.get("fingerprint") != ruler.fingerprint:
        return "ruler/LOCK was rewritten during the run"
    return None


def write_lock(ws: Workspace, ruler: Ruler) -> None:
    lock = {"fingerprint": ruler.fingerprint, "parts": ruler.parts}
    atomic_write_text(ws.lock_path, json.dumps(lock, indent=2, sort_keys=True) + "\n")


# --- the store's own record of lock events -------------------------------------------------------
# Any code that runs with the user's rights can write ruler/LOCK (write_lock is a function like any other),
# so a LOCK that matches its files proves nothing alone: the store records each LOCK parity itself wrote.


def lock_ruler(ws: Workspace, store: Store, ruler: Ruler) -> None:
    """`parity ruler lock`: write the LOCK, then record it (the store is open first, so a LOCK it could not
    record is never written to be refused at the next run)."""
    write_lock(ws, ruler)
    store.record_lock(ruler.fingerprint, LockHow.LOCKED)


def check_lock_record(ws: Workspace, store: Store, fingerprint: str) -> bool:
    """Whether the store holds any lock event; a ParityError when it does and none is for `fingerprint`,
    the one ruler/LOCK names: that LOCK was written outside `parity ruler lock`."""
    events = store.lock_events()
    if events and fingerprint not in {event.fingerprint for event in events}:
        raise ParityError(
            f"tampering: the LOCK names ruler {fingerprint[:12]}, which parity ruler lock never locked in this store",
            ws.shown(ws.lock_path),
            "restore it with parity ruler restore, or run parity ruler lock to start a new ruler",
        )
    return bool(events)


def admit_lock(ws: Workspace, store: Store, fingerprint: str) -> None:
    """Before an experiment starts: refuse a LOCK this store never saw locked. A store with no lock event
    at all (a new workspace's, or one from a release before they were recorded) adopts the LOCK it finds:
    trust on first use."""
    if not check_lock_record(ws, store, fingerprint):
        store.record_lock(fingerprint, LockHow.ADOPTED)


# --- the store's copy of the ruler, and restoring from it ----------------------------------------

LOCK_FILE = "ruler/LOCK"
RULER_FILES = (CONFIG_NAME, "ruler/cases.jsonl", LOCK_FILE)
# The tables of parity.toml that compute_parts covers; the others ([store], [loop]) are the user's to change,
# and a restore keeps them as they are.
RULER_TABLES = ("task", "rubric", "judge", "metric", "gates", "detectors")
HIDDEN_PASSWORD = "***"  # what the store's copy has for a URL's password, as SQLAlchemy hides one
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:)[^\s/@'\"]+@")


def ruler_files(ws: Workspace) -> dict[str, str]:
    """The files that make the ruler, as text, for the store's copy: parity.toml without its credentials,
    the cases, the LOCK, and the files the config names in the workspace: the fitted judge's parameters
    ([judge] fitted) and the answers' JSON Schema ([task] schema)."""
    names = [*RULER_FILES, *_workspace_file(ws.config.judge.fitted), *_workspace_file(ws.config.task.schema_file)]
    files = {name: read_text(ws.root / name, name) for name in names if (ws.root / name).is_file()}
    if CONFIG_NAME in files:
        files[CONFIG_NAME] = without_credentials(files[CONFIG_NAME])
    return files


def without_credentials(text: str) -> str:
    """parity.toml as the store keeps it: URL passwords and key-like strings replaced, in values and comments
    alike; the ruler's own values stay as they are, since the fingerprint covers them."""
    cleaned = scrub(_URL_PASSWORD.sub(rf"\1{HIDDEN_PASSWORD}@", text))
    if cleaned == text:
        return text
    try:
        if _ruler_tables(cleaned) == _ruler_tables(text):
            return cleaned
        return with_ruler_tables(cleaned, text)  # a ruler value looked like a key: that table as it was
    except ParityError:
        pass
    try:
        return with_ruler_tables("", text)  # a bare value was replaced, so the TOML broke: the ruler's tables alone
    except ParityError:
        return cleaned  # `parity ruler restore` checks a copy before it writes anything


def with_ruler_tables(current: str, stored: str) -> str:
    """`current` parity.toml with the ruler's tables of `stored`; its other tables, comments and layout stay."""
    try:
        doc, source = tomlkit.parse(current), tomlkit.parse(stored)
        for name in RULER_TABLES:
            if name in source:
                doc[name] = source[name]
            elif name in doc:
                del doc[name]
        merged = tomlkit.dumps(doc)
        same = _ruler_tables(merged) == _ruler_tables(stored)
    except (TOMLKitError, ParityError, TypeError, ValueError, KeyError, RecursionError):
        same = False
    if not same:
        raise ParityError(
            "the ruler's tables cannot be put back into this parity.toml unchanged",
            CONFIG_NAME,
            "move parity.toml aside and run parity ruler restore again: the stored copy is then written whole",
        )
    return merged


def _ruler_tables(text: str) -> dict[str, Any]:
    try:
        raw = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError is a ValueError; so is a 5000-digit number
        raise ParityError(f"not TOML that parity can read ({type(exc).__name__})", CONFIG_NAME, "fix the syntax") from None
    return {name: value for name, value in raw.items() if name in RULER_TABLES}


def _workspace_file(name: str | None) -> list[str]:
    """A file the config names ([judge] fitted, [task] schema) as a workspace-relative name, when it is inside it."""
    if not name or PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
        return []
    return [PurePosixPath(name).as_posix()]


def locked_fingerprint(root: Path) -> str | None:
    """The fingerprint ruler/LOCK names, read without the workspace's config (it may not load); None when the
    LOCK is missing or damaged."""
    try:
        lock = parse_json((root / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fingerprint = lock.get("fingerprint") if isinstance(lock, dict) else None
    return fingerprint if isinstance(fingerprint, str) else None


def restore_target(root: Path, store: Store) -> str | None:
    """The ruler `parity ruler restore` puts back unless told which: the one ruler/LOCK names, or, when
    the store never saw that one locked (the LOCK was tampered with), the last one it did."""
    named = locked_fingerprint(root)
    events = store.lock_events()
    if events and named not in {event.fingerprint for event in events}:
        return events[-1].fingerprint
    return named


@dataclass(frozen=True)
class Restored:
    changed: list[str]  # the files rewritten
    whole: bool  # parity.toml did not parse (or was missing), so the stored one was written whole
    hidden: list[str]  # keys of that written parity.toml whose credentials the store does not keep


def restore_files(root: Path, fingerprint: str, files: dict[str, str]) -> Restored:
    """Rewrite the ruler's files in the workspace at `root` from the store's copy `files` of ruler
    `fingerprint`, writing nothing unless the copy rebuilds that very ruler. parity.toml gets back the
    ruler's tables only, and keeps the others, when it parses; when it does not, it is written whole."""
    check_copy(root, fingerprint, files)
    planned = dict(files)
    current = _text_of(root / CONFIG_NAME)
    whole = current is None or not _parses(current)
    if current is not None and not whole:
        planned[CONFIG_NAME] = with_ruler_tables(current, files[CONFIG_NAME])
    changed = [name for name, text in planned.items() if _text_of(root / name) != text]
    for name in changed:
        atomic_write_text(root / name, planned[name])
    whole = whole and CONFIG_NAME in changed
    return Restored(changed, whole, _hidden(files[CONFIG_NAME]) if whole else [])


def check_copy(root: Path, fingerprint: str, files: dict[str, str]) -> None:
    """Refuse a copy that does not rebuild ruler `fingerprint` (it was altered in the store): the copy is
    written to a temporary folder and its ruler built and checked against its LOCK there."""
    copy = f"the store's copy of ruler {fingerprint[:12]}"
    fix = "restore another copy (--fingerprint), or the files from version control"
    fitted = _workspace_file(_stored_value(files, "judge", "fitted"))
    odd = sorted(set(files) - {*RULER_FILES, *fitted, *_workspace_file(_stored_value(files, "task", "schema"))})
    if odd or CONFIG_NAME not in files:
        what = f"holds files parity never copies ({', '.join(odd)})" if odd else f"has no {CONFIG_NAME}"
        raise ParityError(f"{copy} {what}: it was altered, nothing was written", None, fix)
    with tempfile.TemporaryDirectory(prefix="parity-restore-") as folder:
        rebuilt = Path(folder)
        for name, text in files.items():
            atomic_write_text(rebuilt / name, text)
        for name in fitted:  # a copy saved before fitted files were copied: the workspace's own one
            if name not in files and (root / name).is_file():
                shutil.copyfile(root / name, rebuilt / name)
        try:
            ruler = load_ruler(load_workspace(rebuilt))
        except ParityError as exc:
            inside = f"{exc.where}: {exc.what}" if exc.where else exc.what
            raise ParityError(f"{copy} does not rebuild it ({inside}): it was altered, nothing was written", None, fix) from None
    if ruler.fingerprint != fingerprint:
        raise ParityError(f"{copy} rebuilds ruler {ruler.fingerprint[:12]} instead: it was altered, nothing was written", None, fix)


def _stored_value(files: dict[str, str], table: str, key: str) -> str | None:
    """A string the stored parity.toml sets in [table] key, if any."""
    try:
        section = tomllib.loads(files.get(CONFIG_NAME, "")).get(table)
    except (ValueError, RecursionError):
        return None
    value = section.get(key) if isinstance(section, dict) else None
    return value if isinstance(value, str) else None


def _text_of(path: Path) -> str | None:
    """A file's text; None when it is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except UnicodeDecodeError:
        return None


def _parses(text: str) -> bool:
    try:
        _ruler_tables(text)
    except ParityError:
        return False
    return True


def _hidden(text: str) -> list[str]:
    """The dotted keys of a parity.toml whose values hold a password or key the store's copy left out."""

    def walk(value: Any, key: str) -> Iterator[str]:
        if isinstance(value, dict):
            for name, inner in value.items():
                yield from walk(inner, f"{key}.{name}" if key else name)
        elif isinstance(value, list):
            for inner in value:
                yield from walk(inner, key)
        elif isinstance(value, str) and (REDACTED in value or f":{HIDDEN_PASSWORD}@" in value):
            yield key

    return sorted(set(walk(tomllib.loads(text), "")))

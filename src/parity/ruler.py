"""The frozen ruler: held-out cases with gold answers, gates, and the fingerprint that locks them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from parity.cases import Case, load_cases
from parity.errors import ParityError
from parity.io import atomic_write_text, canonical_json, read_text
from parity.judge.identity import judge_identity
from parity.task import Workspace


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
        "cases": _sha([_case_record(case) for case in cases]),
        "task": _sha(cfg.task.model_dump(exclude_none=True)),
        "rubric": _sha(cfg.rubric.model_dump(exclude_none=True)),
        "judge": _sha(judge_identity(ws)),
        "metric": _sha(cfg.metric.model_dump()),
        "gates": _sha({name: list(members) for name, members in gates.items()}),
    }
    if cfg.detectors:  # they decide which cases fail, so they are part of the ruler
        parts["detectors"] = _sha({name: spec.model_dump() for name, spec in cfg.detectors.items()})
    return parts


def _case_record(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "category": case.category,
        "difficulty": case.difficulty,
        "input": case.input,
        "gold": case.gold.to_dict(),
        "gold_alt": case.gold_alt.to_dict() if case.gold_alt else None,
    }


def fingerprint_of(parts: dict[str, str]) -> str:
    return _sha(parts)


def build_ruler(ws: Workspace) -> Ruler:
    """Load and validate the ruler without checking the LOCK (used by `ruler lock`)."""
    cases = load_cases(ws)
    gates = _resolve_gates(ws, cases)
    parts = compute_parts(ws, cases, gates)
    return Ruler(tuple(cases), gates, parts, fingerprint_of(parts))


def read_lock(ws: Workspace) -> dict[str, Any] | None:
    if not ws.lock_path.is_file():
        return None
    shown = ws.shown(ws.lock_path)
    try:
        lock = json.loads(read_text(ws.lock_path, shown))
        if not isinstance(lock, dict) or not isinstance(lock.get("fingerprint"), str):
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


RULER_FILES = ("parity.toml", "ruler/cases.jsonl", "ruler/LOCK")


def ruler_files(ws: Workspace) -> dict[str, str]:
    """The files that make the ruler, as text, for the store's copy."""
    return {name: read_text(ws.root / name, name) for name in RULER_FILES if (ws.root / name).is_file()}


def restore_files(ws: Workspace, files: dict[str, str]) -> list[str]:
    """Rewrite the ruler's files from a stored copy; returns the files that changed."""
    changed = []
    for name, text in files.items():
        path = ws.root / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write_text(path, text)
            changed.append(name)
    return changed

"""The store's own record of lock events against ruler/LOCK: a LOCK that `parity ruler lock` wrote runs; one
written any other way (a script, or an agent calling write_lock) is refused as tampering, with nothing
stored; a store with no record yet adopts the LOCK it finds. In-process, with a scripted model and judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.ruler import build_ruler
from parity.store import Store
from parity.task import load_workspace
from tests.helpers.cli import Invoked, invoke_parity
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, by_word, strong_when_hot, use_model


@pytest.fixture
def scripted(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_model(monkeypatch, ScriptedModel(strong_when_hot))
    rubric = load_workspace(ws_dir).config.rubric
    monkeypatch.setattr("parity.judge.make_judge", lambda ws, **_: ScriptedJudge(rubric, by_word))
    return ws_dir


def _ok(*args: str, cwd: Path) -> Invoked:
    result = invoke_parity(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result


def _store(ws_dir: Path) -> Store:
    return Store(f"sqlite:///{ws_dir / '.parity' / 'parity.db'}")


def _events(ws_dir: Path) -> list[tuple[str, str]]:
    return [(event.fingerprint, event.how) for event in _store(ws_dir).lock_events()]


def _fingerprint(ws_dir: Path) -> str:
    return json.loads((ws_dir / "ruler" / "LOCK").read_text())["fingerprint"]


def _rewrite_by_hand(ws_dir: Path) -> str:
    """Change a gold question and write a LOCK that matches, as a script would: valid JSON, another fingerprint."""
    cases = ws_dir / "ruler" / "cases.jsonl"
    lines = [json.loads(line) for line in cases.read_text().splitlines() if line.strip()]
    lines[0]["gold"]["questions"][0] = "What is your goal?"
    cases.write_text("".join(json.dumps(case) + "\n" for case in lines))
    ruler = build_ruler(load_workspace(ws_dir))
    (ws_dir / "ruler" / "LOCK").write_text(json.dumps({"fingerprint": ruler.fingerprint, "parts": ruler.parts}))
    return ruler.fingerprint


def _tampering(fingerprint: str) -> str:
    return (
        f"error: ruler/LOCK: tampering: the LOCK names ruler {fingerprint[:12]}, which parity ruler lock never locked in this store"
        " — restore it with parity ruler restore, or run parity ruler lock to start a new ruler"
    )


def test_a_ruler_locked_by_parity_ruler_lock_runs_and_relocking_it_is_fine(scripted: Path) -> None:
    fingerprint = _fingerprint(scripted)
    _ok("ruler", "lock", cwd=scripted)
    _ok("ruler", "lock", cwd=scripted)  # the same fingerprint again
    assert _events(scripted) == [(fingerprint, "ruler lock"), (fingerprint, "ruler lock")]
    _ok("run", "baseline", "--gate", "dev", cwd=scripted)
    assert [e.ruler_fingerprint for e in _store(scripted).experiments()] == [fingerprint]
    assert _events(scripted) == [(fingerprint, "ruler lock")] * 2  # a recorded LOCK is not adopted again
    _ok("ruler", "verify", cwd=scripted)


@pytest.mark.parametrize("fix", ["restore", "lock"])
def test_a_lock_rewritten_by_hand_is_refused_as_tampering_and_nothing_is_stored(scripted: Path, fix: str) -> None:
    locked = _fingerprint(scripted)
    _ok("ruler", "lock", cwd=scripted)
    _ok("run", "baseline", "--gate", "dev", cwd=scripted)  # the store keeps its copy of the ruler
    database = scripted / ".parity" / "parity.db"
    stored = database.read_bytes()

    forged = _rewrite_by_hand(scripted)
    assert forged != locked
    refused = invoke_parity("run", "baseline", "--gate", "dev", cwd=scripted)
    assert (refused.returncode, refused.stderr.strip(), refused.stdout) == (2, _tampering(forged), "")
    assert database.read_bytes() == stored  # no experiment, no ruler copy, no adoption
    verified = invoke_parity("ruler", "verify", cwd=scripted)
    assert (verified.returncode, verified.stderr.strip()) == (2, _tampering(forged))

    # Either way out the message names works: restore the ruler last locked, or lock the new one.
    _ok("ruler", fix, cwd=scripted)
    assert _fingerprint(scripted) == (locked if fix == "restore" else forged)
    _ok("ruler", "verify", cwd=scripted)
    _ok("run", "baseline", "--gate", "dev", cwd=scripted)
    assert len(_store(scripted).experiments()) == 2


def test_a_store_with_no_lock_event_adopts_the_lock_at_its_first_run(scripted: Path) -> None:
    """A workspace from `parity init` (its LOCK shipped with the example), or a store from an earlier release."""
    fingerprint = _fingerprint(scripted)
    _ok("ruler", "verify", cwd=scripted)
    assert not (scripted / ".parity").exists()  # verify makes no store
    _ok("run", "baseline", "--gate", "dev", cwd=scripted)
    _ok("run", "baseline", "--gate", "dev", cwd=scripted)
    assert _events(scripted) == [(fingerprint, "adopted")]

    forged = _rewrite_by_hand(scripted)  # from now on the adopted LOCK is the record
    refused = invoke_parity("run", "baseline", "--gate", "dev", cwd=scripted)
    assert (refused.returncode, refused.stderr.strip()) == (2, _tampering(forged))

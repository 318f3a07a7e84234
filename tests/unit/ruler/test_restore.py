"""`parity ruler restore`: from a broken parity.toml, the ruler's tables only, a stored copy checked before
anything is written, and a copy that keeps no credentials."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tomllib
from pathlib import Path

import pytest

from parity.examples import write_example
from parity.ruler import RULER_TABLES, build_ruler, ruler_files, write_lock
from parity.store import Store
from parity.task import load_workspace
from tests.helpers.cli import invoke_parity

SECRET = "s3cretpw-9f8e7d"
PG_URL = f"postgresql+psycopg://parity:{SECRET}@db.example.org:5432/parity"


def _keep_copy(ws_dir: Path) -> tuple[str, dict[str, str]]:
    """Save the store's copy of the ruler as an experiment's start does; returns its fingerprint and files."""
    ws = load_workspace(ws_dir)
    ruler, files = build_ruler(ws), ruler_files(ws)
    Store.for_workspace(ws).save_ruler_copy(ruler.fingerprint, files)
    return ruler.fingerprint, files


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _toml(ws_dir: Path) -> dict:
    return tomllib.loads((ws_dir / "parity.toml").read_text())


def _verified(ws_dir: Path, env: dict[str, str] | None = None) -> None:
    verified = invoke_parity("ruler", "verify", cwd=ws_dir, env=env)
    assert verified.returncode == 0, verified.stderr


def test_ruler_tables_are_the_parts_the_fingerprint_covers(tmp_path: Path) -> None:
    ws = load_workspace(write_example("persona", tmp_path / "persona"))  # the example with [detectors]
    assert set(build_ruler(ws).parts) - {"cases"} == set(RULER_TABLES)


def _break(config: Path, old: str, new: str) -> None:
    config.write_text(config.read_text().replace(old, new, 1))


@pytest.mark.parametrize(
    ("breakage", "whole"),
    [
        pytest.param(lambda config: _break(config, "\n[rubric]\n", "\n[rubric\n"), True, id="not TOML"),
        pytest.param(lambda config: config.unlink(), True, id="deleted"),
        pytest.param(lambda config: config.write_text("x = " + "[" * 5000 + "]" * 5000), True, id="nested too deeply"),
        pytest.param(lambda config: _break(config, "weight = 0.2", "weight = -1"), False, id="invalid rubric"),
    ],
)
def test_a_broken_parity_toml_is_restored(ws_dir: Path, breakage, whole: bool) -> None:
    _, stored = _keep_copy(ws_dir)
    config = ws_dir / "parity.toml"
    original = config.read_text()
    breakage(config)
    restored = invoke_parity("ruler", "restore", cwd=ws_dir)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines()[0].endswith(": parity.toml rewritten"), restored.stdout
    assert ("parity.toml did not parse" in restored.stdout) == whole and "still does not load" not in restored.stdout
    # Written whole, it is the store's copy (the example's commented-out URL without its password); else the file as it was.
    assert config.read_text() == (stored["parity.toml"] if whole else original)
    _verified(ws_dir)


def test_a_config_that_parses_opens_the_store_its_store_table_names(ws_dir: Path, tmp_path: Path) -> None:
    config = ws_dir / "parity.toml"
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    config.write_text(config.read_text().replace("[store]\n", f'[store]\nurl = "{elsewhere}"\n', 1))
    _keep_copy(ws_dir)
    config.write_text(config.read_text().replace("scale_max = 5", "scale_max = 0", 1))  # invalid, still TOML
    restored = invoke_parity("ruler", "restore", cwd=ws_dir)
    assert restored.returncode == 0, restored.stderr
    assert not (ws_dir / ".parity" / "parity.db").exists()
    _verified(ws_dir)


def test_only_the_ruler_tables_are_restored(ws_dir: Path) -> None:
    _keep_copy(ws_dir)
    config = ws_dir / "parity.toml"
    locked = _toml(ws_dir)
    edited = config.read_text().replace("plateau = 4 ", "plateau = 7 ", 1).replace("weight = 0.3", "weight = 0.5", 1)
    edited = edited.replace("[loop]\n", "[loop]\n# my own note on the loop\n", 1)
    config.write_text(edited)
    restored = invoke_parity("ruler", "restore", cwd=ws_dir)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines()[0].endswith(": parity.toml rewritten")
    now = _toml(ws_dir)
    assert now["rubric"] == locked["rubric"]  # the [rubric] edit is reverted
    assert now["loop"]["plateau"] == 7 and "# my own note on the loop\n" in config.read_text()  # the [loop] edit survives
    assert {name: now[name] for name in RULER_TABLES if name in now} == {name: locked[name] for name in RULER_TABLES if name in locked}
    _verified(ws_dir)


def _tamper_cases(ws_dir: Path, fingerprint: str, files: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**files, "ruler/cases.jsonl": files["ruler/cases.jsonl"].replace("Paris", "Rome", 1)}


def _tamper_cases_and_lock(ws_dir: Path, fingerprint: str, files: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Cases and LOCK changed together, so the copy is a ruler of its own, under the old fingerprint."""
    forged = shutil.copytree(ws_dir, tmp_path / "forged", ignore=shutil.ignore_patterns(".parity"))
    cases = forged / "ruler" / "cases.jsonl"
    cases.write_text(cases.read_text().replace("Paris", "Rome", 1))
    ws = load_workspace(forged)
    write_lock(ws, build_ruler(ws))
    return {**files, "ruler/cases.jsonl": cases.read_text(), "ruler/LOCK": (forged / "ruler" / "LOCK").read_text()}


def _tamper_path(ws_dir: Path, fingerprint: str, files: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**files, "../outside.txt": "written outside the workspace"}


@pytest.mark.parametrize("tamper", [_tamper_cases, _tamper_cases_and_lock, _tamper_path], ids=["cases", "cases and LOCK", "a path outside"])
def test_a_tampered_copy_is_refused_and_nothing_is_written(ws_dir: Path, tmp_path: Path, tamper) -> None:
    fingerprint, _ = _keep_copy(ws_dir)
    db = ws_dir / ".parity" / "parity.db"
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT files FROM ruler_copies WHERE fingerprint = ?", (fingerprint,)).fetchone()
        forged = tamper(ws_dir, fingerprint, json.loads(stored), tmp_path)
        conn.execute("UPDATE ruler_copies SET files = ? WHERE fingerprint = ?", (json.dumps(forged), fingerprint))
    conn.close()
    cases = ws_dir / "ruler" / "cases.jsonl"
    cases.write_text(cases.read_text().replace("Paris", "Lyon", 1))  # the ruler on disk was changed: a restore is due
    before = _files(tmp_path)
    refused = invoke_parity("ruler", "restore", cwd=ws_dir)
    assert _files(tmp_path) == before  # every byte of every file, the workspace and around it
    assert refused.returncode == 2, refused.stdout
    assert refused.stderr.count("\n") == 1 and f"the store's copy of ruler {fingerprint[:12]}" in refused.stderr, refused.stderr


def test_the_stored_copy_keeps_no_password(ws_dir: Path) -> None:
    config = ws_dir / "parity.toml"
    text = config.read_text().replace("[store]\n", f'[store]\nurl = "{PG_URL}"\n', 1)
    config.write_text(text + "# an old key: sk-ant-api03-abcdefghijklmnop\n")
    stored = ruler_files(load_workspace(ws_dir))["parity.toml"]
    assert SECRET not in stored and "abcdefghijklmnop" not in stored
    assert tomllib.loads(stored)["store"]["url"] == PG_URL.replace(SECRET, "***")
    assert "postgresql+psycopg://user:***@host/db" in stored  # the example's comment, its password hidden too
    locked = tomllib.loads(text)
    assert {name: tomllib.loads(stored)[name] for name in RULER_TABLES if name in locked} == {
        name: locked[name] for name in RULER_TABLES if name in locked
    }


def test_a_copy_written_whole_says_the_password_must_be_re_entered(ws_dir: Path, tmp_path: Path, monkeypatch) -> None:
    store = {"PARITY_DB": f"sqlite:///{tmp_path / 'store.db'}"}  # the store in use, while [store] names a server
    monkeypatch.setenv("PARITY_DB", store["PARITY_DB"])
    config = ws_dir / "parity.toml"
    config.write_text(config.read_text().replace("[store]\n", f'[store]\nurl = "{PG_URL}"\n', 1))
    _keep_copy(ws_dir)
    config.write_text("[task\n")
    restored = invoke_parity("ruler", "restore", cwd=ws_dir, env=store)
    assert restored.returncode == 0, restored.stderr
    assert "parity.toml did not parse" in restored.stdout
    assert "the store keeps no credentials: put back the password or key of store.url in parity.toml" in restored.stdout
    assert SECRET not in config.read_text() and _toml(ws_dir)["store"]["url"] == PG_URL.replace(SECRET, "***")
    _verified(ws_dir, env=store)

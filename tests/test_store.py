"""The store on real SQLite (and on Postgres when PARITY_TEST_PG_URL points at one)."""

from __future__ import annotations

import os

import pytest

from parity.store import CaseRow, CeilingRow, Store, _safe


def _fill(store: Store) -> int:
    exp = store.create_experiment(ruler_fingerprint="f" * 64, gate="dev", agent_name="baseline", agent_config={"model": "x"}, model_identity="m", hypothesis="h")
    for i in range(3):
        store.record_case(CaseRow(experiment_id=exp, case_id=f"c{i}", ruler_fingerprint="f" * 64, answer={"title": "t", "questions": []}, judge="reference", judgment_status="scored", scores={"a": 3.0}, overall=3.0, verdict="tie", notes={}, quality=0.5 + i / 10))
    store.update_experiment(exp, status="done", verdict="kept", quality=0.6)
    return exp


def _exercise(store: Store) -> None:
    exp = _fill(store)
    assert [r.case_id for r in store.case_rows(exp)] == ["c0", "c1", "c2"]
    assert store.running_best("f" * 64, "dev").id == exp
    assert store.running_best("0" * 64, "dev") is None  # other rulers are never compared
    store.save_ceiling(CeilingRow(ruler_fingerprint="f" * 64, gate="dev", quality=0.7, ci_low=0.6, ci_high=0.8, summary={}))
    assert store.ceiling("f" * 64, "dev").quality == 0.7
    assert store.experiment(exp).agent_config == {"model": "x"}


def test_sqlite_store_round_trip(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'sub' / 'parity.db'}")
    _exercise(store)
    # A second process opening the same file sees the same experiments.
    assert len(Store(store.url).experiments()) == 1


def test_duplicate_case_in_one_experiment_is_refused(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    exp = _fill(store)
    with pytest.raises(Exception):
        store.record_case(CaseRow(experiment_id=exp, case_id="c0", ruler_fingerprint="f" * 64, judge="reference", judgment_status="scored"))
    assert len(store.case_rows(exp)) == 3


@pytest.mark.skipif(not os.environ.get("PARITY_TEST_PG_URL"), reason="set PARITY_TEST_PG_URL to a Postgres database to run")
def test_postgres_store_round_trip() -> None:
    from sqlalchemy import text

    store = Store(os.environ["PARITY_TEST_PG_URL"])
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM case_results; DELETE FROM ceilings; DELETE FROM experiments;"))
    _exercise(store)


def test_urls_in_messages_hide_passwords() -> None:
    assert _safe("postgresql+psycopg://me:secret@db/parity") == "postgresql+psycopg://me:***@db/parity"
    assert _safe("sqlite:///x.db") == "sqlite:///x.db"

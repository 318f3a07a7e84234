"""Revision 0004, the store's record of lock events, on SQLite and, when PARITY_TEST_PG_URL points at a
server (.ci/run starts one), on PostgreSQL: a store at 0003 gains an empty record and keeps its rows."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from parity.statuses import LockHow
from parity.store import Base, Store, sqlite_file
from parity.store.schema import HEAD, MIGRATIONS, VERSION_TABLE, revision

FP = "a" * 64


def _migrate(url: str, to: str, down: bool = False) -> None:
    """Run the store's revisions up (or down) to `to`, as parity.store.schema runs them: on a held connection."""
    if (database := sqlite_file(url)) is not None:
        database.parent.mkdir(exist_ok=True)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(config, to)
            conn.commit()
    finally:
        engine.dispose()


def _schema(url: str) -> tuple[str | None, set[str], list]:
    """The revision, the tables, and what autogenerate would change to match store/rows.py."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}), Base.metadata)
            return revision(conn), set(inspect(conn).get_table_names()), drift
    finally:
        engine.dispose()


def test_a_store_at_0003_upgrades_to_an_empty_record_of_lock_events_keeping_its_rows(url: str) -> None:
    _migrate(url, "0003")
    before, tables, _ = _schema(url)
    assert before == "0003" and "lock_events" not in tables and "experiments" in tables

    # A store an earlier release used: it holds an experiment, and a ruler copy, but no lock event.
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ruler_copies (fingerprint, created_at, files) VALUES ('" + FP + '\', CURRENT_TIMESTAMP, \'{"ruler/LOCK": "l"}\')'
        )
    engine.dispose()

    store = Store(url)
    after, tables, drift = _schema(url)
    assert (after, drift) == (HEAD, []) and HEAD == "0004" and "lock_events" in tables
    assert store.lock_events() == []  # so its next run adopts the LOCK it finds (trust on first use)
    assert store.ruler_copy(FP).files == {"ruler/LOCK": "l"}

    store.record_lock(FP, LockHow.LOCKED)
    store.record_lock(FP, LockHow.ADOPTED)
    assert [(e.fingerprint, e.how, e.created_at is not None) for e in store.lock_events()] == [
        (FP, "ruler lock", True),
        (FP, "adopted", True),
    ]


def test_revision_0004_downgrades_to_0003(url: str) -> None:
    Store(url)
    _migrate(url, "0003", down=True)
    at, tables, _ = _schema(url)
    assert at == "0003" and "lock_events" not in tables and "ruler_copies" in tables

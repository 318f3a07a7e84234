"""The store's schema, kept by Alembic (the revisions are in store/migrations/versions).

A new store is built by running the migrations; a store from before them (no version table) is
adopted at the baseline, stamped, and upgraded; a store already at head costs one query, no lock
and no Alembic import. Loop workers open one store together: the first to find it behind head takes
the schema lock and migrates inside it; the others wait for the lock and then find it at head."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from parity.errors import ParityError

# Not Alembic's default alembic_version: the loop's Optuna study shares the database, and keeps its own there.
VERSION_TABLE = "parity_schema_version"
HEAD = "0004"  # the newest revision in migrations/versions (a test keeps the two equal)
BASELINE = "0001"  # the schema parity had before it had migrations
MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x706172697479  # "parity" in ASCII, the advisory lock's key


def upgrade_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        if revision(conn) == HEAD:
            return
    with engine.connect() as conn:
        _lock_schema(conn)
        _migrate(conn)
        conn.commit()


def revision(conn: Connection) -> str | None:
    """The revision the schema is at; None for a store without migrations (a new one, or one from before them)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def _lock_schema(conn: Connection) -> None:
    """Until this connection commits, no other process reads the schema's revision or changes it."""
    if conn.dialect.name == "sqlite":
        # The database's write lock, in a transaction SQLite's DDL joins; others wait (the 60 s busy timeout).
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    # Elsewhere no lock: there, workers must not be the first to open a new store at the same moment.


def _migrate(conn: Connection) -> None:
    # Alembic (and the baseline, which uses it) is imported only when a schema changes: most opens find it at head.
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from parity.store.migrations import baseline

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = conn
    current = revision(conn)
    if current is not None and current not in {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}:
        raise ParityError(
            f"the store's schema is at revision {current}, which this parity does not know",
            conn.engine.url.render_as_string(hide_password=True),
            "a newer parity wrote this store: upgrade parity to open it",
        )
    if current is None and set(inspect(conn).get_table_names()) & set(baseline.metadata.tables):
        baseline.adopt(conn)
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")

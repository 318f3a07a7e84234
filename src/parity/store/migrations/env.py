"""Alembic's entry point. parity.store.schema runs the migrations on the connection it holds the
schema lock on (config.attributes["connection"]); the alembic command line (say, `alembic revision
--autogenerate` while writing a new revision) connects to its own sqlalchemy.url."""

from alembic import context
from sqlalchemy import Connection, create_engine

from parity.store.rows import Base
from parity.store.schema import VERSION_TABLE


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


held = context.config.attributes.get("connection")
if held is not None:
    _run(held)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url") or "").connect() as own:
        _run(own)

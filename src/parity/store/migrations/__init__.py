"""The store's Alembic migrations: env.py, one revision per schema change in versions/, and the frozen
baseline that stores from before the migrations are adopted at (parity.store.schema runs them).

To change the schema: edit store/rows.py, add versions/vNNNN_what.py whose down_revision is the
newest one, and set schema.HEAD to it. tests/unit/store fails while a new store's tables differ
from rows.py, or a store from before the migrations does not upgrade with its rows intact."""

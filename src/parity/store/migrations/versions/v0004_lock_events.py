"""The store's own record of lock events: each `parity ruler lock`, and the LOCK a store's first run
adopted. A store from before this revision has none, so its next run adopts the LOCK it finds.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lock_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("how", sa.String(16), nullable=False),
    )
    op.create_index("ix_lock_events_fingerprint", "lock_events", ["fingerprint"])


def downgrade() -> None:
    op.drop_index("ix_lock_events_fingerprint", "lock_events")
    op.drop_table("lock_events")

"""The baseline: every table as parity made them before it had migrations.

Revision ID: 0001
Revises:
"""

from alembic import op

from parity.store.migrations.baseline import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())

"""Why a case went unscored and which detector failed it, as columns of their own.

Until this revision both were read back out of the judgment's reason ("truncated: hit 512 tokens",
"critical: hedging"); the cases stored before it get them from there, once, so they count as before.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UNSCORED_KINDS = ("parse", "truncated", "refused", "error")  # UnscoredKind's values when this was written
CRITICAL = "critical:"  # the reason's prefix a detector wrote

cases = sa.table(
    "case_results",
    sa.column("judgment_status", sa.String),
    sa.column("reason", sa.Text),
    sa.column("unscored", sa.String),
    sa.column("critical", sa.String),
)


def upgrade() -> None:
    op.add_column("case_results", sa.Column("unscored", sa.String(16)))
    op.add_column("case_results", sa.Column("critical", sa.String(200)))
    for kind in UNSCORED_KINDS:
        reason_says = sa.or_(cases.c.reason == kind, cases.c.reason.like(f"{kind}:%"))
        op.execute(cases.update().where(cases.c.judgment_status == "unscored", reason_says).values(unscored=kind))
    detector = sa.func.trim(sa.func.substr(cases.c.reason, len(CRITICAL) + 1))
    op.execute(cases.update().where(cases.c.reason.like(f"{CRITICAL}%")).values(critical=detector))


def downgrade() -> None:
    op.drop_column("case_results", "critical")
    op.drop_column("case_results", "unscored")

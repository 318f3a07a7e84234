"""The ruler copies stored before this revision kept parity.toml with its credentials ([store] url's
password, key-like strings): take them out, where doing so leaves the ruler's own tables unchanged (the
fingerprint covers those, so `parity ruler restore` could no longer verify the copy otherwise).

Revision ID: 0003
Revises: 0002
"""

import json
import re
import tomllib

import sqlalchemy as sa
from alembic import op

from parity.models.secrets import scrub

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

CONFIG = "parity.toml"
RULER_TABLES = ("task", "rubric", "judge", "metric", "gates", "detectors")  # as when this was written
URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]*:)[^\s/@'\"]+@")

copies = sa.table("ruler_copies", sa.column("fingerprint", sa.String), sa.column("files", sa.JSON))


def _ruler_tables(text: str) -> dict | None:
    try:
        parsed = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return None
    return {name: parsed.get(name) for name in RULER_TABLES}


def cleaned(text: str) -> str:
    """`text` without credentials, or unchanged when removing them would touch a ruler table."""
    without = scrub(URL_PASSWORD.sub(r"\1***@", text))
    if without == text:
        return text
    before = _ruler_tables(text)
    return without if before is not None and _ruler_tables(without) == before else text


def upgrade() -> None:
    bind = op.get_bind()
    for fingerprint, files in bind.execute(sa.select(copies.c.fingerprint, copies.c.files)).all():
        files = json.loads(files) if isinstance(files, str) else dict(files or {})
        if not isinstance(files.get(CONFIG), str):
            continue
        kept = cleaned(files[CONFIG])
        if kept != files[CONFIG]:
            bind.execute(copies.update().where(copies.c.fingerprint == fingerprint).values(files={**files, CONFIG: kept}))


def downgrade() -> None:
    pass  # the credentials are gone for good, as they should be

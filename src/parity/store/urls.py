"""Where a workspace's store lives, and how its URL is shown in messages."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from parity.task import Workspace


def store_url(ws: Workspace) -> str:
    return os.environ.get("PARITY_DB") or ws.config.store.url or f"sqlite:///{ws.state_dir / 'parity.db'}"


def safe_url(url: str) -> str:
    """The URL for messages, its password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # Not a URL SQLAlchemy can parse, so no telling where a password would be: drop all before an @.
        return url if "@" not in url else "***@" + url.rpartition("@")[2]

"""Where a workspace's store lives, and how its URL is shown in messages."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from parity.task import CONFIG_NAME, STATE_DIR, Workspace


def store_url(ws: Workspace) -> str:
    return _chosen_url(ws.state_dir, ws.config.store.url)


def folder_store_url(root: Path) -> str:
    """The store's URL for a workspace whose parity.toml may not load (`parity ruler restore` is for that
    case): its [store] url when the file still parses as TOML, else the default."""
    try:
        raw = tomllib.loads((root / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, not UTF-8, not TOML (a ValueError), nested too deeply
        raw = {}
    store = raw.get("store")
    url = store.get("url") if isinstance(store, dict) else None
    return _chosen_url(root / STATE_DIR, url if isinstance(url, str) else None)


def _chosen_url(state_dir: Path, configured: str | None) -> str:
    """The PARITY_DB environment variable wins over parity.toml's [store] url; without either, SQLite in the workspace."""
    return os.environ.get("PARITY_DB") or configured or f"sqlite:///{state_dir / 'parity.db'}"


def store_exists(url: str) -> bool:
    """False only for a SQLite file not yet made, where opening the store would create an empty one."""
    return (path := sqlite_file(url)) is None or path.is_file()


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database, or SQLite in memory)."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") and url != "sqlite:///:memory:" else None


def safe_url(url: str) -> str:
    """The URL for messages, its password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # Not a URL SQLAlchemy can parse, so no telling where a password would be: drop all before an @.
        return url if "@" not in url else "***@" + url.rpartition("@")[2]

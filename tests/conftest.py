"""Fixtures only (shared helpers are in tests/helpers), and the environment every test runs in."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import settings

from parity.examples import write_example
from parity.task import Workspace, load_workspace

# The same examples on every run, so CI is deterministic; explore further with --hypothesis-profile=default.
settings.register_profile("parity", derandomize=True)
settings.load_profile("parity")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Rich can fix its width when parity's consoles are made: set it before any test imports them, so commands
# run in-process (tests.helpers.cli.invoke_parity) print as wide as run_parity's.
os.environ.setdefault("COLUMNS", "200")

# Under xdist every worker runs models at once: give each an equal share of the cores, or llama.cpp's
# spinning threads and torch's intra-op pool oversubscribe them (seen: the whole suite 1.8x slower).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
if _WORKERS > 1:
    _share = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    os.environ.setdefault("PARITY_LLAMA_THREADS", _share)
    os.environ.setdefault("OMP_NUM_THREADS", _share)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Python agents run only in the OS sandbox (or with [python_agents] unsandboxed = true): where the
    kernel has no Landlock, their tests are skipped, saying so."""
    from parity.agent.sandbox import abi_version

    if abi_version() >= 1:
        return
    skip = pytest.mark.skip(reason="this kernel has no Landlock, the sandbox Python agents run in")
    for item in items:
        if item.get_closest_marker("sandbox"):
            item.add_marker(skip)


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    """A fresh copy of the bundled discovery workspace."""
    return write_example("discovery", tmp_path / "ws")


@pytest.fixture
def ws(ws_dir: Path) -> Workspace:
    return load_workspace(ws_dir)


@pytest.fixture
def pg_url():
    """A fresh database on the server named by PARITY_TEST_PG_URL (.ci/run starts one), dropped afterwards."""
    server = os.environ.get("PARITY_TEST_PG_URL")
    if not server:
        pytest.skip("set PARITY_TEST_PG_URL to a PostgreSQL server URL to run (.ci/run starts one)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"parity_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from parity.examples import write_example
from parity.task import Workspace, load_workspace

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Under xdist every worker runs models at once: give each an equal share of the cores, or llama.cpp's
# spinning threads and torch's intra-op pool oversubscribe them (seen: the whole suite 1.8x slower).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
if _WORKERS > 1:
    _share = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    os.environ.setdefault("PARITY_LLAMA_THREADS", _share)
    os.environ.setdefault("OMP_NUM_THREADS", _share)


@pytest.fixture
def ws_dir(tmp_path: Path) -> Path:
    """A fresh copy of the bundled discovery workspace."""
    return write_example("discovery", tmp_path / "ws")


@pytest.fixture
def ws(ws_dir: Path) -> Workspace:
    return load_workspace(ws_dir)


# Small gates for end-to-end tests, so a model run takes seconds rather than minutes.
TINY_GATE = ["travel-easy", "career-medium"]
SMALL_GATE = ["travel-easy", "career-medium", "home-hard", "health-easy"]
SIX_CASES = [*SMALL_GATE, "finance-medium", "events-hard"]  # long enough to kill a run midway


def add_gates(ws_dir: Path, **gates: list[str]) -> Path:
    """Declare extra gates in the workspace and re-lock the ruler (gates are part of it)."""
    lines = "".join(f"{name} = {gate!r}\n".replace("'", '"') for name, gate in gates.items())
    text = (ws_dir / "parity.toml").read_text().replace('full = "all"\n', 'full = "all"\n' + lines, 1)
    (ws_dir / "parity.toml").write_text(text)
    locked = run_parity("ruler", "lock", cwd=ws_dir)
    assert locked.returncode == 0, locked.stderr
    return ws_dir


def run_parity(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """The real command line, in a subprocess: exit codes and stderr exactly as a user sees them."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "parity", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def write_agent(
    ws_dir: Path, name: str, model: str, backend: dict | None = None, adapter: str | None = None, max_tokens: int | None = None
) -> Path:
    """A copy of the baseline agent with another model (and backend options)."""
    import yaml

    config = yaml.safe_load((ws_dir / "agents" / "baseline.yaml").read_text())
    config["model"] = model
    if max_tokens:
        config["decoding"]["max_tokens"] = max_tokens
    if backend:
        config["backend"] = backend
    if adapter:
        config["adapter"] = adapter
    path = ws_dir / "agents" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def show_json(ws_dir: Path, experiment_id: int | None = None, env: dict[str, str] | None = None):
    import json

    args = ["show", *([str(experiment_id)] if experiment_id else []), "--json"]
    result = run_parity(*args, cwd=ws_dir, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


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

"""Workspace set-up for end-to-end tests: small gates, so a model run takes seconds rather than minutes,
and agent files that swap the model."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers.cli import invoke_parity

TINY_GATE = ["travel-easy", "career-medium"]
SMALL_GATE = ["travel-easy", "career-medium", "home-hard", "health-easy"]
SIX_CASES = [*SMALL_GATE, "finance-medium", "events-hard"]  # long enough to kill a run midway


def add_gates(ws_dir: Path, **gates: list[str]) -> Path:
    """Declare extra gates in the workspace and re-lock the ruler (gates are part of it)."""
    lines = "".join(f"{name} = {gate!r}\n".replace("'", '"') for name, gate in gates.items())
    text = (ws_dir / "parity.toml").read_text().replace('full = "all"\n', 'full = "all"\n' + lines, 1)
    (ws_dir / "parity.toml").write_text(text)
    locked = invoke_parity("ruler", "lock", cwd=ws_dir)
    assert locked.returncode == 0, locked.stderr
    return ws_dir


def write_agent(
    ws_dir: Path, name: str, model: str, backend: dict | None = None, adapter: str | None = None, max_tokens: int | None = None
) -> Path:
    """A copy of the baseline agent with another model (and backend options)."""
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

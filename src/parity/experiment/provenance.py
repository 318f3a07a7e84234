"""What an experiment records about where it came from: the agent config and its diff against the
running best, the pipeline diagram, and the workspace's git commit."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"decoding": {"temperature": 0}} -> {"decoding.temperature": 0}; lists stay whole."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def config_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Every field that differs, as {field: [before, after]} (None where a side lacks it)."""
    old, new = flatten(before), flatten(after)
    return {key: [old.get(key), new.get(key)] for key in sorted(old.keys() | new.keys()) if old.get(key) != new.get(key) and key != "name"}


def git_commit(root: Path) -> str | None:
    """HEAD of the git repository holding the workspace, with "+dirty" if it has uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    if not head:
        return None
    dirty = git("status", "--porcelain", "--", ".")
    return f"{head}+dirty" if dirty else head

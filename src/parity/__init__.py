"""parity: specialize a small local model on one narrow task and prove how close it got.

The public API, for scripts and notebooks (the CLI is one client of it):

    ws = parity.load_workspace(Path("."))
    ruler = parity.load_ruler(ws)
    agent = parity.load_agent(ws, "baseline")
    outcome = parity.run_experiment(ws, ruler, agent, parity.make_judge(ws), parity.Store.for_workspace(ws), "dev", "why", parity.keep)

Names are imported on first use, so `import parity` stays light."""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the module that defines it
_PUBLIC = {
    "ParityError": "parity.errors",
    "Workspace": "parity.task",
    "load_workspace": "parity.task",
    "Answer": "parity.task",
    "Case": "parity.cases",
    "Ruler": "parity.ruler",
    "load_ruler": "parity.ruler",
    "Model": "parity.models",
    "open_model": "parity.models",
    "parse_spec": "parity.models",
    "Agent": "parity.agent",
    "load_agent": "parity.agent",
    "Judge": "parity.judge",
    "Judgment": "parity.judge",
    "make_judge": "parity.judge",
    "Result": "parity.metrics",
    "summarize": "parity.metrics",
    "paired_comparison": "parity.metrics",
    "Store": "parity.store",
    "ExperimentSummary": "parity.experiment",
    "Outcome": "parity.experiment",
    "run_experiment": "parity.experiment",
    "resume_experiment": "parity.experiment",
    "keep": "parity.loop.rules",
    "screen": "parity.loop.rules",
    "RunStatus": "parity.statuses",
    "Verdict": "parity.statuses",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'parity' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

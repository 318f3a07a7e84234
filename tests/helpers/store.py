"""Experiments written straight into a store, for tests of what reads them (the CLI's listings, the dashboard)."""

from __future__ import annotations

from typing import Any

from parity.store import NewExperiment, Store

FINISHED: NewExperiment = {
    "ruler_fingerprint": "f" * 64,
    "gate": "full",
    "agent_name": "a",
    "agent_config": {},
    "model_identity": "m",
    "hypothesis": "h",
    "status": "done",
    "verdict": "discarded",
    "decision": "d",
    "quality": 0.2,
    "ci_low": 0.1,
    "ci_high": 0.3,
    "summary": {},
    "method": "m",
}


def finished_experiment(store: Store, **fields: Any) -> int:
    """A done, discarded experiment on the full gate; `fields` replace any of its columns."""
    return store.create_experiment(**{**FINISHED, **fields})

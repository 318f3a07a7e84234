"""What each of the Store's writes may set, field by field and typed: mypy checks every caller, and
the Store refuses a name that is not listed here (a misspelt field once vanished into a new attribute)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Required, TypedDict


class ExperimentChanges(TypedDict, total=False):
    """An experiment's fields that change after it was created: its outcome, as it runs and when it ends."""

    status: str  # RunStatus
    verdict: str | None  # Verdict
    decision: str | None
    quality: float | None
    ci_low: float | None
    ci_high: float | None
    ceiling: float | None
    summary: dict[str, Any] | None
    cost_usd: float
    wall_s: float | None
    judge_noise: dict[str, Any] | None
    config_diff: dict[str, Any] | None
    finished_at: datetime | None


class NewExperiment(ExperimentChanges, total=False):
    """A new experiment: what ran, on which ruler and gate, and why (it may already carry an outcome)."""

    ruler_fingerprint: Required[str]
    gate: Required[str]
    agent_name: Required[str]
    agent_config: Required[dict[str, Any]]
    model_identity: Required[str]
    hypothesis: str
    method: str | None
    agent_source: str | None
    agent_code: str | None
    pipeline_svg: str | None
    git_commit: str | None
    screened_by: int | None


class TrialChanges(TypedDict, total=False):
    """A loop trial's fields that change after it was claimed."""

    status: str  # RunStatus
    verdict: str | None  # Verdict
    reason: str | None
    config: dict[str, Any]
    screen_experiment_id: int | None
    decide_experiment_id: int | None
    finished_at: datetime | None


class AdapterChanges(TypedDict, total=False):
    """A training run's fields that change as it trains and when it ends."""

    status: str  # RunStatus
    curves: dict[str, Any]
    summary: dict[str, Any]
    train_s: float | None
    finished_at: datetime | None


def check_fields(method: str, fields: Mapping[str, Any], allowed: type) -> None:
    """Raise, naming them, on fields the typed dict `allowed` does not list (callers mypy does not see)."""
    # typeshed has no type for "a TypedDict class", so `type` lacks the key sets every TypedDict has
    known = allowed.__required_keys__ | allowed.__optional_keys__  # type: ignore[attr-defined]
    unknown = sorted(set(fields) - known)
    if unknown:
        raise TypeError(f"Store.{method}() cannot set {', '.join(unknown)}: it sets only {', '.join(sorted(known))}")

"""Experiments: one agent over one gate of the ruler, every case judged and recorded, then decided.

- run: running and resuming, case by case within the budget;
- record: a case as the store keeps it;
- finalize: the result, the ceiling, the validity checks, and the keep rule's decision;
- summary: the typed summary every reader uses;
- provenance: where an experiment came from (config diff, git commit)."""

from parity.experiment.finalize import (
    MAX_UNSCORED_SHARE,
    REFERENCE_METHOD,
    SERVING_METHOD,
    Decision,
    KeepRule,
    Outcome,
    ensure_ceiling,
    rejudged_qualities,
)
from parity.experiment.record import failed_judgment, judgment_from_row
from parity.experiment.run import BudgetExceeded, check_budget, missing_cases, resume_experiment, run_experiment
from parity.experiment.summary import ExperimentSummary, experiment_json

__all__ = [
    "MAX_UNSCORED_SHARE",
    "REFERENCE_METHOD",
    "SERVING_METHOD",
    "BudgetExceeded",
    "Decision",
    "ExperimentSummary",
    "KeepRule",
    "Outcome",
    "check_budget",
    "ensure_ceiling",
    "experiment_json",
    "failed_judgment",
    "judgment_from_row",
    "missing_cases",
    "rejudged_qualities",
    "resume_experiment",
    "run_experiment",
]

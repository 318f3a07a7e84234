"""The closed vocabularies of parity's records: what state a run is in and what was decided about it.
StrEnums, so they compare equal to the strings already stored."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """An experiment's, a loop trial's or an adapter's life."""

    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"  # by the user or the budget: resumable
    CRASHED = "crashed"
    FAILED = "failed"  # training that ended without an adapter


class Verdict(StrEnum):
    """What the keep rule (or a check before it) decided about an experiment or a loop trial."""

    KEPT = "kept"
    DISCARDED = "discarded"
    INVALID = "invalid"  # leaked gold, a tampered ruler or too many unscored cases: counts for nothing
    REFERENCE = "reference"  # a ceiling candidate beside the study, never the running best
    CRASHED = "crashed"
    SCREENED_OUT = "screened_out"  # a loop trial whose screen did not beat the running best's
    TRAINING_REQUEST = "training_request"  # a loop trial that asked for training it was not allowed


class Pairwise(StrEnum):
    """The judge's pairwise verdict of a candidate against gold."""

    WIN = "win"
    TIE = "tie"
    LOSS = "loss"


class JudgmentStatus(StrEnum):
    SCORED = "scored"
    UNSCORED = "unscored"


class UnscoredKind(StrEnum):
    """Why a judge gave no score (the judgment's reason says more)."""

    PARSE = "parse"
    TRUNCATED = "truncated"
    REFUSED = "refused"
    ERROR = "error"


class LockHow(StrEnum):
    """How a ruler's LOCK came into the store's record of lock events."""

    LOCKED = "ruler lock"  # written by `parity ruler lock`
    ADOPTED = "adopted"  # found at the first run on a store with no record yet: trusted on first use
    RESTORED = "ruler restore"  # put back by `parity ruler restore` from the store's checked copy

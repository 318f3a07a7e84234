"""The store's tables as SQLAlchemy ORM rows. Every row carries the ruler fingerprint; a case's answer
and judgment are one row, committed together. A change here needs a migration (store/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ExperimentRow(Base):
    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ruler_fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    gate: Mapped[str] = mapped_column(String(64))
    agent_name: Mapped[str] = mapped_column(String(200))
    agent_source: Mapped[str | None] = mapped_column(String(500))  # the agent file's name, for messages
    agent_config: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_identity: Mapped[str] = mapped_column(String(200))
    hypothesis: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | crashed | stopped
    verdict: Mapped[str | None] = mapped_column(String(16))  # kept | discarded | invalid | crashed | reference (parity analyze ceiling)
    decision: Mapped[str | None] = mapped_column(Text)  # why that verdict, in words
    quality: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    ceiling: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    wall_s: Mapped[float | None] = mapped_column(Float)
    judge_noise: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # from `parity analyze noise`: SD of quality and dimensions
    method: Mapped[str | None] = mapped_column(Text)  # free text: how the hypothesis is tested
    agent_code: Mapped[str | None] = mapped_column(Text)  # a Python agent's source, exactly as it ran
    config_diff: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"against": ID, "changes": {field: [old, new]}}
    pipeline_svg: Mapped[str | None] = mapped_column(Text)  # the pipeline diagram drawn from the agent config
    git_commit: Mapped[str | None] = mapped_column(String(80))  # the workspace's HEAD, "+dirty" when it had changes
    screened_by: Mapped[int | None] = mapped_column(Integer)  # --confirm: the dev experiment that earned this full run
    cases: Mapped[list[CaseRow]] = relationship(back_populates="experiment", cascade="all, delete-orphan")


class CaseRow(Base):
    """One case of one experiment: the agent's answer and the judge's judgment, committed together."""

    __tablename__ = "case_results"
    __table_args__ = (UniqueConstraint("experiment_id", "case_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(200))
    ruler_fingerprint: Mapped[str] = mapped_column(String(64))
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    raw_text: Mapped[str] = mapped_column(Text, default="")
    answer_error: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    finish_reason: Mapped[str] = mapped_column(String(16), default="stop")
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    judge: Mapped[str] = mapped_column(String(200))
    judgment_status: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    overall: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str | None] = mapped_column(String(8))
    notes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    agent_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    unscored: Mapped[str | None] = mapped_column(String(16))  # UnscoredKind: why the judge gave no score
    critical: Mapped[str | None] = mapped_column(String(200))  # the detector that failed the case
    quality: Mapped[float | None] = mapped_column(Float)
    judge_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # LLM judge: every prompt and raw response
    judge_cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    position_consistent: Mapped[bool | None] = mapped_column(Boolean)
    trace: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # every call and retrieval of the agent's pipeline
    experiment: Mapped[ExperimentRow] = relationship(back_populates="cases")


class CeilingRow(Base):
    """The quality of gold_alt scored as a candidate: what parity with the teacher means."""

    __tablename__ = "ceilings"
    __table_args__ = (UniqueConstraint("ruler_fingerprint", "gate"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ruler_fingerprint: Mapped[str] = mapped_column(String(64))
    gate: Mapped[str] = mapped_column(String(64))
    quality: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)


class TrialRow(Base):
    """One proposal of the research loop and what became of it. A config is tried once per loop."""

    __tablename__ = "loop_trials"
    __table_args__ = (UniqueConstraint("loop", "config_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    loop: Mapped[str] = mapped_column(String(200), index=True)  # ruler fingerprint + proposer: one log per study
    proposer: Mapped[str] = mapped_column(String(32))
    worker: Mapped[str] = mapped_column(String(200))  # host:pid that claimed it
    hypothesis: Mapped[str] = mapped_column(Text, default="")
    lever: Mapped[str] = mapped_column(String(32))
    patch: Mapped[dict[str, Any]] = mapped_column(JSON)  # dotted agent field -> value, applied to the base agent
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    config_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | crashed | training
    screen_experiment_id: Mapped[int | None] = mapped_column(Integer)
    decide_experiment_id: Mapped[int | None] = mapped_column(Integer)
    verdict: Mapped[str | None] = mapped_column(String(16))  # kept | discarded | invalid | crashed | screened_out
    reason: Mapped[str | None] = mapped_column(Text)
    optuna_trial: Mapped[int | None] = mapped_column(Integer)


class RulerCopyRow(Base):
    """The ruler's files as they were when first used, so `parity ruler restore` can rewrite them."""

    __tablename__ = "ruler_copies"
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    files: Mapped[dict[str, str]] = mapped_column(JSON)  # workspace-relative path -> text


class LockEventRow(Base):
    """One time a ruler was locked (`parity ruler lock`) or its LOCK adopted at a store's first run: a LOCK
    whose fingerprint has no event here was written by something else, and is refused as tampering."""

    __tablename__ = "lock_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    how: Mapped[str] = mapped_column(String(16))  # LockHow


class DatasetRow(Base):
    """A training dataset as it was used: its content fingerprint, where it came from, where it lies."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    n_rows: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON)


class AdapterRow(Base):
    """A trained LoRA adapter: recipe, base identity, data, options, curves and where its files are."""

    __tablename__ = "adapters"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recipe: Mapped[str] = mapped_column(String(16))
    base: Mapped[str] = mapped_column(String(500))  # the model spec the user gave
    base_identity: Mapped[str] = mapped_column(String(100))  # content hash of the base weights
    dataset_fingerprint: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    curves: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # metric -> [[step, value], ...]
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    path: Mapped[str] = mapped_column(Text)
    train_s: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # tokens/s, steps, final loss ...


class AnalysisRow(Base):
    """One `parity analyze` result: its table, the findings computed from it, and its plot."""

    __tablename__ = "analyses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    kind: Mapped[str] = mapped_column(String(32))  # blind | factors | noise | ceiling | probe | critic
    ruler_fingerprint: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    columns: Mapped[list[str]] = mapped_column(JSON)
    rows: Mapped[list[list[Any]]] = mapped_column(JSON)
    findings: Mapped[list[str]] = mapped_column(JSON)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    svg: Mapped[str] = mapped_column(Text)

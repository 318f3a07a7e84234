"""Experiment registry on SQLAlchemy: SQLite at .parity/parity.db by default, any SQLAlchemy URL otherwise.

Every row carries the ruler fingerprint; each case's answer and judgment are committed together,
so an interrupted experiment keeps every case it finished.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from parity.errors import ParityError
from parity.task import Workspace


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ExperimentRow(Base):
    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
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
    judge_noise: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # from `parity rejudge`: SD of quality and dimensions
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    files: Mapped[dict[str, str]] = mapped_column(JSON)  # workspace-relative path -> text


class DatasetRow(Base):
    """A training dataset as it was used: its content fingerprint, where it came from, where it lies."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    kind: Mapped[str] = mapped_column(String(32))  # blind | factors | noise | ceiling | probe | critic
    ruler_fingerprint: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    columns: Mapped[list[str]] = mapped_column(JSON)
    rows: Mapped[list[list[Any]]] = mapped_column(JSON)
    findings: Mapped[list[str]] = mapped_column(JSON)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    svg: Mapped[str] = mapped_column(Text)


def store_url(ws: Workspace) -> str:
    return os.environ.get("PARITY_DB") or ws.config.store.url or f"sqlite:///{ws.state_dir / 'parity.db'}"


def _create_schema(engine: Any) -> None:
    """Workers opening a new database together race between create_all's existence check and its
    CREATE TABLE; the loser finds the winner's table, and the next pass sees everything in place."""
    for attempt in range(5):
        try:
            Base.metadata.create_all(engine)
            _add_missing_columns(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError) as exc:
            if ("already exists" not in str(exc) and "duplicate" not in str(exc).lower()) or attempt == 4:
                raise
            time.sleep(0.2 + random.random() / 2)


class Store:
    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            # Several loop workers may share one SQLite file: wait for a lock instead of failing at once.
            self.engine = create_engine(url, connect_args={"timeout": 60} if url.startswith("sqlite") else {})
            _create_schema(self.engine)
        except (SQLAlchemyError, ImportError) as exc:
            raise ParityError(
                f"cannot open the store ({type(exc).__name__}: {str(exc).splitlines()[0]})",
                _safe(url),
                "check the database URL in parity.toml [store] or PARITY_DB",
            ) from None

    @classmethod
    def for_workspace(cls, ws: Workspace) -> Store:
        return cls(store_url(ws))

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def create_experiment(self, **fields: Any) -> int:
        with self.session() as s, s.begin():
            row = ExperimentRow(**fields)
            s.add(row)
            s.flush()
            return row.id

    def record_case(self, row: CaseRow) -> None:
        with self.session() as s, s.begin():
            s.add(row)

    def update_experiment(self, experiment_id: int, **fields: Any) -> None:
        with self.session() as s, s.begin():
            row = s.get(ExperimentRow, experiment_id)
            for key, value in fields.items():
                setattr(row, key, value)

    def experiment(self, experiment_id: int) -> ExperimentRow | None:
        with self.session() as s:
            return s.get(ExperimentRow, experiment_id)

    def experiments(self) -> list[ExperimentRow]:
        with self.session() as s:
            return list(s.scalars(select(ExperimentRow).order_by(ExperimentRow.id)))

    def case_rows(self, experiment_id: int) -> list[CaseRow]:
        with self.session() as s:
            return list(s.scalars(select(CaseRow).where(CaseRow.experiment_id == experiment_id).order_by(CaseRow.id)))

    def scored_case_rows(self, fingerprint: str) -> list[CaseRow]:
        """Every scored judgment on a ruler, across experiments (the analyses' raw material)."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(CaseRow)
                    .where(CaseRow.ruler_fingerprint == fingerprint, CaseRow.judgment_status == "scored")
                    .order_by(CaseRow.id)
                )
            )

    def running_best(self, fingerprint: str, gate: str, exclude: int | None = None) -> ExperimentRow | None:
        with self.session() as s:
            query = (
                select(ExperimentRow)
                .where(ExperimentRow.ruler_fingerprint == fingerprint, ExperimentRow.gate == gate, ExperimentRow.verdict == "kept")
                .where(ExperimentRow.id != (exclude or -1))
                .order_by(ExperimentRow.quality.desc(), ExperimentRow.id)
            )
            return s.scalars(query).first()

    def screen_bar(self, fingerprint: str, screen_gate: str, decide_gate: str, exclude: int | None = None) -> ExperimentRow | None:
        """The screen a candidate must beat to earn the decide gate: the running best's own screen.
        The best screen alone would let a config that won on dev but lost on full raise the bar."""
        best = self.running_best(fingerprint, decide_gate)
        screen = self.experiment(best.screened_by) if best is not None and best.screened_by else None
        if screen is not None and screen.quality is not None and screen.id != exclude:
            return screen
        return self.running_best(fingerprint, screen_gate, exclude)

    def claim_trial(self, row: TrialRow) -> int | None:
        """Insert a trial; None when this loop already has one with the same config (another worker's)."""
        from sqlalchemy.exc import IntegrityError

        try:
            with self.session() as s, s.begin():
                s.add(row)
                s.flush()
                return row.id
        except IntegrityError:
            return None

    def trials(self, loop: str) -> list[TrialRow]:
        with self.session() as s:
            return list(s.scalars(select(TrialRow).where(TrialRow.loop == loop).order_by(TrialRow.id)))

    def update_trial(self, trial_id: int, **fields: Any) -> None:
        with self.session() as s, s.begin():
            row = s.get(TrialRow, trial_id)
            for key, value in fields.items():
                setattr(row, key, value)

    def training_requests(self) -> list[TrialRow]:
        """Loop proposals that asked for new weights rather than a new agent config."""
        with self.session() as s:
            return list(s.scalars(select(TrialRow).where(TrialRow.verdict == "training_request").order_by(TrialRow.id)))

    def save_ruler_copy(self, fingerprint: str, files: dict[str, str]) -> None:
        from sqlalchemy.exc import IntegrityError

        if self.ruler_copy(fingerprint) is not None:
            return
        try:
            with self.session() as s, s.begin():
                s.add(RulerCopyRow(fingerprint=fingerprint, files=files))
        except IntegrityError:
            pass  # another process saved the same copy first

    def ruler_copy(self, fingerprint: str) -> RulerCopyRow | None:
        with self.session() as s:
            return s.get(RulerCopyRow, fingerprint)

    def save_dataset(self, row: DatasetRow) -> None:
        with self.session() as s, s.begin():
            s.add(row)

    def save_analysis(self, row: AnalysisRow) -> int:
        with self.session() as s, s.begin():
            s.add(row)
            s.flush()
            return row.id

    def analyses(self) -> list[AnalysisRow]:
        with self.session() as s:
            return list(s.scalars(select(AnalysisRow).order_by(AnalysisRow.id)))

    def datasets(self) -> list[DatasetRow]:
        with self.session() as s:
            return list(s.scalars(select(DatasetRow).order_by(DatasetRow.id)))

    def dataset(self, fingerprint: str) -> DatasetRow | None:
        with self.session() as s:
            return s.scalars(select(DatasetRow).where(DatasetRow.fingerprint == fingerprint).order_by(DatasetRow.id.desc())).first()

    def save_adapter(self, row: AdapterRow) -> None:
        """Register (or re-register, on a fresh run under the same name) an adapter."""
        with self.session() as s, s.begin():
            s.merge(row)

    def update_adapter(self, name: str, **fields: Any) -> None:
        with self.session() as s, s.begin():
            row = s.get(AdapterRow, name)
            if row is not None:
                for key, value in fields.items():
                    setattr(row, key, value)

    def adapter(self, name: str) -> AdapterRow | None:
        with self.session() as s:
            return s.get(AdapterRow, name)

    def adapters(self) -> list[AdapterRow]:
        with self.session() as s:
            return list(s.scalars(select(AdapterRow).order_by(AdapterRow.created_at)))

    def ceiling(self, fingerprint: str, gate: str) -> CeilingRow | None:
        with self.session() as s:
            return s.scalars(select(CeilingRow).where(CeilingRow.ruler_fingerprint == fingerprint, CeilingRow.gate == gate)).first()

    def save_ceiling(self, row: CeilingRow) -> None:
        with self.session() as s, s.begin():
            s.add(row)


def _add_missing_columns(engine) -> None:
    """Additive schema upgrades: a store written by an older parity gains the new (nullable) columns."""
    from sqlalchemy import inspect, text

    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))


def _safe(url: str) -> str:
    """A URL for messages, without its password."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, creds = head.partition("://")
    return f"{scheme}://{creds.split(':')[0]}:***@{tail}"

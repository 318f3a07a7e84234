"""The schema at the baseline revision: the tables exactly as parity made them before it had migrations
(create_all, then ALTER TABLE ... ADD COLUMN for the nullable columns added since). Frozen: a later
change to store/rows.py is a new revision in versions/, never an edit here."""

from __future__ import annotations

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
)

metadata = MetaData()


STAMP = DateTime(timezone=True)


Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", STAMP, nullable=False),
    Column("finished_at", STAMP),
    Column("ruler_fingerprint", String(64), nullable=False),
    Column("gate", String(64), nullable=False),
    Column("agent_name", String(200), nullable=False),
    Column("agent_source", String(500)),
    Column("agent_config", JSON, nullable=False),
    Column("model_identity", String(200), nullable=False),
    Column("hypothesis", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("verdict", String(16)),
    Column("decision", Text),
    Column("quality", Float),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("ceiling", Float),
    Column("summary", JSON),
    Column("cost_usd", Float, nullable=False),
    Column("wall_s", Float),
    Column("judge_noise", JSON),
    Column("method", Text),
    Column("agent_code", Text),
    Column("config_diff", JSON),
    Column("pipeline_svg", Text),
    Column("git_commit", String(80)),
    Column("screened_by", Integer),
    Index("ix_experiments_ruler_fingerprint", "ruler_fingerprint"),
)

Table(
    "case_results",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("case_id", String(200), nullable=False),
    Column("ruler_fingerprint", String(64), nullable=False),
    Column("answer", JSON),
    Column("raw_text", Text, nullable=False),
    Column("answer_error", Text),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("latency_s", Float, nullable=False),
    Column("finish_reason", String(16), nullable=False),
    Column("cached", Boolean, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("judge", String(200), nullable=False),
    Column("judgment_status", String(16), nullable=False),
    Column("scores", JSON, nullable=False),
    Column("overall", Float),
    Column("verdict", String(8)),
    Column("notes", JSON, nullable=False),
    Column("reason", Text),
    Column("agent_failed", Boolean, nullable=False),
    Column("quality", Float),
    Column("judge_calls", JSON),
    Column("judge_cost_usd", Float, nullable=False),
    Column("position_consistent", Boolean),
    Column("trace", JSON),
    UniqueConstraint("experiment_id", "case_id"),
    Index("ix_case_results_experiment_id", "experiment_id"),
)

Table(
    "ceilings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ruler_fingerprint", String(64), nullable=False),
    Column("gate", String(64), nullable=False),
    Column("quality", Float, nullable=False),
    Column("ci_low", Float, nullable=False),
    Column("ci_high", Float, nullable=False),
    Column("summary", JSON, nullable=False),
    UniqueConstraint("ruler_fingerprint", "gate"),
)

Table(
    "loop_trials",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", STAMP, nullable=False),
    Column("finished_at", STAMP),
    Column("loop", String(200), nullable=False),
    Column("proposer", String(32), nullable=False),
    Column("worker", String(200), nullable=False),
    Column("hypothesis", Text, nullable=False),
    Column("lever", String(32), nullable=False),
    Column("patch", JSON, nullable=False),
    Column("config", JSON, nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("screen_experiment_id", Integer),
    Column("decide_experiment_id", Integer),
    Column("verdict", String(16)),
    Column("reason", Text),
    Column("optuna_trial", Integer),
    UniqueConstraint("loop", "config_hash"),
    Index("ix_loop_trials_loop", "loop"),
)

Table(
    "ruler_copies",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("created_at", STAMP, nullable=False),
    Column("files", JSON, nullable=False),
)

Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", STAMP, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("path", Text, nullable=False),
    Column("provenance", JSON, nullable=False),
    Index("ix_datasets_name", "name"),
    Index("ix_datasets_fingerprint", "fingerprint"),
)

Table(
    "adapters",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("created_at", STAMP, nullable=False),
    Column("finished_at", STAMP),
    Column("recipe", String(16), nullable=False),
    Column("base", String(500), nullable=False),
    Column("base_identity", String(100), nullable=False),
    Column("dataset_fingerprint", String(64)),
    Column("options", JSON, nullable=False),
    Column("curves", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("train_s", Float),
    Column("summary", JSON, nullable=False),
)

Table(
    "analyses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", STAMP, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ruler_fingerprint", String(64), nullable=False),
    Column("params", JSON, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("rows", JSON, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("png", LargeBinary, nullable=False),
    Column("svg", Text, nullable=False),
)


def adopt(conn: Connection) -> None:
    """Bring a store from before the migrations to the baseline: what its parity did at every open
    (create the missing tables, add the missing columns, all of them nullable), done once."""
    metadata.create_all(conn)  # checks first: creates only the tables that are missing
    inspector = inspect(conn)
    op = Operations(MigrationContext.configure(conn))
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                op.add_column(table.name, Column(column.name, column.type))

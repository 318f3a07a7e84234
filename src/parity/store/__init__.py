"""Experiment registry on SQLAlchemy: the rows (rows.py), the Store that alone reads and writes them
(repository.py, with its typed arguments in changes.py), and the schema Alembic keeps (schema.py, migrations/).

Every row carries the ruler fingerprint; each case's answer and judgment are committed together,
so an interrupted experiment keeps every case it finished.
"""

from parity.store.changes import AdapterChanges, ExperimentChanges, NewExperiment, TrialChanges
from parity.store.repository import Store
from parity.store.rows import (
    AdapterRow,
    AnalysisRow,
    Base,
    CaseRow,
    CeilingRow,
    DatasetRow,
    ExperimentRow,
    LockEventRow,
    RulerCopyRow,
    TrialRow,
    now,
)
from parity.store.urls import folder_store_url, safe_url, sqlite_file, store_exists, store_url

__all__ = [
    "AdapterChanges",
    "AdapterRow",
    "AnalysisRow",
    "Base",
    "CaseRow",
    "CeilingRow",
    "DatasetRow",
    "ExperimentChanges",
    "ExperimentRow",
    "LockEventRow",
    "NewExperiment",
    "RulerCopyRow",
    "Store",
    "TrialChanges",
    "TrialRow",
    "folder_store_url",
    "now",
    "safe_url",
    "sqlite_file",
    "store_exists",
    "store_url",
]

"""The Store: every read and write of parity's database, each a method with typed arguments. Nothing
outside this package opens a session. SQLite at .parity/parity.db by default, any SQLAlchemy URL otherwise."""

from __future__ import annotations

from typing import Any, Unpack

from sqlalchemy import create_engine, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from parity.errors import ParityError
from parity.statuses import JudgmentStatus, LockHow, Verdict
from parity.store.changes import AdapterChanges, ExperimentChanges, NewExperiment, TrialChanges, check_fields
from parity.store.rows import (
    AdapterRow,
    AnalysisRow,
    CaseRow,
    CeilingRow,
    DatasetRow,
    ExperimentRow,
    LockEventRow,
    RulerCopyRow,
    TrialRow,
)
from parity.store.schema import upgrade_schema
from parity.store.urls import safe_url, sqlite_file, store_url
from parity.task import Workspace


class Store:
    def __init__(self, url: str):
        self.url = url
        if (database := sqlite_file(url)) is not None:
            try:
                # One level only (a workspace's .parity/): a mistyped URL must not make folders anywhere.
                database.parent.mkdir(exist_ok=True)
            except OSError as exc:
                raise ParityError(
                    f"cannot make the store's folder {database.parent} ({exc.strerror})",
                    safe_url(url),
                    "create the folder, or fix [store] url in parity.toml (or PARITY_DB)",
                ) from None
        try:
            # Several loop workers may share one SQLite file: wait for a lock instead of failing at once.
            self._engine = create_engine(url, connect_args={"timeout": 60} if url.startswith("sqlite") else {})
            upgrade_schema(self._engine)
        except (SQLAlchemyError, ImportError, ValueError) as exc:  # ValueError: a URL whose port is not a number
            raise ParityError(
                f"cannot open the store ({type(exc).__name__}: {str(exc).splitlines()[0]})",
                safe_url(url),
                "check the database URL in parity.toml [store] or PARITY_DB",
            ) from None

    @classmethod
    def for_workspace(cls, ws: Workspace) -> Store:
        return cls(store_url(ws))

    def _session(self) -> Session:
        return Session(self._engine, expire_on_commit=False)

    def _update(self, row_type: type, key: Any, fields: dict[str, Any], missing_ok: bool = False) -> None:
        with self._session() as s, s.begin():
            row = s.get(row_type, key)
            if row is None and missing_ok:
                return
            if row is None:
                raise LookupError(f"the store has no {row_type.__name__} {key!r}")
            for name, value in fields.items():
                setattr(row, name, value)

    # --- experiments and their cases -----------------------------------------------------------

    def create_experiment(self, **fields: Unpack[NewExperiment]) -> int:
        check_fields("create_experiment", fields, NewExperiment)
        with self._session() as s, s.begin():
            row = ExperimentRow(**fields)
            s.add(row)
            s.flush()
            return row.id

    def update_experiment(self, experiment_id: int, **changes: Unpack[ExperimentChanges]) -> None:
        check_fields("update_experiment", changes, ExperimentChanges)
        self._update(ExperimentRow, experiment_id, dict(changes))

    def record_case(self, row: CaseRow) -> None:
        with self._session() as s, s.begin():
            s.add(row)

    def experiment(self, experiment_id: int) -> ExperimentRow | None:
        with self._session() as s:
            return s.get(ExperimentRow, experiment_id)

    def require_experiment(self, experiment_id: int) -> ExperimentRow:
        """The experiment a user named; a ParityError when there is none."""
        row = self.experiment(experiment_id)
        if row is None:
            raise ParityError(f"no experiment #{experiment_id}", self.url, "list them with: parity show")
        return row

    def experiments(self) -> list[ExperimentRow]:
        with self._session() as s:
            return list(s.scalars(select(ExperimentRow).order_by(ExperimentRow.id)))

    def case_rows(self, experiment_id: int) -> list[CaseRow]:
        with self._session() as s:
            return list(s.scalars(select(CaseRow).where(CaseRow.experiment_id == experiment_id).order_by(CaseRow.id)))

    def scored_case_rows(self, fingerprint: str) -> list[CaseRow]:
        """Every scored judgment on a ruler, across experiments (the analyses' raw material)."""
        with self._session() as s:
            return list(
                s.scalars(
                    select(CaseRow)
                    .where(CaseRow.ruler_fingerprint == fingerprint, CaseRow.judgment_status == JudgmentStatus.SCORED)
                    .order_by(CaseRow.id)
                )
            )

    def running_best(self, fingerprint: str, gate: str, exclude: int | None = None) -> ExperimentRow | None:
        with self._session() as s:
            query = (
                select(ExperimentRow)
                .where(ExperimentRow.ruler_fingerprint == fingerprint, ExperimentRow.gate == gate, ExperimentRow.verdict == Verdict.KEPT)
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

    def ceiling(self, fingerprint: str, gate: str) -> CeilingRow | None:
        with self._session() as s:
            return s.scalars(select(CeilingRow).where(CeilingRow.ruler_fingerprint == fingerprint, CeilingRow.gate == gate)).first()

    def save_ceiling(self, row: CeilingRow) -> None:
        with self._session() as s, s.begin():
            s.add(row)

    # --- the research loop's trials ------------------------------------------------------------

    def claim_trial(self, row: TrialRow) -> int | None:
        """Insert a trial; None when this loop already has one with the same config (another worker's)."""
        try:
            with self._session() as s, s.begin():
                s.add(row)
                s.flush()
                return row.id
        except IntegrityError:
            return None

    def trial(self, trial_id: int) -> TrialRow | None:
        with self._session() as s:
            return s.get(TrialRow, trial_id)

    def trials(self, loop: str | None = None) -> list[TrialRow]:
        """One loop's trials in the order they were claimed; every loop's when `loop` is None."""
        query = select(TrialRow).order_by(TrialRow.id)
        with self._session() as s:
            return list(s.scalars(query if loop is None else query.where(TrialRow.loop == loop)))

    def update_trial(self, trial_id: int, **changes: Unpack[TrialChanges]) -> None:
        check_fields("update_trial", changes, TrialChanges)
        self._update(TrialRow, trial_id, dict(changes))

    def take_over_trial(self, trial_id: int, orphaned_by: str, worker: str) -> bool:
        """Give `worker` a trial that `orphaned_by` left; False when another worker took it over first
        (compare-and-set on the worker, so two workers never adopt one trial)."""
        with self._session() as s, s.begin():
            result = s.execute(update(TrialRow).where(TrialRow.id == trial_id, TrialRow.worker == orphaned_by).values(worker=worker))
            # An UPDATE's result is a CursorResult, which has rowcount; SQLAlchemy types Session.execute as the base Result
            return result.rowcount == 1  # type: ignore[attr-defined]

    def training_requests(self) -> list[TrialRow]:
        """Loop proposals that asked for new weights rather than a new agent config."""
        with self._session() as s:
            return list(s.scalars(select(TrialRow).where(TrialRow.verdict == Verdict.TRAINING_REQUEST).order_by(TrialRow.id)))

    # --- ruler copies --------------------------------------------------------------------------

    def save_ruler_copy(self, fingerprint: str, files: dict[str, str]) -> None:
        if self.ruler_copy(fingerprint) is not None:
            return
        try:
            with self._session() as s, s.begin():
                s.add(RulerCopyRow(fingerprint=fingerprint, files=files))
        except IntegrityError:
            pass  # another process saved the same copy first

    def ruler_copy(self, fingerprint: str) -> RulerCopyRow | None:
        with self._session() as s:
            return s.get(RulerCopyRow, fingerprint)

    def ruler_copies(self) -> list[RulerCopyRow]:
        """Every ruler the store has a copy of, the newest first."""
        with self._session() as s:
            return list(s.scalars(select(RulerCopyRow).order_by(RulerCopyRow.created_at.desc())))

    def find_ruler_copy(self, prefix: str | None) -> RulerCopyRow | None:
        """The newest copy whose fingerprint starts with `prefix`; with no prefix, the newest copy."""
        query = select(RulerCopyRow)
        if prefix:
            query = query.where(RulerCopyRow.fingerprint.startswith(prefix, autoescape=True))
        with self._session() as s:
            return s.scalars(query.order_by(RulerCopyRow.created_at.desc())).first()

    # --- lock events: the store's own record of which LOCKs parity wrote ----------------------

    def record_lock(self, fingerprint: str, how: LockHow) -> None:
        with self._session() as s, s.begin():
            s.add(LockEventRow(fingerprint=fingerprint, how=how))

    def lock_events(self) -> list[LockEventRow]:
        """Every lock event, the oldest first."""
        with self._session() as s:
            return list(s.scalars(select(LockEventRow).order_by(LockEventRow.id)))

    # --- training: datasets and adapters -------------------------------------------------------

    def save_dataset(self, row: DatasetRow) -> None:
        with self._session() as s, s.begin():
            s.add(row)

    def datasets(self) -> list[DatasetRow]:
        with self._session() as s:
            return list(s.scalars(select(DatasetRow).order_by(DatasetRow.id)))

    def dataset(self, fingerprint: str) -> DatasetRow | None:
        with self._session() as s:
            return s.scalars(select(DatasetRow).where(DatasetRow.fingerprint == fingerprint).order_by(DatasetRow.id.desc())).first()

    def find_dataset(self, name: str) -> DatasetRow | None:
        """The newest dataset saved under `name`, or whose fingerprint starts with it."""
        with self._session() as s:
            query = select(DatasetRow).where(or_(DatasetRow.name == name, DatasetRow.fingerprint.startswith(name)))
            return s.scalars(query.order_by(DatasetRow.id.desc())).first()

    def save_adapter(self, row: AdapterRow) -> None:
        """Register (or re-register, on a fresh run under the same name) an adapter."""
        with self._session() as s, s.begin():
            s.merge(row)

    def update_adapter(self, name: str, **changes: Unpack[AdapterChanges]) -> None:
        """Change a registered adapter; nothing when `name` was never registered."""
        check_fields("update_adapter", changes, AdapterChanges)
        self._update(AdapterRow, name, dict(changes), missing_ok=True)

    def adapter(self, name: str) -> AdapterRow | None:
        with self._session() as s:
            return s.get(AdapterRow, name)

    def adapters(self) -> list[AdapterRow]:
        with self._session() as s:
            return list(s.scalars(select(AdapterRow).order_by(AdapterRow.created_at)))

    # --- analyses ------------------------------------------------------------------------------

    def save_analysis(self, row: AnalysisRow) -> int:
        with self._session() as s, s.begin():
            s.add(row)
            s.flush()
            return row.id

    def analyses(self) -> list[AnalysisRow]:
        with self._session() as s:
            return list(s.scalars(select(AnalysisRow).order_by(AnalysisRow.id)))

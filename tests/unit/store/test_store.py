"""The store on real SQLite and, when PARITY_TEST_PG_URL points at a server (.ci/run starts one), on
PostgreSQL: its queries, its typed writes, its schema kept by Alembic, and its URLs in messages."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, insert, text
from sqlalchemy.exc import IntegrityError

from parity.errors import ParityError
from parity.store import AdapterRow, Base, CaseRow, CeilingRow, Store, TrialRow, safe_url
from parity.store.schema import HEAD, MIGRATIONS, VERSION_TABLE, revision

BEFORE_ALEMBIC = Path(__file__).parent / "data" / "store_before_alembic.sql"
FP = "f" * 64


def _fill(store: Store) -> int:
    exp = store.create_experiment(
        ruler_fingerprint=FP, gate="dev", agent_name="baseline", agent_config={"model": "x"}, model_identity="m", hypothesis="h"
    )
    for i in range(3):
        store.record_case(
            CaseRow(
                experiment_id=exp,
                case_id=f"c{i}",
                ruler_fingerprint=FP,
                answer={"title": "t", "questions": []},
                judge="reference",
                judgment_status="scored",
                scores={"a": 3.0},
                overall=3.0,
                verdict="tie",
                notes={},
                quality=0.5 + i / 10,
            )
        )
    store.update_experiment(exp, status="done", verdict="kept", quality=0.6)
    return exp


def test_store_round_trip(url: str) -> None:
    store = Store(url)
    exp = _fill(store)
    assert [r.case_id for r in store.case_rows(exp)] == ["c0", "c1", "c2"]
    assert store.running_best(FP, "dev").id == exp
    assert store.running_best("0" * 64, "dev") is None  # other rulers are never compared
    store.save_ceiling(CeilingRow(ruler_fingerprint=FP, gate="dev", quality=0.7, ci_low=0.6, ci_high=0.8, summary={}))
    assert store.ceiling(FP, "dev").quality == 0.7
    assert store.experiment(exp).agent_config == {"model": "x"}
    # A second process opening the same store sees the same experiments.
    assert [r.id for r in Store(url).experiments()] == [exp]


def test_duplicate_case_in_one_experiment_is_refused(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    exp = _fill(store)
    with pytest.raises(IntegrityError):
        store.record_case(CaseRow(experiment_id=exp, case_id="c0", ruler_fingerprint=FP, judge="reference", judgment_status="scored"))
    assert len(store.case_rows(exp)) == 3


def test_the_screen_bar_is_the_running_best_own_screen(tmp_path: Path) -> None:
    """A config that won on dev and lost on full must not raise the bar for later screens."""
    store = Store(f"sqlite:///{tmp_path / 's.db'}")

    def experiment(gate: str, quality: float, verdict: str, screened_by: int | None = None) -> int:
        exp = store.create_experiment(
            ruler_fingerprint=FP, gate=gate, agent_name="a", agent_config={}, model_identity="m", hypothesis="h", screened_by=screened_by
        )
        store.update_experiment(exp, status="done", verdict=verdict, quality=quality)
        return exp

    assert store.screen_bar(FP, "dev", "full") is None
    first_screen = experiment("dev", 0.355, "kept")
    assert store.screen_bar(FP, "dev", "full", exclude=first_screen) is None  # nothing else to beat yet
    experiment("full", 0.344, "kept", screened_by=first_screen)
    lucky_screen = experiment("dev", 0.365, "kept")
    experiment("full", 0.349, "discarded", screened_by=lucky_screen)
    assert store.screen_bar(FP, "dev", "full").id == first_screen
    assert store.running_best(FP, "dev").id == lucky_screen  # what the bar used to be


def test_an_experiment_on_an_adapter_or_its_export_pulled_the_weights_lever(tmp_path: Path) -> None:
    from parity.web.views import experiments_using, trial_levers

    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    exported = str(tmp_path / ".parity" / "exports" / "madison-orpo-f16.gguf")
    store.save_adapter(
        AdapterRow(
            name="madison-orpo",
            recipe="orpo",
            base="smollm2-135m",
            base_identity="b",
            options={},
            path="p",
            summary={"exports": {"f16": exported}},
        )
    )

    def experiment(model: str, adapter: str | None = None) -> int:
        return store.create_experiment(
            ruler_fingerprint=FP,
            gate="full",
            agent_name="a",
            agent_config={"model": model, "adapter": adapter},
            model_identity="m",
            hypothesis="h",
        )

    relative, absolute = experiment("llamacpp:.parity/exports/madison-orpo-f16.gguf"), experiment(f"llamacpp:{exported}")
    on_base, other = experiment("hf:smollm2-135m", "madison-orpo"), experiment("llamacpp:.parity/exports/madison-orpo-2-f16.gguf")
    baseline = experiment("llamacpp:smollm2-135m")
    assert [r.id for r in experiments_using(store.adapter("madison-orpo"), store.experiments())] == [relative, absolute, on_base]
    levers = trial_levers(store)
    assert levers == {relative: "weights", absolute: "weights", on_base: "weights"}
    assert baseline not in levers and other not in levers  # another adapter's export, and no adapter at all


# --- typed queries and writes ------------------------------------------------------------------


def test_writes_refuse_a_field_they_do_not_set(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    exp = _fill(store)
    with pytest.raises(TypeError, match=r"update_experiment\(\) cannot set qualty: it sets only .*quality"):
        store.update_experiment(exp, qualty=0.9)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="cannot set agent_name"):  # what ran is fixed once the experiment exists
        store.update_experiment(exp, agent_name="renamed")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"create_experiment\(\) cannot set hypotesis"):
        store.create_experiment(ruler_fingerprint=FP, gate="dev", agent_name="a", agent_config={}, model_identity="m", hypotesis="h")  # type: ignore[call-arg]
    trial = store.claim_trial(TrialRow(loop="l", proposer="grid", worker="w", lever="fewshot", patch={}, config={}, config_hash="h"))
    with pytest.raises(TypeError, match=r"update_trial\(\) cannot set verdit"):
        store.update_trial(trial, verdit="kept")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"update_adapter\(\) cannot set curve\b"):
        store.update_adapter("any", curve={})  # type: ignore[call-arg]
    row = store.experiment(exp)
    assert (row.quality, row.agent_name, len(store.experiments())) == (0.6, "baseline", 1)
    assert store.trial(trial).verdict is None


def test_typed_writes_and_the_queries_that_replaced_open_sessions(url: str) -> None:
    class Status(StrEnum):  # what the records' StrEnums look like to the database driver
        DONE = "done"

    store = Store(url)
    exp = _fill(store)
    store.update_experiment(exp, status=Status.DONE, finished_at=datetime(2026, 1, 2, tzinfo=UTC))
    assert store.experiment(exp).status == "done"
    with pytest.raises(LookupError, match="no ExperimentRow 999"):
        store.update_experiment(999, status="done")
    store.update_adapter("never-registered", status="done")  # a training callback after its adapter's row went: nothing

    first = store.claim_trial(TrialRow(loop="l1", proposer="grid", worker="a:1", lever="fewshot", patch={}, config={}, config_hash="h1"))
    second = store.claim_trial(TrialRow(loop="l2", proposer="grid", worker="a:1", lever="prompt", patch={}, config={}, config_hash="h1"))
    assert store.claim_trial(TrialRow(loop="l1", proposer="grid", worker="b:2", lever="x", patch={}, config={}, config_hash="h1")) is None
    store.update_trial(first, status="done", verdict="kept", screen_experiment_id=exp)
    assert [t.id for t in store.trials()] == [first, second] and [t.id for t in store.trials("l2")] == [second]
    assert (store.trial(first).verdict, store.trial(first).screen_experiment_id, store.trial(12345)) == ("kept", exp, None)
    assert store.take_over_trial(second, orphaned_by="a:1", worker="b:2")
    assert not store.take_over_trial(second, orphaned_by="a:1", worker="c:3")  # b:2 took it first
    assert store.trial(second).worker == "b:2"

    store.save_ruler_copy("a" * 64, {"parity.toml": "old"})
    store.save_ruler_copy("b" * 64, {"parity.toml": "new"})
    store.save_ruler_copy("a" * 64, {"parity.toml": "ignored: the first copy stays"})
    assert [c.fingerprint[0] for c in store.ruler_copies()] == ["b", "a"] and store.ruler_copy("a" * 64).files == {"parity.toml": "old"}


def test_a_dataset_is_found_by_name_or_fingerprint_prefix_newest_first(tmp_path: Path) -> None:
    from parity.store import DatasetRow

    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    for fingerprint in ("abc1", "abc2"):
        store.save_dataset(DatasetRow(name="pairs", kind="dpo", fingerprint=fingerprint, n_rows=1, path="p", provenance={}))
    assert store.find_dataset("pairs").fingerprint == "abc2"
    assert store.find_dataset("abc1").fingerprint == "abc1"
    assert store.find_dataset("zzz") is None


# --- the schema, kept by Alembic ---------------------------------------------------------------


def _schema_drift(url: str) -> list:
    """What Alembic's autogenerate would change to make the database match store/rows.py: nothing, or a migration is missing."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}), Base.metadata)
    finally:
        engine.dispose()


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return revision(conn)
    finally:
        engine.dispose()


def test_the_head_the_store_checks_for_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_a_new_store_is_built_by_the_migrations_at_head(url: str) -> None:
    Store(url)
    assert _revision(url) == HEAD
    assert _schema_drift(url) == []


WITH_PASSWORD = '[rubric]\nscale_min = 1\n\n[store]\nurl = "postgresql+psycopg://parity:hunter2@db.example/parity"\n'
KEY_IN_RULER = '[judge]\nkind = "llm"\nmodel = "litellm:openai/sk-proj-abcdefghijklmnopqrstuvwxyz123456"\n'


def _store_before_alembic(url: str, opened_by_last_release: bool) -> dict[str, int]:
    """A store with the schema parity made before it had migrations, and a row in every table."""
    engine = create_engine(url)
    words = {"serial": "SERIAL", "timestamp": "TIMESTAMP WITH TIME ZONE", "blob": "BYTEA"}
    if engine.dialect.name == "sqlite":
        words = {"serial": "INTEGER", "timestamp": "DATETIME", "blob": "BLOB"}
        Path(engine.url.database).parent.mkdir(parents=True)
    created, _, added = BEFORE_ALEMBIC.read_text().partition("-- >8 --\n")
    sql = created + (added if opened_by_last_release else "")
    ddl = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    stamp = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for statement in ddl.format(**words).split(";"):
            if statement.strip():
                conn.execute(text(statement))
        tables = MetaData()
        tables.reflect(conn)

        def add(table: str, **values) -> int:
            result = conn.execute(insert(tables.tables[table]).values(**values))
            return result.inserted_primary_key[0]

        exp = add(
            "experiments",
            created_at=stamp,
            ruler_fingerprint=FP,
            gate="full",
            agent_name="baseline",
            agent_config={"model": "llamacpp:smollm2-135m"},
            model_identity="m",
            hypothesis="stock",
            status="done",
            verdict="kept",
            quality=0.41,
            summary={"n": 2},
            cost_usd=0.0,
            **({"git_commit": "abc+dirty"} if opened_by_last_release else {}),
        )
        case = {"experiment_id": exp, "ruler_fingerprint": FP, "raw_text": "", "prompt_tokens": 3, "completion_tokens": 4}
        case |= {"latency_s": 0.1, "finish_reason": "stop", "cached": False, "cost_usd": 0.0, "judge": "reference"}
        case |= {"scores": {"a": 3.0}, "notes": {}, "agent_failed": False, "judge_cost_usd": 0.0}
        add("case_results", case_id="c0", answer={"title": "t"}, judgment_status="scored", reason="critical: hedging", quality=0.0, **case)
        add("case_results", case_id="c1", answer=None, judgment_status="unscored", reason="truncated: hit 512 tokens", **case)
        add("case_results", case_id="c2", answer={"title": "u"}, judgment_status="scored", quality=0.42, **case)
        trial = add(
            "loop_trials",
            created_at=stamp,
            loop="l",
            proposer="grid",
            worker="h:1",
            hypothesis="",
            lever="fewshot",
            patch={"fewshot.k": 2},
            config={},
            config_hash="h",
            status="done",
            decide_experiment_id=exp,
        )
        add("ruler_copies", fingerprint=FP, created_at=stamp, files={"parity.toml": "x"})
        add("ruler_copies", fingerprint="b" * 64, created_at=stamp, files={"parity.toml": WITH_PASSWORD, "ruler/LOCK": "l"})
        add("ruler_copies", fingerprint="c" * 64, created_at=stamp, files={"parity.toml": KEY_IN_RULER})
        add("datasets", created_at=stamp, name="pairs", kind="dpo", fingerprint="d" * 64, n_rows=1, path="p", provenance={})
        add(
            "adapters",
            name="ad",
            created_at=stamp,
            recipe="sft",
            base="smollm2-135m",
            base_identity="b",
            options={},
            curves={"loss": [[1, 2.0]]},
            status="done",
            path="p",
            summary={},
        )
        add("ceilings", ruler_fingerprint=FP, gate="full", quality=0.7, ci_low=0.6, ci_high=0.8, summary={})
        add(
            "analyses",
            created_at=stamp,
            kind="noise",
            ruler_fingerprint=FP,
            params={},
            columns=["a"],
            rows=[[1]],
            findings=[],
            png=b"\x89PNG",
            svg="<svg/>",
        )
    engine.dispose()
    return {"experiment": exp, "trial": trial}


@pytest.mark.parametrize("opened_by_last_release", [True, False], ids=["opened-by-last-release", "older"])
def test_a_store_from_before_migrations_upgrades_in_place_keeping_its_rows(url: str, opened_by_last_release: bool) -> None:
    ids = _store_before_alembic(url, opened_by_last_release)
    assert _revision(url) is None

    store = Store(url)
    assert _revision(url) == HEAD
    assert _schema_drift(url) == []  # an older store gains the columns it lacked, as it did at every open before
    row = store.experiment(ids["experiment"])
    assert (row.agent_name, row.verdict, row.quality, row.summary, row.agent_config) == (
        "baseline",
        "kept",
        0.41,
        {"n": 2},
        {"model": "llamacpp:smollm2-135m"},
    )
    assert row.created_at.replace(tzinfo=UTC) == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert row.git_commit == ("abc+dirty" if opened_by_last_release else None)
    cases = [(c.case_id, c.answer, c.reason, c.trace) for c in store.case_rows(row.id)]
    assert cases == [
        ("c0", {"title": "t"}, "critical: hedging", None),
        ("c1", None, "truncated: hit 512 tokens", None),
        ("c2", {"title": "u"}, None, None),
    ]
    # Revision 0002 read what the reasons said into columns of their own.
    assert [(c.unscored, c.critical) for c in store.case_rows(row.id)] == [(None, "hedging"), ("truncated", None), (None, None)]
    assert store.running_best(FP, "full").id == row.id
    assert store.trial(ids["trial"]).patch == {"fewshot.k": 2}
    assert store.ruler_copy(FP).files == {"parity.toml": "x"}
    # Revision 0003 took the credentials out of the stored parity.toml, leaving the ruler's tables as they were.
    assert store.ruler_copy("b" * 64).files == {"parity.toml": WITH_PASSWORD.replace(":hunter2@", ":***@"), "ruler/LOCK": "l"}
    assert store.ruler_copy("c" * 64).files == {"parity.toml": KEY_IN_RULER}  # hiding it would change the ruler
    assert store.find_dataset("pairs").fingerprint == "d" * 64
    assert store.adapter("ad").curves == {"loss": [[1, 2.0]]}
    assert store.ceiling(FP, "full").quality == 0.7
    assert store.analyses()[0].png == b"\x89PNG"
    # New rows go on after the old ones (on PostgreSQL: the old tables' sequences still serve).
    assert _fill(store) > row.id
    Store(url)  # opening it again changes nothing
    assert _revision(url) == HEAD


def test_the_store_and_the_loop_optuna_study_share_one_database(url: str) -> None:
    """Optuna keeps its schema with Alembic too, in the same database (the loop's study lives in the
    store's), under Alembic's default version table: the store's revisions must never land there."""
    import optuna

    _store_before_alembic(url, opened_by_last_release=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="loop", storage=optuna.storages.RDBStorage(url))
    study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.5))

    store = Store(url)
    assert _revision(url) == HEAD and store.running_best(FP, "full") is not None
    again = optuna.load_study(study_name="loop", storage=optuna.storages.RDBStorage(url))
    assert [t.value for t in again.trials] == [0.5]
    Store(url)


def _open(url: str, barrier) -> None:
    barrier.wait()
    Store(url)


def test_workers_opening_a_new_store_at_once_all_succeed(url: str) -> None:
    """The loop's workers may be the first to open a store, together: one migrates, the others wait for it."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    workers = [context.Process(target=_open, args=(url, barrier)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    assert _revision(url) == HEAD and _schema_drift(url) == []


def test_a_store_from_a_newer_parity_is_a_one_line_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    Store(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ParityError) as caught:
        Store(url)
    assert "revision 9999, which this parity does not know" in str(caught.value) and "upgrade parity" in str(caught.value)
    assert "\n" not in str(caught.value)


# --- URLs in messages --------------------------------------------------------------------------


def test_urls_in_messages_hide_passwords() -> None:
    assert safe_url("postgresql+psycopg://me:secret@db/parity") == "postgresql+psycopg://me:***@db/parity"
    assert (
        safe_url("postgresql+psycopg://me:p%40ss%3Aw@db:5432/parity?sslmode=require")
        == "postgresql+psycopg://me:***@db:5432/parity?sslmode=require"
    )
    assert safe_url("postgresql://me@db/parity") == "postgresql://me@db/parity"
    assert safe_url("sqlite:///x.db") == "sqlite:///x.db"
    assert safe_url("not a url") == "not a url"
    assert safe_url("postgresql://me:secret@db:port/x") == "***@db:port/x"  # unparseable: nothing before the @


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "nosuchdb://me:secret@db/x",
        "postgresql+psycopg://me:secret@127.0.0.1:notaport/x",
        "postgresql+psycopg://me:secret@127.0.0.1:1/x",
    ],
    ids=["malformed", "unknown-dialect", "port-not-a-number", "refused"],
)
def test_a_store_that_cannot_be_opened_is_a_one_line_error_without_the_password(url: str) -> None:
    with pytest.raises(ParityError) as caught:
        Store(url)
    message = caught.value.line()
    assert caught.value.what.startswith("cannot open the store (") and "\n" not in message and "secret" not in message
    assert caught.value.fix == "check the database URL in parity.toml [store] or PARITY_DB"

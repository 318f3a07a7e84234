"""The store on real SQLite (and on Postgres when PARITY_TEST_PG_URL points at one)."""

from __future__ import annotations

import pytest

from parity.store import CaseRow, CeilingRow, Store, _safe


def _fill(store: Store) -> int:
    exp = store.create_experiment(
        ruler_fingerprint="f" * 64, gate="dev", agent_name="baseline", agent_config={"model": "x"}, model_identity="m", hypothesis="h"
    )
    for i in range(3):
        store.record_case(
            CaseRow(
                experiment_id=exp,
                case_id=f"c{i}",
                ruler_fingerprint="f" * 64,
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


def _exercise(store: Store) -> None:
    exp = _fill(store)
    assert [r.case_id for r in store.case_rows(exp)] == ["c0", "c1", "c2"]
    assert store.running_best("f" * 64, "dev").id == exp
    assert store.running_best("0" * 64, "dev") is None  # other rulers are never compared
    store.save_ceiling(CeilingRow(ruler_fingerprint="f" * 64, gate="dev", quality=0.7, ci_low=0.6, ci_high=0.8, summary={}))
    assert store.ceiling("f" * 64, "dev").quality == 0.7
    assert store.experiment(exp).agent_config == {"model": "x"}


def test_sqlite_store_round_trip(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'sub' / 'parity.db'}")
    _exercise(store)
    # A second process opening the same file sees the same experiments.
    assert len(Store(store.url).experiments()) == 1


def test_duplicate_case_in_one_experiment_is_refused(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    exp = _fill(store)
    with pytest.raises(Exception):
        store.record_case(CaseRow(experiment_id=exp, case_id="c0", ruler_fingerprint="f" * 64, judge="reference", judgment_status="scored"))
    assert len(store.case_rows(exp)) == 3


def test_postgres_store_round_trip(pg_url) -> None:
    _exercise(Store(pg_url))


def test_urls_in_messages_hide_passwords() -> None:
    assert _safe("postgresql+psycopg://me:secret@db/parity") == "postgresql+psycopg://me:***@db/parity"
    assert _safe("sqlite:///x.db") == "sqlite:///x.db"


def test_the_screen_bar_is_the_running_best_own_screen(tmp_path) -> None:
    """A config that won on dev and lost on full must not raise the bar for later screens."""
    store = Store(f"sqlite:///{tmp_path / 's.db'}")

    def experiment(gate: str, quality: float, verdict: str, screened_by: int | None = None) -> int:
        exp = store.create_experiment(
            ruler_fingerprint="f" * 64,
            gate=gate,
            agent_name="a",
            agent_config={},
            model_identity="m",
            hypothesis="h",
            screened_by=screened_by,
        )
        store.update_experiment(exp, status="done", verdict=verdict, quality=quality)
        return exp

    assert store.screen_bar("f" * 64, "dev", "full") is None
    first_screen = experiment("dev", 0.355, "kept")
    assert store.screen_bar("f" * 64, "dev", "full", exclude=first_screen) is None  # nothing else to beat yet
    experiment("full", 0.344, "kept", screened_by=first_screen)
    lucky_screen = experiment("dev", 0.365, "kept")
    experiment("full", 0.349, "discarded", screened_by=lucky_screen)
    assert store.screen_bar("f" * 64, "dev", "full").id == first_screen
    assert store.running_best("f" * 64, "dev").id == lucky_screen  # what the bar used to be


def test_an_experiment_on_an_adapter_or_its_export_pulled_the_weights_lever(tmp_path) -> None:
    from parity.store import AdapterRow
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
            ruler_fingerprint="f" * 64,
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
    assert (
        trial_levers(store) == {relative: "weights", absolute: "weights", on_base: "weights"}
        and baseline not in trial_levers(store)
        and other
    )

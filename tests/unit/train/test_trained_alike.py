"""Which finished adapter a training job would reproduce, read from a real SQLite store: only one with
the same recipe, base weights, data, optimizer run and LoRA shape, and only once it has finished."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.statuses import RunStatus
from parity.store import AdapterRow, Store
from parity.train.base import BaseWeights
from parity.train.recipes import registry
from parity.train.recipes.options import LoraOptions
from parity.train.run import trained_alike

SFT = registry()["sft"]
BASE = BaseWeights("smollm2-135m", Path("m.gguf"), Path("m"), "base-sha")
LORA = LoraOptions(targets=("q_proj", "v_proj"))


def _row(name: str, **changes) -> AdapterRow:
    options, _ = SFT.options_from({"epochs": 2, "learning_rate": 3e-4})
    fields = {
        "recipe": "sft",
        "base_identity": BASE.identity,
        "dataset_fingerprint": "data-1",
        "train": options.record(),
        "lora": LORA.model_dump(),
        "status": RunStatus.DONE,
        **changes,
    }
    return AdapterRow(
        name=name,
        recipe=fields["recipe"],
        base="smollm2-135m",
        base_identity=fields["base_identity"],
        dataset_fingerprint=fields["dataset_fingerprint"],
        options={
            "train": fields["train"],
            "lora": fields["lora"],
            "dataset": fields["dataset_fingerprint"],
            "placement": {"device": "cpu"},
        },
        status=fields["status"],
        path=f"/adapters/{name}/adapter",
        train_s=12.5,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'parity.db'}")


def _find(store: Store, epochs: float = 2, lr: float = 3e-4, data: str = "data-1", lora: LoraOptions = LORA) -> str | None:
    options, _ = SFT.options_from({"epochs": epochs, "learning_rate": lr})
    row = trained_alike(store, SFT, BASE, data, options, lora)
    return row.name if row else None


def test_a_finished_adapter_trained_the_same_way_is_found(store: Store) -> None:
    store.save_adapter(_row("sft-e2"))
    assert _find(store) == "sft-e2"


@pytest.mark.parametrize(
    "changes",
    [
        {"status": RunStatus.RUNNING},
        {"status": RunStatus.FAILED},
        {"recipe": "dpo"},
        {"base_identity": "other-sha"},
        {"dataset_fingerprint": "data-2"},
        {"lora": LoraOptions(rank=8, targets=("q_proj", "v_proj")).model_dump()},
    ],
    ids=["running", "failed", "recipe", "base", "data", "lora"],
)
def test_anything_that_changes_the_result_or_an_unfinished_run_is_not_reused(store: Store, changes: dict) -> None:
    store.save_adapter(_row("other", **changes))
    assert _find(store) is None


def test_the_optimizer_run_must_match(store: Store) -> None:
    store.save_adapter(_row("sft-e2"))
    assert _find(store, epochs=1) is None
    assert _find(store, lr=2e-4) is None
    assert _find(store, lora=LoraOptions(targets=("q_proj",))) is None
    assert _find(store, data="data-3") is None


def test_an_adapter_stored_before_full_fine_tuning_existed_is_still_found_and_a_full_run_is_not_it(store: Store) -> None:
    options, _ = SFT.options_from({"epochs": 2, "learning_rate": 3e-4})
    before = {key: value for key, value in options.record().items() if key != "full"}  # as stored by an earlier parity
    store.save_adapter(_row("sft-old", train=before))
    assert _find(store) == "sft-old"
    full, _ = SFT.options_from({"epochs": 2, "learning_rate": 3e-4, "full": True})
    assert trained_alike(store, SFT, BASE, "data-1", full, LORA) is None


@pytest.mark.parametrize("reused", [True, False], ids=["reused", "trained"])
def test_training_is_announced_only_when_it_will_train(ws, monkeypatch: pytest.MonkeyPatch, reused: bool) -> None:
    """A job that finds an adapter trained the same way says nothing of training; the caller says it reused one."""
    from parity.ruler import load_ruler
    from parity.train.run import TrainJob, train_from_corpus
    from parity.train.trainer import TrainResult

    monkeypatch.setattr("parity.train.run.resolve_base", lambda text, root: BASE)
    monkeypatch.setattr("parity.train.run.decide_placement", lambda options, base: None)
    monkeypatch.setattr("parity.train.run.trained_alike", lambda *args: _row("sft-e2") if reused else None)
    monkeypatch.setattr("parity.train.run.train_adapter", lambda *args: TrainResult("loop1-sft", Path("a"), 1.0, {}))
    monkeypatch.setattr(SFT, "check", lambda options, placement: options)
    options, _ = SFT.options_from({"epochs": 2})
    said: list[str] = []
    store = Store(f"sqlite:///{ws.state_dir.parent / 'parity.db'}")
    result = train_from_corpus(ws, load_ruler(ws), store, TrainJob(SFT, "loop1-sft", options, LORA, reuse=True), said.append)
    assert result.name == ("sft-e2" if reused else "loop1-sft")
    assert [line.split(":")[0] for line in said] == ([] if reused else ["sft loop1-sft"])

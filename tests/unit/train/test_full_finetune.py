"""Full fine-tuning (`--full`): no LoRA wraps the base, and the result is a whole transformers model that
an agent serves as `model: hf:FOLDER`. Whatever expects an adapter says so in one line when handed
one: an agent's `adapter:` line, `export gguf --lora`, `analyze serving`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from parity.agent import load_agent
from parity.analysis.serving import variants
from parity.errors import ParityError
from parity.models.hf import is_whole_model
from parity.statuses import RunStatus
from parity.store import AdapterRow, Store
from parity.task import load_workspace
from parity.train.export import export_recorded
from parity.train.recipes import registry
from parity.train.recipes.options import LoraOptions
from parity.train.trainer import peft_config
from tests.helpers.workspace import write_agent


def _whole_model(ws_dir: Path, name: str) -> tuple[Store, AdapterRow]:
    folder = ws_dir / ".parity" / "adapters" / name / "adapter"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    store = Store.for_workspace(load_workspace(ws_dir))
    row = AdapterRow(
        name=name,
        recipe="sft",
        base="smollm2-135m",
        base_identity="sha256:base",
        dataset_fingerprint="data",
        options={"train": {"full": True}},
        status=RunStatus.DONE,
        path=str(folder),
    )
    store.save_adapter(row)
    return store, row


def test_full_fine_tuning_wraps_no_lora_and_lora_runs_keep_theirs() -> None:
    full, _ = registry()["sft"].options_from({"full": True})
    lora = LoraOptions(rank=4, targets=("q_proj",))
    assert peft_config(SimpleNamespace(options=full, lora=lora)) is None
    wrapped = peft_config(SimpleNamespace(options=registry()["sft"].options_model(), lora=lora))
    assert (wrapped.r, wrapped.target_modules) == (4, {"q_proj"})


def test_a_whole_model_is_told_from_an_adapter_by_its_files(tmp_path: Path) -> None:
    (tmp_path / "whole").mkdir()
    (tmp_path / "whole" / "config.json").write_text("{}")
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "config.json").write_text("{}")  # a PEFT folder may carry its base's config too
    (tmp_path / "lora" / "adapter_config.json").write_text("{}")
    assert is_whole_model(tmp_path / "whole") and not is_whole_model(tmp_path / "lora") and not is_whole_model(tmp_path / "none")


def test_an_agent_naming_a_whole_model_as_its_adapter_is_told_how_to_serve_it(ws_dir: Path) -> None:
    _whole_model(ws_dir, "full-1")
    write_agent(ws_dir, "tuned", "hf:smollm2-135m", adapter="full-1")
    with pytest.raises(ParityError) as refused:
        load_agent(load_workspace(ws_dir), "tuned")
    assert refused.value.line() == (
        "agents/tuned.yaml: 'full-1' was fully fine-tuned (--full): it is a whole model, not an adapter — "
        "serve it as  model: hf:.parity/adapters/full-1/adapter  and remove the adapter: line"
    )


def test_a_whole_model_has_no_gguf_lora_and_no_adapter_serving_analysis(ws_dir: Path) -> None:
    store, row = _whole_model(ws_dir, "full-1")
    with pytest.raises(ParityError) as lora:
        export_recorded(store, row, ws_dir, {}, ws_dir / "x-lora.gguf")
    assert lora.value.line().startswith("--lora: 'full-1' was fully fine-tuned (--full): it is a whole model, not a LoRA")
    with pytest.raises(ParityError) as serving:
        variants(load_workspace(ws_dir), store, "full-1", ["f16"], [], lambda line: None)
    assert "there is no adapter to serve in other ways" in serving.value.line()
    assert not (ws_dir / "x-lora.gguf").exists() and not (ws_dir / ".parity" / "exports").exists()

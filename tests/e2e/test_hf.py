"""transformers in process: the bundled GGUF de-quantized into torch, and a LoRA adapter on top of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.agent import load_agent
from tests.helpers.cli import run_parity, show_json
from tests.helpers.workspace import TINY_GATE, add_gates, write_agent

pytestmark = pytest.mark.slow


def test_hf_and_llamacpp_both_answer_the_same_gate(ws_dir: Path) -> None:
    add_gates(ws_dir, tiny=TINY_GATE)
    write_agent(ws_dir, "torch", "hf:smollm2-135m")
    for agent in ("baseline", "torch"):
        result = run_parity("run", agent, "--gate", "tiny", "--hypothesis", f"engine {agent}", cwd=ws_dir)
        assert result.returncode == 0, result.stderr
    rows = show_json(ws_dir)
    assert [r["model"] for r in rows] == ["llamacpp:smollm2-135m", "hf:smollm2-135m"]
    assert all(r["n_cases"] == 2 and r["n_unscored"] == 0 and r["quality"] is not None for r in rows)
    listing = run_parity("show", cwd=ws_dir).stdout
    for r in rows:
        assert f"{r['quality']:.3f}" in listing


def test_adapter_is_put_on_the_base_not_merged(ws) -> None:
    from peft import LoraConfig, PeftModel, get_peft_model

    from parity.models.hf import load_base
    from parity.models.spec import embedded_model_path

    _, base = load_base(str(embedded_model_path("smollm2-135m")))
    import copy

    lora = get_peft_model(copy.deepcopy(base), LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    adapter_dir = ws.root / "adapters" / "random-lora"
    lora.save_pretrained(adapter_dir)

    write_agent(ws.root, "plain", "hf:smollm2-135m", max_tokens=96)
    write_agent(ws.root, "adapted", "hf:smollm2-135m", adapter="adapters/random-lora", max_tokens=96)
    plain, adapted = load_agent(ws, "plain", use_cache=False), load_agent(ws, "adapted", use_cache=False)
    assert plain.model.identity != adapted.model.identity and "+lora:sha256:" in adapted.model.identity

    before = plain.answer("plan a weekend in Rome").completion.text
    with_adapter = adapted.answer("plan a weekend in Rome")
    after = plain.answer("plan a weekend in Rome").completion.text
    assert isinstance(adapted.model.inner._model if hasattr(adapted.model, "inner") else adapted.model._model, PeftModel)
    assert with_adapter.completion.text != before  # the adapter changes what the model says
    assert after == before  # and the base it sits on is untouched


def test_an_adapter_runs_on_an_in_process_model_and_a_broken_one_is_one_line(ws_dir: Path) -> None:
    (ws_dir / "adapters" / "x").mkdir(parents=True)
    (ws_dir / "adapters" / "x" / "adapter_config.json").write_text("{}")
    write_agent(ws_dir, "served", "openai:x@http://127.0.0.1:9/v1", adapter="adapters/x")
    served = run_parity("run", "served", cwd=ws_dir)
    assert served.returncode == 2 and "an adapter runs on an in-process model" in served.stderr
    write_agent(ws_dir, "bad", "llamacpp:smollm2-135m", adapter="adapters/x")  # llama.cpp takes it as a GGUF LoRA
    result = run_parity("run", "bad", cwd=ws_dir)
    assert result.returncode == 2 and "adapter_model.safetensors is missing" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

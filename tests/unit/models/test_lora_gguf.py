"""The GGUF LoRA: PEFT names mapped to llama.cpp's, a file llama.cpp itself loads onto the bundled Q4_1
base, a zero adapter that changes nothing, a real one that changes the output, and every unreadable
or unsupported adapter refused in one line before llama.cpp sees it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from parity.errors import ParityError
from parity.models.lora_gguf import check_lora, export_lora, gguf_tensor_name, lora_for
from parity.models.spec import embedded_model_path

TARGETS = {"self_attn.q_proj": (576, 576), "self_attn.k_proj": (192, 576), "mlp.down_proj": (576, 1536)}  # (out, in)
LAYERS = 30


@pytest.mark.parametrize(
    ("peft", "gguf"),
    [
        ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", ("blk.0.attn_q.weight", "lora_a")),
        ("base_model.model.model.layers.29.mlp.down_proj.lora_B.weight", ("blk.29.ffn_down.weight", "lora_b")),
        ("base_model.model.model.layers.7.self_attn.o_proj.lora_B.weight", ("blk.7.attn_output.weight", "lora_b")),
    ],
)
def test_peft_names_map_to_llama_cpp_names(peft: str, gguf: tuple[str, str]) -> None:
    assert gguf_tensor_name(peft) == gguf


@pytest.mark.parametrize(
    "peft",
    [
        "base_model.model.model.embed_tokens.lora_embedding_A",
        "base_model.model.lm_head.lora_A.weight",
        "base_model.model.model.layers.0.input_layernorm.lora_A.weight",
        "base_model.model.model.layers.x.self_attn.q_proj.lora_A.weight",
        "something.else",
    ],
)
def test_tensors_llama_cpp_cannot_take_are_refused(peft: str) -> None:
    with pytest.raises(ParityError, match="cannot export adapter tensor"):
        gguf_tensor_name(peft)


def _adapter(folder: Path, scale_b: float, rank: int = 4, **config: object) -> Path:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    weights = {}
    for layer in range(LAYERS):
        for module, (out, inp) in TARGETS.items():
            prefix = f"base_model.model.model.layers.{layer}.{module}"
            weights[f"{prefix}.lora_A.weight"] = rng.standard_normal((rank, inp)).astype(np.float32) * 0.05
            weights[f"{prefix}.lora_B.weight"] = rng.standard_normal((out, rank)).astype(np.float32) * scale_b
    folder.mkdir(parents=True)
    save_file(weights, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank, "lora_alpha": 2 * rank, "peft_type": "LORA", **config}))
    return folder


def _greedy(lora: Path | None) -> str:
    from llama_cpp import Llama

    llama = Llama(str(embedded_model_path("smollm2-135m")), lora_path=str(lora) if lora else None, n_ctx=512, n_threads=1, verbose=False)
    try:
        out = llama.create_chat_completion(
            messages=[{"role": "user", "content": "Plan a trip to Paris: what should I ask first?"}], max_tokens=16, temperature=0.0, seed=0
        )
        return out["choices"][0]["message"]["content"]
    finally:
        llama.close()


def test_llama_cpp_loads_the_export_and_a_zero_adapter_changes_nothing(tmp_path: Path) -> None:
    import gguf

    base = embedded_model_path("smollm2-135m")
    zero = export_lora(base, _adapter(tmp_path / "zero", 0.0), tmp_path / "zero.gguf", "zero")
    strong = export_lora(base, _adapter(tmp_path / "strong", 0.5), tmp_path / "strong.gguf", "strong")
    reader = gguf.GGUFReader(str(strong))
    assert reader.fields["general.type"].contents() == "adapter" and reader.fields["adapter.type"].contents() == "lora"
    assert reader.fields["adapter.lora.alpha"].contents() == 8.0 and reader.fields["parity.adapter"].contents() == "strong"
    assert len(reader.tensors) == LAYERS * len(TARGETS) * 2
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temp file, renamed
    stock = _greedy(None)
    assert _greedy(zero) == stock
    assert _greedy(strong) != stock


def test_agents_convert_once_per_adapter_and_base(tmp_path: Path) -> None:
    base = embedded_model_path("smollm2-135m")
    adapter = _adapter(tmp_path / "a", 0.0)
    first = lora_for(adapter, base, tmp_path / "cache")
    stamp = first.stat().st_mtime_ns
    assert lora_for(adapter, base, tmp_path / "cache") == first and first.stat().st_mtime_ns == stamp
    given = tmp_path / "given.gguf"
    given.write_bytes(first.read_bytes())
    assert lora_for(given, base, tmp_path / "cache") == given  # a GGUF LoRA is used as it is


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        ("no-config", "adapter_config.json is missing"),
        ("no-weights", "adapter_model.safetensors is missing"),
        ("bad-weights", "cannot read the adapter"),
        ("bad-config", "cannot read the adapter"),
        ("no-alpha", "has no numeric lora_alpha"),
        ("dora", "DoRA or rsLoRA"),
        ("wrong-shape", "does not fit the base"),
        ("not-gguf", "cannot read"),
    ],
)
def test_a_bad_adapter_or_base_is_one_line(tmp_path: Path, damage: str, fragment: str) -> None:
    adapter = _adapter(tmp_path / "a", 0.0, rank=8 if damage == "wrong-shape" else 4, use_dora=damage == "dora")
    base = embedded_model_path("smollm2-135m")
    if damage == "no-config":
        (adapter / "adapter_config.json").unlink()
    elif damage == "no-weights":
        (adapter / "adapter_model.safetensors").unlink()
    elif damage == "bad-weights":
        (adapter / "adapter_model.safetensors").write_bytes(b"\x00\x01 not safetensors")
    elif damage == "bad-config":
        (adapter / "adapter_config.json").write_text("{nope")
    elif damage == "no-alpha":
        (adapter / "adapter_config.json").write_text(json.dumps({"r": 4}))
    elif damage == "wrong-shape":
        from safetensors.numpy import load_file, save_file

        weights = load_file(str(adapter / "adapter_model.safetensors"))
        name = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"
        weights[name] = np.zeros((576, 4), dtype=np.float32)  # rank 4 against A's rank 8
        save_file(weights, str(adapter / "adapter_model.safetensors"))
    elif damage == "not-gguf":
        base = tmp_path / "fake.gguf"
        base.write_bytes(b"GGUF but not really")
    with pytest.raises(ParityError) as caught:
        export_lora(base, adapter, tmp_path / "out.gguf", "x")
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out.gguf").exists()


def test_a_gguf_given_as_a_lora_is_read_before_llama_cpp_would_crash_on_it(tmp_path: Path) -> None:
    """llama.cpp segfaults on a damaged LoRA file, so parity reads it first."""
    base = embedded_model_path("smollm2-135m")
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"GGUF\x03\x00\x00\x00 and nothing after")
    for lora, fragment in [(garbage, "cannot read"), (base, "is not a GGUF LoRA (general.type 'model')")]:
        with pytest.raises(ParityError, match=re.escape(fragment)):
            check_lora(lora, base)
    good = export_lora(base, _adapter(tmp_path / "a", 0.0), tmp_path / "good.gguf", "good")
    check_lora(good, base)

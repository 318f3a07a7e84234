"""`parity export gguf NAME`: the adapter merged into its base and written as a GGUF file that the
llama.cpp backend runs at full speed.

The metadata (hyper-parameters, tokenizer, chat template) is copied from the base's own GGUF, so the
export tokenizes and prompts exactly as the base does; only the weights are replaced. llama.cpp
stores q and k projections with their rotary halves interleaved per head, which transformers'
GGUF loader undid: they are permuted back here, or the export would answer nonsense."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from parity.errors import ParityError
from parity.train.base import BaseWeights

QUANTS = ("f16", "q8_0")

# llama.cpp tensor name (after "blk.N.") -> transformers parameter name (after "model.layers.N.")
BLOCK_TENSORS = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
GLOBAL_TENSORS = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


def rotary_permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """transformers' q/k layout → llama.cpp's (the inverse of what its GGUF loader does)."""
    return weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def merged_state_dict(base: BaseWeights, adapter: Path) -> tuple[dict[str, np.ndarray], Any]:
    import warnings

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the command shows its own status line
    model = AutoModelForCausalLM.from_pretrained(str(base.folder), dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' checkpointing renames, asked by PEFT
        merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    return {name: tensor.detach().float().numpy() for name, tensor in merged.state_dict().items()}, merged.config


def hf_name(gguf_name: str) -> str:
    if gguf_name in GLOBAL_TENSORS:
        return GLOBAL_TENSORS[gguf_name]
    _, layer, rest = gguf_name.split(".", 2)
    if rest not in BLOCK_TENSORS:
        raise ParityError(
            f"cannot export tensor '{gguf_name}': only llama-architecture models are supported",
            "parity export",
            "export a llama-architecture base (SmolLM2, Llama, Qwen-like layouts are not yet mapped)",
        )
    return f"model.layers.{layer}.{BLOCK_TENSORS[rest]}"


def export_gguf(base: BaseWeights, adapter: Path, out: Path, quant: str = "f16") -> Path:
    import gguf

    if base.source.suffix != ".gguf":
        raise ParityError(
            f"cannot export onto {base.spec}: the export copies its metadata from the base's GGUF file",
            "parity export",
            "train on a .gguf base (such as smollm2-135m) to export to GGUF",
        )
    if quant not in QUANTS:
        raise ParityError(f"unknown quantization '{quant}'", "--quant", f"use one of: {', '.join(QUANTS)}")
    reader = gguf.GGUFReader(str(base.source))
    arch = str(reader.fields["general.architecture"].contents())
    if arch != "llama":
        raise ParityError(f"cannot export a '{arch}' model yet", "parity export", "only llama-architecture bases are supported")
    weights, config = merged_state_dict(base, adapter)
    n_head, n_head_kv = config.num_attention_heads, config.num_key_value_heads
    qtype = gguf.GGMLQuantizationType.F16 if quant == "f16" else gguf.GGMLQuantizationType.Q8_0
    file_type = gguf.LlamaFileType.MOSTLY_F16 if quant == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(str(staging), arch)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF.") or field.name == gguf.Keys.General.FILE_TYPE:
            continue
        kind = field.types[0]
        writer.add_key_value(field.name, field.contents(), kind, sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    writer.add_file_type(file_type)
    for tensor in reader.tensors:
        name = hf_name(tensor.name)
        if name not in weights and name == "lm_head.weight":
            name = "model.embed_tokens.weight"  # tied embeddings
        data = weights[name]
        if tensor.name.endswith("attn_q.weight"):
            data = rotary_permute(data, n_head)
        elif tensor.name.endswith("attn_k.weight"):
            data = rotary_permute(data, n_head_kv)
        if data.ndim == 1:
            writer.add_tensor(tensor.name, data.astype(np.float32))  # norms stay f32, as llama.cpp expects
        elif qtype == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(tensor.name, data.astype(np.float16))
        else:
            writer.add_tensor(tensor.name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        staging.replace(out)
    finally:
        staging.unlink(missing_ok=True)
    return out

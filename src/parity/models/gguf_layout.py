"""How llama.cpp lays out a llama-architecture model in GGUF, against transformers: tensor names, and
the q/k rows it stores with their rotary halves interleaved per head (transformers' GGUF loader
undoes that, so an export must redo it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

ADAPTER_KEY = "parity.adapter"

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


def staging_path(out: Path) -> Path:
    """Where a GGUF is written before it is renamed into place: beside it, hidden, per process."""
    return out.with_name(f".{out.name}.{os.getpid()}.tmp")


def finish_gguf(writer: Any, out: Path) -> None:
    """Write a gguf-py writer (opened on `staging_path(out)`) to disk and rename the file into place;
    nothing half-written is left behind if it fails."""
    staging = staging_path(out)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        staging.replace(out)
    finally:
        staging.unlink(missing_ok=True)

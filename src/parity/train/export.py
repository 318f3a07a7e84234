"""`parity export gguf NAME --quant f16,q8_0,q6_k,q5_k_m,q4_k_m`: the adapter merged into its base and
written as GGUF files that the llama.cpp backend runs at full speed, one per rung of the quantization
ladder. f16 and q8_0 are written from the merged weights; the k-quants by llama.cpp's own quantizer
(`llama_model_quantize`) from the f16 file, so they are what llama.cpp's tools would make. Each file says
which adapter it holds (`parity.adapter`); its weight type is llama.cpp's `general.file_type`.

The metadata (hyper-parameters, tokenizer, chat template) is copied from the base's own GGUF, so the
export tokenizes and prompts exactly as the base does; only the weights are replaced. llama.cpp
stores q and k projections with their rotary halves interleaved per head, which transformers'
GGUF loader undid: they are permuted back here, or the export would answer nonsense."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from parity.errors import ParityError
from parity.models.gguf_layout import ADAPTER_KEY, BLOCK_TENSORS, GLOBAL_TENSORS, finish_gguf, rotary_permute, staging_path
from parity.train.base import BaseWeights

QUANTS = ("f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m")
K_QUANTS = {"q6_k": "LLAMA_FTYPE_MOSTLY_Q6_K", "q5_k_m": "LLAMA_FTYPE_MOSTLY_Q5_K_M", "q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M"}


def merged_model(base: BaseWeights, adapter: Path | None) -> Any:
    """The base with the adapter merged in, in float32 (the base alone without one)."""
    import warnings

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    from parity.models.hf import is_whole_model

    hf_logging.disable_progress_bar()  # the command shows its own status line
    if adapter is not None and is_whole_model(adapter):  # fully fine-tuned: nothing to merge
        return AutoModelForCausalLM.from_pretrained(str(adapter), dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(str(base.folder), dtype=torch.float32)
    if adapter is None:
        return model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' checkpointing renames, asked by PEFT
        return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()


def merged_state_dict(base: BaseWeights, adapter: Path | None) -> tuple[dict[str, np.ndarray], Any]:
    merged = merged_model(base, adapter)
    return {name: tensor.detach().float().numpy() for name, tensor in merged.state_dict().items()}, merged.config


def export_merged_folder(base: BaseWeights, adapter: Path, out: Path) -> Path:
    """The merged model as a transformers folder (weights and the base's tokenizer), written to a temp
    folder renamed into place: what a user serving with transformers, vLLM or TGI would ship."""
    import shutil

    from transformers import AutoTokenizer

    staging = staging_path(out)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        merged_model(base, adapter).save_pretrained(str(staging))
        AutoTokenizer.from_pretrained(str(base.folder)).save_pretrained(str(staging))
        if out.exists():
            shutil.rmtree(out)  # an earlier export of parity's own, under .parity/exports
        staging.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


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


def export_ladder(base: BaseWeights, adapter: Path | None, targets: dict[str, Path], identity: str) -> dict[str, tuple[Path, int]]:
    """Every requested rung of the ladder, each file written atomically; the merge is done once (no
    adapter: the base's own weights, for a GGUF LoRA to run on). Each rung: its file, and how many
    tensors llama.cpp kept at another type (k-quants only)."""
    import gguf

    unknown = [q for q in targets if q not in QUANTS]
    if unknown:
        raise ParityError(f"unknown quantization '{unknown[0]}'", "--quant", f"use any of: {', '.join(QUANTS)} (comma-separated)")
    if base.source.suffix != ".gguf":
        raise ParityError(
            f"cannot export onto {base.spec}: the export copies its metadata from the base's GGUF file",
            "parity export",
            "train on a .gguf base (such as smollm2-135m) to export to GGUF",
        )
    reader = gguf.GGUFReader(str(base.source))
    arch = str(reader.fields["general.architecture"].contents())
    if arch != "llama":
        raise ParityError(f"cannot export a '{arch}' model yet", "parity export", "only llama-architecture bases are supported")
    weights, config = merged_state_dict(base, adapter)
    written: dict[str, tuple[Path, int]] = {}
    master = targets.get("f16")
    needs_master = any(q in K_QUANTS for q in targets)
    scratch = None
    if master is None and needs_master:
        scratch = next(iter(targets.values())).with_name(f".f16-master.{os.getpid()}.gguf")
        master = scratch
    try:
        for quant in ("f16", "q8_0"):
            path = master if quant == "f16" else targets.get(quant)
            if path is not None and (quant in targets or needs_master):
                _write(reader, weights, config, path, quant, identity)
                if quant in targets:
                    written[quant] = (path, 0)
        for quant in (q for q in QUANTS if q in K_QUANTS and q in targets):
            assert master is not None
            written[quant] = (targets[quant], quantize(master, targets[quant], K_QUANTS[quant]))
    finally:
        if scratch is not None:
            scratch.unlink(missing_ok=True)
    return written


def quantize(source: Path, out: Path, ftype: str) -> int:
    """llama.cpp's own quantizer, from an f16 GGUF, into a temp file renamed into place. Returns how many
    tensors it kept at another type because their width does not fit the k-quant's 256-wide blocks (it
    says so on stderr, one line a tensor; the lines are counted here, not shown)."""
    import ctypes
    import logging

    import llama_cpp

    staging = staging_path(out)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, ftype)
    params.nthread = max(1, os.cpu_count() or 1)
    # llama.cpp logs every tensor it quantizes (hundreds of lines) through llama-cpp-python's logger: errors only.
    llama_log = logging.getLogger("llama-cpp-python")
    level = llama_log.level
    llama_log.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryFile() as said, _stderr_to(said):
            code = llama_cpp.llama_model_quantize(str(source).encode(), str(staging).encode(), ctypes.byref(params))
            said.seek(0)
            fallbacks = said.read().count(b"falling back to")
        if code != 0 or not staging.is_file():
            raise ParityError(
                f"llama.cpp could not quantize {source.name} to {ftype} (code {code})", "parity export", "try another --quant"
            )
        staging.replace(out)
    finally:
        llama_log.setLevel(level)
        staging.unlink(missing_ok=True)
    return fallbacks


@contextlib.contextmanager
def _stderr_to(file: Any) -> Iterator[None]:
    """File descriptor 2 into `file` for a while: llama.cpp's C code writes there, past Python's sys.stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _write(reader: Any, weights: dict[str, np.ndarray], config: Any, out: Path, quant: str, identity: str) -> None:
    import gguf

    n_head, n_head_kv = config.num_attention_heads, config.num_key_value_heads
    qtype = gguf.GGMLQuantizationType.F16 if quant == "f16" else gguf.GGMLQuantizationType.Q8_0
    file_type = gguf.LlamaFileType.MOSTLY_F16 if quant == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0
    arch = str(reader.fields["general.architecture"].contents())

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(staging_path(out)), arch)
    for field in reader.fields.values():
        if field.name in (gguf.Keys.General.ARCHITECTURE, gguf.Keys.General.FILE_TYPE, ADAPTER_KEY) or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        writer.add_key_value(field.name, field.contents(), kind, sub_type=field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None)
    writer.add_file_type(file_type)
    writer.add_string(ADAPTER_KEY, identity)
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
    finish_gguf(writer, out)


def trained_adapter(store: Any, name: str, where: str) -> Any:
    """The stored row of a finished adapter, or one line naming the ones there are."""
    from parity.statuses import RunStatus

    row = store.adapter(name)
    if row is None or row.status != RunStatus.DONE:
        known = ", ".join(a.name for a in store.adapters() if a.status == RunStatus.DONE) or "none yet"
        raise ParityError(f"no trained adapter named '{name}'", where, f"trained adapters: {known}")
    return row


def adapter_identity(row: Any) -> str:
    """What an exported file says it holds (`parity.adapter`): the adapter, its data and its base."""
    return f"{row.name} (data {(row.dataset_fingerprint or '')[:12]}, base {row.base_identity})"


def export_recorded(store: Any, row: Any, root: Path, targets: dict[str, Path], lora: Path | None = None) -> dict[str, tuple[Path, int]]:
    """Export a stored adapter's ladder rungs (and, given `lora`, its GGUF LoRA), each with an Ollama
    Modelfile beside it, and record every file in the adapter's summary (`exports`), so the dashboard
    and `analyze serving` find them."""
    from parity.models.hf import is_whole_model
    from parity.models.lora_gguf import export_lora
    from parity.train.base import resolve_base
    from parity.train.modelfile import chat_template, write_modelfile

    if lora is not None and is_whole_model(Path(row.path)):
        raise ParityError(
            f"'{row.name}' was fully fine-tuned (--full): it is a whole model, not a LoRA to write as one",
            "--lora",
            "export it merged instead: parity export gguf NAME --quant f16",
        )
    base = resolve_base(row.base, root)
    written = export_ladder(base, Path(row.path), targets, adapter_identity(row)) if targets else {}
    for path, _ in written.values():
        write_modelfile(path, chat_template(path))
    if lora is not None:
        written["lora"] = (export_lora(base.source, Path(row.path), lora, adapter_identity(row)), 0)
        write_modelfile(base.source, chat_template(base.source), lora)
    summary = row.summary or {}
    store.update_adapter(
        row.name, summary={**summary, "exports": {**summary.get("exports", {}), **{q: str(p) for q, (p, _) in written.items()}}}
    )
    return written

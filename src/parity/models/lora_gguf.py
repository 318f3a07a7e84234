"""`parity export gguf NAME --lora`: the adapter alone as a GGUF LoRA that llama.cpp applies at run
time to its base, including a quantized base (the on-device pattern: one shipped base, small adapters).

The file is what llama.cpp's own `convert_lora_to_gguf.py` writes: `general.type = adapter`,
`adapter.type = lora`, `adapter.lora.alpha`, and per adapted weight two tensors `NAME.lora_a` (rank ×
in) and `NAME.lora_b` (out × rank), named as the base GGUF names its weights. llama.cpp scales the
product by alpha / rank, as PEFT does. The q and k projections' rotary halves are interleaved by
llama.cpp (see gguf_layout.py): only B's rows are permuted, since P·(B·A) = (P·B)·A."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from parity.errors import ParityError
from parity.models.gguf_layout import ADAPTER_KEY, BLOCK_TENSORS, finish_gguf, rotary_permute, staging_path

HF_TO_GGUF = {hf: gguf for gguf, hf in BLOCK_TENSORS.items() if hf.endswith("_proj.weight")}  # LoRA adapts projections only
PEFT_PREFIX = "base_model.model.model.layers."


def gguf_tensor_name(peft_name: str) -> tuple[str, str]:
    """`base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight` → (`blk.3.attn_q.weight`, `lora_a`)."""
    if not peft_name.startswith(PEFT_PREFIX):
        raise _unsupported(peft_name)
    layer, rest = peft_name[len(PEFT_PREFIX) :].split(".", 1)
    module, _, part = rest.rpartition(".lora_")
    side = part.split(".", 1)[0]
    target = HF_TO_GGUF.get(f"{module}.weight")
    if target is None or side not in ("A", "B") or not layer.isdigit():
        raise _unsupported(peft_name)
    return f"blk.{layer}.{target}", f"lora_{side.lower()}"


def _unsupported(name: str) -> ParityError:
    return ParityError(
        f"cannot export adapter tensor '{name}' as a GGUF LoRA",
        "parity export gguf --lora",
        "only LoRA on a llama-architecture model's attention and MLP projections is supported (no embeddings, no modules_to_save)",
    )


def export_lora(base_gguf: Path, adapter: Path, out: Path, identity: str) -> Path:
    """Write the adapter as a GGUF LoRA for the base in `base_gguf` (the file names the tensors and
    their shapes), atomically: a temp file renamed into place."""
    import gguf

    config, weights = _read_adapter(adapter)
    if config.get("use_dora") or config.get("use_rslora"):
        raise ParityError(
            "a DoRA or rsLoRA adapter cannot be served as a GGUF LoRA",
            "parity export gguf --lora",
            "export it merged instead: parity export gguf NAME --quant f16",
        )
    if base_gguf.suffix != ".gguf":
        raise ParityError(
            f"cannot export a GGUF LoRA for {base_gguf}: llama.cpp needs the base as a GGUF file",
            "parity export gguf --lora",
            "train on a .gguf base (such as smollm2-135m)",
        )
    try:
        reader = gguf.GGUFReader(str(base_gguf))
    except (OSError, ValueError) as exc:
        raise ParityError(
            f"cannot read {base_gguf} as GGUF ({exc})", "parity export gguf --lora", "point at the base's .gguf file"
        ) from None
    arch = str(reader.fields["general.architecture"].contents())
    if arch != "llama":
        raise ParityError(f"cannot export a '{arch}' LoRA yet", "parity export gguf --lora", "only llama-architecture bases are supported")
    n_head = int(reader.fields[f"{arch}.attention.head_count"].contents())
    n_head_kv = int(reader.fields[f"{arch}.attention.head_count_kv"].contents())
    base_shapes = {t.name: tuple(int(n) for n in reversed(t.shape)) for t in reader.tensors}

    tensors: dict[str, np.ndarray] = {}
    for peft_name, data in sorted(weights.items()):
        name, side = gguf_tensor_name(peft_name)
        data = data.astype(np.float32)
        if side == "lora_b" and name.endswith("attn_q.weight"):
            data = rotary_permute(data, n_head)
        elif side == "lora_b" and name.endswith("attn_k.weight"):
            data = rotary_permute(data, n_head_kv)
        tensors[f"{name}.{side}"] = data
    _check_shapes(tensors, base_shapes)

    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(staging_path(out)), arch)
    writer.add_string(gguf.Keys.General.TYPE, gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(config["lora_alpha"]))
    writer.add_string(ADAPTER_KEY, identity)
    for name, data in tensors.items():
        writer.add_tensor(name, data)
    finish_gguf(writer, out)
    return out


def _read_adapter(adapter: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A PEFT adapter folder's config and weights; anything unreadable is one line naming the file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    for name in ("adapter_config.json", "adapter_model.safetensors"):
        if not (adapter / name).is_file():
            raise ParityError(f"{adapter / name} is missing", "adapter", "point adapter: at a PEFT LoRA folder, as parity train writes it")
    try:
        config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
        weights = load_file(str(adapter / "adapter_model.safetensors"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, SafetensorError) as exc:
        raise ParityError(
            f"cannot read the adapter in {adapter} ({str(exc).splitlines()[0][:160]})", "adapter", "re-train it or re-copy the folder"
        ) from None
    if not isinstance(config, dict) or not isinstance(config.get("lora_alpha"), (int, float)):
        raise ParityError(f"{adapter / 'adapter_config.json'} has no numeric lora_alpha", "adapter", "point adapter: at a PEFT LoRA folder")
    return config, weights


def _check_shapes(tensors: dict[str, np.ndarray], base_shapes: dict[str, tuple[int, ...]]) -> None:
    """Every A/B pair fits its base weight (out × in); llama.cpp would refuse the file otherwise."""
    for name in {n.rsplit(".", 1)[0] for n in tensors}:
        a, b = tensors.get(f"{name}.lora_a"), tensors.get(f"{name}.lora_b")
        shape = base_shapes.get(name)
        if a is None or b is None or shape is None or (b.shape[0], a.shape[1]) != shape or a.shape[0] != b.shape[1]:
            raise ParityError(
                f"adapter tensor '{name}' does not fit the base it names",
                "parity export gguf --lora",
                "export the adapter with the base it was trained on",
            )


def lora_for(adapter: Path, base_gguf: Path, cache_dir: Path) -> Path:
    """The GGUF LoRA an agent on `llamacpp:BASE.gguf` with `adapter: NAME` runs: a GGUF file as given,
    or the PEFT folder converted once, kept under the content of both (a retrained adapter of the same
    name, or another base, gets its own file)."""
    from parity.models.hf import content_id
    from parity.models.llamacpp import file_sha256

    if adapter.is_file():
        check_lora(adapter, base_gguf)
        return adapter
    out = cache_dir / f"{content_id(adapter)[:16]}-{file_sha256(str(base_gguf))[:16]}.gguf"
    if not out.is_file():
        export_lora(base_gguf, adapter, out, f"{adapter.parent.name if adapter.name == 'adapter' else adapter.name}")
    return out


def check_lora(lora: Path, base_gguf: Path) -> None:
    """A GGUF LoRA given as a file is read here before llama.cpp sees it: llama.cpp crashes the whole
    process (a segmentation fault, no error) on a damaged one. It must be a LoRA for this base's
    architecture, every tensor an A/B pair that fits a base weight."""
    import gguf

    shown = "adapter"
    fix = "export the LoRA for this base: parity export gguf NAME --lora"
    try:
        reader = gguf.GGUFReader(str(lora))
        fields = {
            name: reader.fields[name].contents()
            for name in ("general.type", "adapter.type", "general.architecture")
            if name in reader.fields
        }
        tensors = {t.name: tuple(int(n) for n in reversed(t.shape)) for t in reader.tensors}
        base = gguf.GGUFReader(str(base_gguf))
        base_arch = str(base.fields["general.architecture"].contents())
        base_shapes = {t.name: tuple(int(n) for n in reversed(t.shape)) for t in base.tensors}
    except Exception as exc:  # a damaged file fails in numpy, struct or gguf-py itself: any of them is "not a GGUF"
        raise ParityError(f"cannot read {lora} as a GGUF LoRA ({type(exc).__name__})", shown, fix) from None
    if fields.get("general.type") != "adapter" or fields.get("adapter.type") != "lora":
        raise ParityError(f"{lora} is not a GGUF LoRA (general.type {fields.get('general.type')!r})", shown, fix)
    if fields.get("general.architecture") != base_arch:
        raise ParityError(f"{lora} is a LoRA for '{fields.get('general.architecture')}', and the base is '{base_arch}'", shown, fix)
    pairs = {name.rsplit(".", 1)[0] for name in tensors}
    if not pairs:
        raise ParityError(f"{lora} holds no LoRA tensors", shown, fix)
    for name in pairs:
        a, b, weight = tensors.get(f"{name}.lora_a"), tensors.get(f"{name}.lora_b"), base_shapes.get(name)
        if (
            not tensors
            or a is None
            or b is None
            or weight is None
            or len(a) != 2
            or len(b) != 2
            or (b[0], a[1]) != weight[:2]
            or a[0] != b[1]
        ):
            raise ParityError(f"{lora}: tensor '{name}' does not fit the base {base_gguf.name}", shown, fix)

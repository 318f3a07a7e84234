"""The base model a recipe trains: any in-process spec (the bundled GGUF included) as a plain
transformers folder, plus a content identity so an adapter records exactly what it sits on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from parity.errors import ParityError
from parity.models.hf import content_id, transformers_folder
from parity.models.spec import model_path, parse_spec


@dataclass(frozen=True)
class BaseWeights:
    spec: str  # as given: smollm2-135m, hf:PATH, llamacpp:PATH.gguf
    source: Path  # the weights as given: a GGUF file or a transformers folder
    folder: Path  # a transformers folder (a GGUF is de-quantized into the model cache once)
    identity: str  # sha256 of the source weights


def resolve_base(text: str, root: Path, where: str = "--base") -> BaseWeights:
    spec = parse_spec(text, where)
    if spec.backend not in ("hf", "llamacpp"):
        raise ParityError(
            f"cannot train '{text}': training needs local weights, not a served model", where, "use smollm2-135m, hf:PATH or a .gguf file"
        )
    source = model_path(spec, root, where)
    return BaseWeights(text, source, transformers_folder(source), f"sha256:{content_id(source)}")


def serving_spec(adapter_base: str) -> str:
    """The model spec an agent needs to run an adapter on this base: adapters go on an hf: model."""
    spec = parse_spec(adapter_base)
    return f"hf:{spec.target}"

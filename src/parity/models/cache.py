"""Content-addressed caches under `.parity/cache/`: a repeated completion or embedding costs no model time.

Both key an entry by the model's identity and the exact input, write it atomically, and treat a damaged
entry (truncated, edited, from another version) as missing: it is discarded, computed again and rewritten.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import get_args

import numpy as np

from parity.io import atomic_write_bytes, atomic_write_text, canonical_json
from parity.models.base import Completion, FinishReason, Model, Request, concurrency

UNIT_NORM_TOLERANCE = 1e-3  # embeddings are stored unit-normalized; anything else is a damaged entry


def cache_key(identity: str, request: Request, constraint: str = "") -> str:
    """`constraint`: how the backend turns a schema into a grammar, where it says (a new revision there
    means new outputs for the same request); left out of the key when empty."""
    material = {"model": identity, **request.key_material(), **({"constraint": constraint} if constraint else {})}
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest()


def embedding_key(identity: str, text: str) -> str:
    return hashlib.sha256(canonical_json({"embedder": identity, "text": text}).encode("utf-8")).hexdigest()


def entry_path(folder: Path, key: str, suffix: str) -> Path:
    return folder / key[:2] / f"{key}{suffix}"


class CachedModel:
    """Wraps a backend; the key covers the resolved model identity, messages, parameters, schema and repeat."""

    def __init__(self, inner: Model, folder: Path):
        self.inner = inner
        self.folder = folder
        self.spec = inner.spec
        self.identity = inner.identity
        self.constraint = str(getattr(inner, "constraint", ""))
        self.max_concurrent = concurrency(inner)

    def _path(self, key: str) -> Path:
        return entry_path(self.folder, key, ".json")

    def _fitted_path(self, request: Request) -> Path:
        """Marks a prompt this model answered with room for max_tokens, whatever the sampling: it fits."""
        material = {"model": self.identity, "messages": list(request.messages), "max_tokens": request.max_tokens}
        return entry_path(self.folder, hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest(), ".fits")

    def context_tokens(self, request: Request) -> tuple[int, int] | None:
        if (
            self._fitted_path(request).is_file()
            or _read_completion(self._path(cache_key(self.identity, request, self.constraint))) is not None
        ):
            return None  # answered before, so it fitted; and a cached re-run loads no model to count it
        return self.inner.context_tokens(request)

    def complete(self, request: Request) -> Completion:
        path = self._path(cache_key(self.identity, request, self.constraint))
        completion = _read_completion(path)
        if completion is None:
            completion = self.inner.complete(request)
            if completion.finish_reason == "error":  # failures are retried next time, not remembered
                return completion
            atomic_write_text(path, json.dumps(asdict(completion)))
        fitted = self._fitted_path(request)
        if not fitted.is_file():
            atomic_write_text(fitted, "")
        return completion


class EmbeddingCache:
    """One unit vector per (embedder identity, text), as a .npy file."""

    def __init__(self, folder: Path, identity: str, dimension: int):
        self.folder = folder
        self.identity = identity
        self.dimension = dimension

    def _path(self, text: str) -> Path:
        return entry_path(self.folder, embedding_key(self.identity, text), ".npy")

    def get(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `texts`; the others are absent (or were damaged, and are now gone)."""
        found = {}
        for text in texts:
            vector = _read_vector(self._path(text), self.dimension)
            if vector is not None:
                found[text] = vector
        return found

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        for text, vector in vectors.items():
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(vector, dtype=np.float32), allow_pickle=False)
            atomic_write_bytes(self._path(text), buffer.getvalue())


def _read_completion(path: Path) -> Completion | None:
    """The cached completion, or None when there is none or the entry is damaged."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("text"), str) or data.get("finish_reason") not in get_args(FinishReason):
            raise ValueError("not a completion")
        return Completion(**{**data, "cached": True})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, RecursionError):
        path.unlink(missing_ok=True)
        return None


def _read_vector(path: Path, dimension: int) -> np.ndarray | None:
    """The cached vector, or None when there is none or the entry is damaged: wrong shape or type, not
    finite, or not of unit length (a flipped byte in the data moves the norm)."""
    try:
        vector = np.load(path, allow_pickle=False)
        if vector.dtype != np.float32 or vector.shape != (dimension,) or not np.all(np.isfinite(vector)):
            raise ValueError("not an embedding")
        if abs(float(np.linalg.norm(vector)) - 1.0) > UNIT_NORM_TOLERANCE:
            raise ValueError("not a unit vector")
        return vector
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError):
        path.unlink(missing_ok=True)
        return None

"""Content-addressed cache of completions under `.parity/cache/`: a repeated call costs no model time."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import get_args

from parity.io import atomic_write_text, canonical_json
from parity.models.base import Completion, FinishReason, Model, Request


def cache_key(identity: str, request: Request) -> str:
    material = {"model": identity, **request.key_material()}
    return hashlib.sha256(canonical_json(material).encode("utf-8")).hexdigest()


class CachedModel:
    """Wraps a backend; the key covers the resolved model identity, messages, parameters, schema and repeat."""

    def __init__(self, inner: Model, folder: Path):
        self.inner = inner
        self.folder = folder
        self.spec = inner.spec
        self.identity = inner.identity

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def complete(self, request: Request) -> Completion:
        path = self._path(cache_key(self.identity, request))
        cached = _read(path)
        if cached is not None:
            return cached
        completion = self.inner.complete(request)
        if completion.finish_reason != "error":  # failures are retried next time, not remembered
            atomic_write_text(path, json.dumps(asdict(completion)))
        return completion


def _read(path: Path) -> Completion | None:
    """The cached completion, or None when there is none or the entry is damaged (truncated, edited,
    from another version): a damaged entry is discarded and the call made again, which rewrites it."""
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

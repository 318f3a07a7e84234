"""Content-addressed cache of completions under `.parity/cache/`: a repeated call costs no model time."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from parity.io import atomic_write_text, canonical_json
from parity.models.base import Completion, Model, Request


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
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return Completion(**{**data, "cached": True})
        completion = self.inner.complete(request)
        if completion.finish_reason != "error":  # failures are retried next time, not remembered
            atomic_write_text(path, json.dumps(asdict(completion)))
        return completion

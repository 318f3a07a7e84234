"""File helpers shared by the ruler, the corpus and the store: JSONL with line numbers, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from parity.errors import ParityError


def read_jsonl(path: Path, shown_as: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (where, object) per non-blank line; `where` is "file:line" for error messages."""
    shown = shown_as or str(path)
    if not path.is_file():
        raise ParityError("file not found", shown, "restore it or re-create the workspace with parity init")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{shown}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ParityError(f"invalid JSON ({exc.msg} at column {exc.colno})", where, "fix that line") from None
            if not isinstance(obj, dict):
                raise ParityError("each line must be a JSON object", where, "wrap the line in {…}")
            yield where, obj


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def canonical_json(obj: Any) -> str:
    """Stable JSON for hashing: sorted keys, no whitespace variance."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

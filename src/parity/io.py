"""File helpers shared by the ruler, the corpus and the store: JSONL with line numbers, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from parity.errors import ParityError

_UMASK = os.umask(0)  # read once, at import (there is no way to read it without setting it)
os.umask(_UMASK)


def one_line(text: str) -> str:
    """Text from a file quoted in a one-line message: what would not print (a line break, a control
    character, a lone surrogate) as its escape, `\\n`, `\\u2028`, `\\ud800`."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def read_text(path: Path, shown_as: str | None = None) -> str:
    """A text file parity reads (config, agent, ruler): UTF-8, or one line naming the byte that is not."""
    shown = shown_as or str(path)
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParityError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})", shown, "save the file as UTF-8") from None


def parse_json(text: str, strict: bool = True) -> Any:
    """`json.loads` for text parity did not write (a file, a model's output): nesting too deep for
    Python's parser, or an integer of more than 4300 digits, is a `json.JSONDecodeError` like any
    other bad JSON, never a RecursionError that every caller would have to know about."""
    try:
        return json.loads(text, strict=strict)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError:
        raise json.JSONDecodeError("a number has too many digits", text, 0) from None


def read_jsonl(path: Path, shown_as: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (where, object) per non-blank line; `where` is "file:line" for error messages."""
    shown = shown_as or str(path)
    if not path.is_file():
        raise ParityError("file not found", shown, "restore it or re-create the workspace with parity init")
    for number, line in enumerate(read_text(path, shown).split("\n"), start=1):  # not splitlines: U+2028 may sit inside a JSON string
        if not line.strip():
            continue
        where = f"{shown}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParityError(f"invalid JSON ({exc.msg} at column {exc.colno})", where, "fix that line") from None
        except RecursionError:
            raise ParityError("JSON nested too deeply", where, "flatten that line") from None
        except ValueError:  # Python reads no integer of more than 4300 digits
            raise ParityError("a number has too many digits", where, "shorten it, or write it as a string") from None
        if not isinstance(obj, dict):
            raise ParityError("each line must be a JSON object", where, "wrap the line in {…}")
        require_text(obj, where)
        yield where, obj


def require_text(obj: Any, where: str) -> None:
    """Refuse a value read from a file (JSON or YAML escapes) that holds a lone surrogate (\\ud800–\\udfff):
    no text can hold it, so the store could not record it."""
    if not is_text(obj):
        raise ParityError("a string holds a lone surrogate escape (\\ud800–\\udfff), which is not text", where, "fix or remove that escape")


def is_text(obj: Any) -> bool:
    """Whether every string in `obj` is text UTF-8 can hold (no lone surrogate from a JSON escape)."""
    try:
        json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file. A path
    that cannot be written (a folder in its place, no permission, a full disk) is one line."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _unwritable(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(path))  # mkstemp's 0600 would hide a report or an export from everyone else
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _unwritable(path, exc) from None
        raise


def _mode_for(path: Path) -> int:
    """The file's own mode when it is replaced; else what a plain `open` would create (0666 less the umask)."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_UMASK


def _unwritable(path: Path, exc: OSError) -> ParityError:
    why = "a folder is in its place" if path.is_dir() else (exc.strerror or type(exc).__name__).lower()
    return ParityError(f"cannot write the file: {why}", str(path), "move what is there aside, or choose another path")


def canonical_json(obj: Any) -> str:
    """Stable JSON for hashing: sorted keys, no whitespace variance."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

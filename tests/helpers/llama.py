"""llama-cpp-python itself, loaded with the settings parity loads it with, for tests that compare parity's
output against the library's own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def llama_threads() -> int:
    """The threads parity gives llama.cpp: PARITY_LLAMA_THREADS, else every core."""
    return int(os.environ.get("PARITY_LLAMA_THREADS") or os.cpu_count() or 1)


@contextmanager
def native_llama(model_path: Path) -> Iterator[Any]:
    """A fresh `llama_cpp.Llama` on the file (no context shared with parity's), closed afterwards."""
    from llama_cpp import Llama

    engine = Llama(model_path=str(model_path), n_ctx=4096, n_threads=llama_threads(), seed=0, verbose=False)
    try:
        yield engine
    finally:
        engine.close()


def with_chat_template(source: Path, out: Path, template: str) -> Path:
    """A copy of a GGUF whose chat template was replaced (everything else byte for byte), through
    gguf-py's own metadata editor."""
    import gguf
    from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata

    reader = gguf.GGUFReader(str(source))
    writer = gguf.GGUFWriter(str(out), str(reader.fields["general.architecture"].contents()))
    details = {gguf.Keys.Tokenizer.CHAT_TEMPLATE: MetadataDetails(gguf.GGUFValueType.STRING, template)}
    copy_with_new_metadata(reader, writer, details, [])
    return out

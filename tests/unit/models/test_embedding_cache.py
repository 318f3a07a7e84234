"""The embedding cache without a model: a repeated text is read back, a new text or another model is
computed, a damaged entry is rebuilt, a write is all or nothing, and the identity names the weights."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from parity.errors import ParityError
from parity.models import embedder as embedder_module
from parity.models.cache import EmbeddingCache, embedding_key, entry_path
from parity.models.embedder import Embedder, embedder_identity, embedder_path, embedder_source

DIMENSION = embedder_source("all-minilm-l6-v2").dimension


def _vector(text: str) -> np.ndarray:
    seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    v = np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32)
    return v / np.linalg.norm(v)


class Counted:
    """Stands in for the model: deterministic unit vectors, and a record of what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, texts: list[str]) -> np.ndarray:  # set on the class, so called without self
        self.asked.extend(texts)
        return np.stack([_vector(t) for t in texts])


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Counted:
    counted = Counted()
    monkeypatch.setattr(Embedder, "_compute", counted)
    return counted


def _entry(folder: Path, identity: str, text: str) -> Path:
    return entry_path(folder, embedding_key(identity, text), ".npy")


def test_a_text_embedded_before_is_read_back_without_the_model(tmp_path: Path, model: Counted) -> None:
    first = Embedder(cache_dir=tmp_path).encode(["a question?", "another one?", "a question?"])
    assert model.asked == ["a question?", "another one?"]  # each distinct text once

    fresh = Embedder(cache_dir=tmp_path)  # a new process, as far as the memo knows
    again = fresh.encode(["a question?", "another one?", "a question?"])
    assert model.asked == ["a question?", "another one?"]
    assert fresh._loaded is None  # the model was never loaded
    assert again.dtype == np.float32 and np.array_equal(again, first)


def test_a_new_text_misses(tmp_path: Path, model: Counted) -> None:
    Embedder(cache_dir=tmp_path).encode(["a question?"])
    Embedder(cache_dir=tmp_path).encode(["a question?", "a question!"])
    assert model.asked == ["a question?", "a question!"]


def test_another_model_misses(tmp_path: Path) -> None:
    ours = EmbeddingCache(tmp_path, "minilm:sha256:aaaa", DIMENSION)
    ours.put({"a question?": _vector("a question?")})
    assert set(ours.get(["a question?"])) == {"a question?"}
    assert EmbeddingCache(tmp_path, "minilm:sha256:bbbb", DIMENSION).get(["a question?"]) == {}
    assert embedding_key("minilm:sha256:aaaa", "x") != embedding_key("minilm:sha256:bbbb", "x") != embedding_key("minilm:sha256:bbbb", "y")


def test_the_identity_covers_the_weights_and_the_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "all-minilm-l6-v2"
    identity = embedder_identity(name)
    assert identity.startswith(f"{name}:sha256:") and Embedder(name).identity == identity
    # The hashes pip recorded at install are the files' own: a folder without the record gets the same identity.
    source, path = embedder_source(name), embedder_path(name)
    assert embedder_module._recorded_hashes(source, path) == embedder_module._hashed_files(path)
    embedder_identity.cache_clear()
    monkeypatch.setattr(embedder_module, "_version", lambda distribution: "0.0-other")
    try:
        assert embedder_identity(name) != identity  # another torch or sentence-transformers: other vectors
    finally:
        embedder_identity.cache_clear()


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not a numpy file",
        "truncated",
        "float64",
        "wrong length",
        "not unit",
        "nan",
    ],
)
def test_a_damaged_entry_is_discarded_and_rebuilt(tmp_path: Path, model: Counted, damage: bytes | str) -> None:
    embedder = Embedder(cache_dir=tmp_path)
    embedder.encode(["a question?"])
    path = _entry(tmp_path, embedder.identity, "a question?")
    good = path.read_bytes()
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    elif damage == "truncated":
        path.write_bytes(good[: len(good) - 100])
    else:
        bad = {
            "float64": _vector("a question?").astype(np.float64),
            "wrong length": _vector("a question?")[:-1],
            "not unit": 2 * _vector("a question?"),
            "nan": np.full(DIMENSION, np.nan, dtype=np.float32),
        }[damage]
        np.save(path, bad)

    rebuilt = Embedder(cache_dir=tmp_path).encode(["a question?"])
    assert model.asked == ["a question?", "a question?"]  # computed again ...
    assert np.array_equal(rebuilt[0], _vector("a question?"))
    assert path.read_bytes() == good  # ... and rewritten whole
    Embedder(cache_dir=tmp_path).encode(["a question?"])
    assert len(model.asked) == 2


def test_a_write_is_all_or_nothing(tmp_path: Path, model: Counted, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = Embedder(cache_dir=tmp_path)

    def crash(fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", crash)  # the write dies after the bytes, before the rename
    with pytest.raises(ParityError, match="cannot write the file"):  # one line for the user, not an OSError's traceback
        embedder.encode(["a question?"])
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no entry, and no temp file left behind
    monkeypatch.undo()
    monkeypatch.setattr(Embedder, "_compute", model)
    Embedder(cache_dir=tmp_path).encode(["a question?"])
    assert _entry(tmp_path, embedder.identity, "a question?").is_file()


def test_without_a_folder_nothing_is_written(tmp_path: Path, model: Counted) -> None:
    Embedder().encode(["a question?"])
    Embedder().encode(["a question?"])
    assert model.asked == ["a question?", "a question?"]


def test_no_texts_need_no_model(tmp_path: Path, model: Counted) -> None:
    embedder = Embedder(cache_dir=tmp_path)
    assert embedder.encode([]).shape == (0, DIMENSION) and embedder._loaded is None and model.asked == []

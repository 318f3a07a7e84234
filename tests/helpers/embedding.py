"""A bag-of-words embedder for tests that must not load MiniLM: words hashed into 512 axes, so texts sharing
no word are (nearly always) orthogonal and equal texts identical."""

from __future__ import annotations

import zlib

import numpy as np


class Words:
    identity = "words"

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), 512))
        for row, text in zip(rows, texts):
            for word in text.lower().split():
                row[zlib.crc32(word.encode()) % 512] = 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)

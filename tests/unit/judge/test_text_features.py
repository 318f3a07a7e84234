"""The free-text features of reference judge v2, computed with a stand-in embedder (no model): every
named feature, each a finite value in [0, 1]."""

from __future__ import annotations

import hashlib

import numpy as np

from parity.judge.features import TEXT_FEATURES, text_features


class HashEmbedder:
    """Unit vectors drawn from each text's hash: the same text always embeds alike."""

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).normal(size=16) for t in texts]
        return np.array([r / np.linalg.norm(r) for r in rows])


def test_text_features_gives_every_feature_in_the_unit_interval() -> None:
    gold = "I crossed the river in 1805. My men were tired, and the current was strong."
    text = "I crossed the river at dawn. My men were tired. Honestly, it was a big deal"
    features = text_features(HashEmbedder(), "Tell us about the crossing.", gold, text)
    assert list(features) == list(TEXT_FEATURES)
    assert all(np.isfinite(v) and 0.0 <= v <= 1.0 for v in features.values()), features
    assert features["cut_off"] == 1.0  # the answer ends mid-sentence
    assert features["modern_idiom"] > 0.0

"""A small training workspace without a model: the bundled workspace cut to six corpus entries, with
corpus embeddings that are deterministic unit vectors instead of MiniLM's, so a recipe's data builds
in milliseconds."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from parity.agent import Agent, load_agent
from parity.agent.corpus import Corpus
from parity.ruler import Ruler, load_ruler
from parity.store import Store
from parity.task import Workspace, load_workspace

CORPUS_ROWS = 6


def unit_vectors(_corpus: Corpus, texts: list[str]) -> np.ndarray:
    """One pseudo-random unit vector per text: distinct texts are far apart, none is a near-duplicate."""
    rows = []
    for text in texts:
        v = np.random.default_rng(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)).standard_normal(64)
        rows.append(v / np.linalg.norm(v))
    return np.stack(rows).astype(np.float32)


@dataclass
class SmallWorkspace:
    ws: Workspace
    ruler: Ruler
    store: Store
    agent: Agent  # the baseline agent, its corpus the six entries


def small_workspace(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> SmallWorkspace:
    corpus = ws_dir / "corpus" / "train.jsonl"
    corpus.write_text("\n".join(corpus.read_text().splitlines()[:CORPUS_ROWS]) + "\n")
    monkeypatch.setattr(Corpus, "embed", unit_vectors)
    ws = load_workspace(ws_dir)
    return SmallWorkspace(ws, load_ruler(ws), Store.for_workspace(ws), load_agent(ws, "baseline"))

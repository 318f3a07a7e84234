"""The bundled corpus never comes near a ruler input, measured with the MiniLM embedder."""

from __future__ import annotations

import numpy as np

from parity.io import read_jsonl
from parity.models.embedder import get_embedder
from parity.ruler import build_ruler
from parity.task import Workspace


def test_no_corpus_input_near_a_ruler_input(ws: Workspace) -> None:
    ruler = build_ruler(ws)
    corpus_inputs = [obj["input"] for _, obj in read_jsonl(ws.corpus_path)]
    embedder = get_embedder()
    sims = embedder.encode(corpus_inputs) @ embedder.encode([c.input for c in ruler.cases]).T
    worst = np.unravel_index(np.argmax(sims), sims.shape)
    assert sims.max() < 0.9, (corpus_inputs[worst[0]], ruler.cases[worst[1]].input, float(sims.max()))

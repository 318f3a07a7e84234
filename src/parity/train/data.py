"""Training datasets: built from the corpus only, checked against the ruler, stored with a
fingerprint and their provenance so an adapter can say exactly what it was trained on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.agent import Agent
from parity.agent.corpus import NEAR_DUPLICATE, Corpus
from parity.errors import ParityError
from parity.io import atomic_write_bytes
from parity.leak import normalize_question
from parity.ruler import Ruler
from parity.task import Workspace


@dataclass
class TrainingData:
    name: str
    kind: str  # sft | pairs-onpolicy | pairs-style
    rows: list[dict[str, Any]]  # TRL's conversational formats: prompt/completion, or prompt/chosen/rejected
    provenance: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for row in self.rows:
            digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
        return digest.hexdigest()

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}.jsonl"
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in self.rows)
        atomic_write_bytes(path, text.encode())
        return path


def check_no_ruler_inputs(corpus: Corpus, ruler: Ruler, shown: str) -> None:
    """Refuse training data that contains a ruler case: the same input after normalization, or a
    near-duplicate by MiniLM cosine. Training on the ruler would make every later number a lie."""
    ruler_inputs = [case.input for case in ruler.cases]
    same = {normalize_question(text) for text in ruler_inputs}
    exact = [d.id for d in corpus.demos if normalize_question(d.input) in same]
    similarity = corpus.input_vectors @ np.asarray(corpus.embed(ruler_inputs)).T
    near = [corpus.demos[i].id for i in np.nonzero(similarity.max(axis=1) >= NEAR_DUPLICATE)[0]]
    leaked = sorted(set(exact) | set(near))
    if leaked:
        raise ParityError(
            f"{len(leaked)} corpus input(s) repeat a ruler case (e.g. {', '.join(leaked[:3])}); training on them would leak the ruler",
            shown, "remove or rewrite those corpus entries",
        )


def prompt_messages(agent: Agent, case_input: str) -> list[dict[str, str]]:
    """The agent's own first call for this input, so the adapter learns the prompt it will be served."""
    return [dict(m) for m in agent.request(case_input).messages]


def sft_data(ws: Workspace, ruler: Ruler, agent: Agent, name: str, source: str | None = None) -> TrainingData:
    """Prompt = the agent's prompt for a corpus input; completion = the teacher's answer as JSON.
    `source` names where the agent's corpus came from when it is not the workspace's own."""
    corpus = agent.corpus
    if not corpus.demos:
        raise ParityError("SFT needs a corpus, and the workspace has none", ws.shown(ws.corpus_path), "add corpus/train.jsonl")
    check_no_ruler_inputs(corpus, ruler, ws.shown(ws.corpus_path))
    rows = [
        {"id": d.id, "prompt": prompt_messages(agent, d.input), "completion": [{"role": "assistant", "content": d.answer_text()}]}
        for d in corpus.demos
    ]
    provenance = {"source": source or ws.shown(ws.corpus_path), "corpus_fingerprint": corpus.fingerprint, "agent": agent.name, "n": len(rows)}
    return TrainingData(name, "sft", rows, provenance)

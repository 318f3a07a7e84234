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
            shown,
            "remove or rewrite those corpus entries",
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
    provenance = {
        "source": source or ws.shown(ws.corpus_path),
        "corpus_fingerprint": corpus.fingerprint,
        "agent": agent.name,
        "n": len(rows),
    }
    return TrainingData(name, "sft", rows, provenance)


def stored_data(store, name: str) -> TrainingData:
    """A dataset saved earlier (by name, newest first, or by fingerprint prefix), read back from its file."""
    from sqlalchemy import or_, select

    from parity.store import DatasetRow

    with store.session() as s:
        row = s.scalars(
            select(DatasetRow).where(or_(DatasetRow.name == name, DatasetRow.fingerprint.startswith(name))).order_by(DatasetRow.id.desc())
        ).first()
    if row is None:
        raise ParityError(f"no dataset named '{name}'", "--pairs", "build one with: parity pairs build --mode onpolicy --name NAME")
    path = Path(row.path)
    if not path.is_file():
        raise ParityError(f"dataset '{name}' was stored at {path}, which is gone", "--pairs", "build it again with parity pairs build")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    data = TrainingData(row.name, row.kind, rows, row.provenance)
    if data.fingerprint != row.fingerprint:
        raise ParityError(
            f"dataset '{name}' at {path} was edited after it was stored (fingerprint differs)",
            "--pairs",
            "build it again with parity pairs build",
        )
    return data


def rl_prompts(ws: Workspace, ruler: Ruler, agent: Agent, name: str, limit: int | None = None) -> TrainingData:
    """Prompts for RL recipes: the agent's prompt for each corpus input, with the input and the
    teacher's answer alongside for the reward (the policy never sees the teacher's answer)."""
    corpus = agent.corpus
    if not corpus.demos:
        raise ParityError("RL recipes need a corpus, and the workspace has none", ws.shown(ws.corpus_path), "add corpus/train.jsonl")
    check_no_ruler_inputs(corpus, ruler, ws.shown(ws.corpus_path))
    demos = corpus.demos[:limit] if limit else corpus.demos
    rows = [{"id": d.id, "input": d.input, "teacher": d.answer_text(), "prompt": prompt_messages(agent, d.input)} for d in demos]
    provenance = {"source": ws.shown(ws.corpus_path), "corpus_fingerprint": corpus.fingerprint, "agent": agent.name, "n": len(rows)}
    return TrainingData(name, "prompts", rows, provenance)

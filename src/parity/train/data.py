"""Training datasets: built from the corpus only, checked against the ruler, stored with a
fingerprint and their provenance so an adapter can say exactly what it was trained on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.agent import Agent
from parity.agent.corpus import Corpus
from parity.errors import ParityError
from parity.io import atomic_write_bytes
from parity.ruler import Ruler
from parity.store import DatasetRow, Store
from parity.task import Workspace


@dataclass
class TrainingData:
    name: str
    kind: str  # the recipe's: sft, prompts, pairs-onpolicy, pairs-style
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


def register_dataset(store: Store, data: TrainingData, folder: Path) -> None:
    """Write the dataset under `folder` and record it, once per fingerprint."""
    if store.dataset(data.fingerprint) is None:
        path = data.write(folder)
        store.save_dataset(
            DatasetRow(
                name=data.name,
                kind=data.kind,
                fingerprint=data.fingerprint,
                n_rows=len(data.rows),
                path=str(path),
                provenance=data.provenance,
            )
        )


def check_no_ruler_inputs(corpus: Corpus, ruler: Ruler, shown: str) -> None:
    """Refuse training data that contains a ruler case: the same input after normalization, or a
    near-duplicate by MiniLM cosine. Training on the ruler would make every later number a lie."""
    leaked = sorted({demo.id for demo, _, _ in corpus.repeats([case.input for case in ruler.cases])})
    if leaked:
        raise ParityError(
            f"{len(leaked)} corpus input(s) repeat a ruler case (e.g. {', '.join(leaked[:3])}); training on them would leak the ruler",
            shown,
            "remove or rewrite those corpus entries",
        )


def training_corpus(ws: Workspace, corpus: Corpus, ruler: Ruler, needs: str) -> Corpus:
    """The corpus a recipe trains on, refused when it is empty ("SFT needs a corpus…") or repeats a ruler case."""
    if not corpus.demos:
        raise ParityError(f"{needs} a corpus, and the workspace has none", ws.shown(ws.corpus_path), "add corpus/train.jsonl")
    check_no_ruler_inputs(corpus, ruler, ws.shown(ws.corpus_path))
    return corpus


def prompt_messages(agent: Agent, case_input: str) -> list[dict[str, str]]:
    """The agent's own first call for this input, so the adapter learns the prompt it will be served."""
    return [dict(m) for m in agent.request(case_input).messages]


def stored_data(store, name: str) -> TrainingData:
    """A dataset saved earlier (by name, newest first, or by fingerprint prefix), read back from its file."""
    row = store.find_dataset(name)
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

"""The corpus as agents see it: demonstrations to retrieve and a topic bank to ground questions in.

Agents draw only from here, never from the ruler. Embeddings are computed once per corpus content
and kept under .parity/cache/embeddings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from parity.cases import input_text
from parity.errors import ParityError
from parity.io import atomic_write_bytes, read_jsonl
from parity.leak import normalize_question
from parity.models.embedder import get_embedder
from parity.task import TaskSpec, parse_answer

NEAR_DUPLICATE = 0.9  # MiniLM cosine at or above which a demo counts as the case itself


@dataclass(frozen=True)
class Demo:
    """One corpus entry: an input and the teacher's answer to it."""

    id: str
    input: str
    answer: Any  # the task's output format: {"title", "questions"} for question tasks
    category: str | None = None

    def answer_text(self) -> str:
        return self.answer if isinstance(self.answer, str) else json.dumps(self.answer, ensure_ascii=False)


@dataclass
class Retrieval:
    demos: list[Demo]
    refused: list[str]  # ids the leak guard kept out: the case itself or a near-duplicate of it


class Corpus:
    def __init__(self, demos: list[Demo], cache_dir: Path | None, embedder: str = "all-minilm-l6-v2"):
        self.demos = demos
        self.cache_dir = cache_dir
        self.embedder_name = embedder

    @classmethod
    def load(cls, path: Path, cache_dir: Path | None, shown: str, task: TaskSpec | None = None) -> Corpus:
        """The corpus file; with the task, each input is read as the task's inputs are (an object's JSON
        text) and, for a json task, each answer is checked against its schema."""
        if not path.is_file():
            return cls([], cache_dir)
        demos = []
        for where, row in read_jsonl(path, shown):
            if "answer" not in row or (task is None and not isinstance(row.get("input"), str)):
                raise ParityError("a corpus entry needs a string 'input' and an 'answer'", where, "fix that line")
            text, answer = row["input"], row["answer"]
            if task is not None:
                try:
                    text = input_text(row.get("input"), task)
                    parsed = parse_answer(answer, task)  # every kind: a malformed answer would be a demo and a training target
                    answer = parsed.data if task.is_json else answer
                except ValueError as exc:
                    raise ParityError(str(exc), where, "fix that corpus entry") from None
            demos.append(Demo(str(row.get("id", where)), text, answer, row.get("category")))
        return cls(demos, cache_dir)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for demo in self.demos:
            digest.update(json.dumps([demo.id, demo.input, demo.answer], sort_keys=True).encode())
        return digest.hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        return get_embedder(self.embedder_name, self.cache_dir).encode(texts)

    @cached_property
    def input_vectors(self) -> np.ndarray:
        return self._cached("inputs", lambda: self.embed([d.input for d in self.demos]))

    def retrieve(self, query: str, k: int, method: str = "knn", mmr_lambda: float = 0.5, seed: int = 0) -> Retrieval:
        """k demos for `query`; never the query itself or a near-duplicate of it."""
        if not self.demos:
            return Retrieval([], [])
        similarity = self.input_vectors @ self.embed([query])[0]
        same = normalize_question(query)
        refused = {i for i, d in enumerate(self.demos) if normalize_question(d.input) == same or similarity[i] >= NEAR_DUPLICATE}
        pool = [i for i in range(len(self.demos)) if i not in refused]
        if method == "random":
            rng = np.random.default_rng([seed, int(hashlib.sha256(query.encode()).hexdigest()[:8], 16)])
            chosen = [int(i) for i in rng.choice(pool, size=min(k, len(pool)), replace=False)]
        elif method == "mmr":
            chosen = mmr(similarity[pool], self.input_vectors[pool], k, mmr_lambda)
            chosen = [pool[i] for i in chosen]
        else:
            chosen = sorted(pool, key=lambda i: -similarity[i])[:k]
        return Retrieval([self.demos[i] for i in chosen], sorted(self.demos[i].id for i in refused))

    def repeats(self, inputs: list[str]) -> list[tuple[Demo, int, float]]:
        """The demos that repeat one of `inputs` (the ruler's): the same text after normalizing (similarity 1.0),
        or a near-duplicate by MiniLM cosine; each with the index of the input it repeats."""
        if not self.demos or not inputs:
            return []
        similarity = self.input_vectors @ np.asarray(self.embed(inputs)).T
        same = {normalize_question(text): i for i, text in enumerate(inputs)}
        found = []
        for demo, row in zip(self.demos, similarity):
            if (exact := same.get(normalize_question(demo.input))) is not None:
                found.append((demo, exact, 1.0))
            elif row.max() >= NEAR_DUPLICATE:
                found.append((demo, int(np.argmax(row)), float(row.max())))
        return found

    def topic_bank(self, topics: int) -> np.ndarray:
        """Centroids of the corpus's teacher questions: the kinds of unknowns experts ask about."""
        from sklearn.cluster import KMeans

        def mine() -> np.ndarray:
            questions = [q for d in self.demos if isinstance(d.answer, dict) for q in d.answer.get("questions", [])]
            vectors = self.embed(questions)
            centroids = KMeans(n_clusters=min(topics, len(questions)), n_init=3, random_state=0).fit(vectors).cluster_centers_
            return centroids / np.linalg.norm(centroids, axis=1, keepdims=True)

        return self._cached(f"topics-{topics}", mine)

    def _cached(self, what: str, compute: Any) -> np.ndarray:
        if self.cache_dir is None:
            return compute()
        identity = get_embedder(self.embedder_name, self.cache_dir).identity
        key = hashlib.sha256(f"{identity}\x00{self.fingerprint}".encode()).hexdigest()  # the model and the corpus content
        path = self.cache_dir / f"{what}-{self.embedder_name}-{key[:16]}.npy"
        try:
            return np.load(path, allow_pickle=False)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, EOFError):  # damaged: computed again and rewritten below
            path.unlink(missing_ok=True)
        vectors = np.asarray(compute(), dtype=np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        from io import BytesIO

        buffer = BytesIO()
        np.save(buffer, vectors)
        atomic_write_bytes(path, buffer.getvalue())
        return vectors


def mmr(relevance: np.ndarray, vectors: np.ndarray, k: int, mmr_lambda: float) -> list[int]:
    """Maximal marginal relevance: indices balancing relevance against similarity to those already chosen."""
    chosen: list[int] = []
    remaining = list(range(len(relevance)))
    while remaining and len(chosen) < k:
        if chosen:
            redundancy = (vectors[remaining] @ vectors[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(len(remaining))
        scores = mmr_lambda * relevance[remaining] - (1 - mmr_lambda) * redundancy
        best = remaining[int(np.argmax(scores))]
        chosen.append(best)
        remaining.remove(best)
    return chosen

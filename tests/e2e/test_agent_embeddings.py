"""The agent's levers on real MiniLM embeddings: retrieval and its leak guard, the corpus cache, and the
post-processing of each strategy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from parity.agent import load_agent
from parity.agent.corpus import Corpus, Demo
from parity.agent.strategies import cluster_questions, prune_redundant
from parity.models.embedder import get_embedder
from parity.ruler import load_ruler
from parity.task import Workspace


def test_leak_guard_refuses_the_case_and_its_near_duplicates(ws: Workspace, tmp_path: Path) -> None:
    case = load_ruler(ws).cases[0]
    corpus = Corpus.load(ws.corpus_path, None, "corpus")
    planted = [
        Demo("copy", case.input, {"title": "t", "questions": ["q"] * 7}),
        Demo("copy-punctuated", case.input.upper() + "!!", {"title": "t", "questions": ["q"] * 7}),
    ]
    corpus = Corpus(planted + corpus.demos, None)
    for method in ("knn", "mmr", "random"):
        found = corpus.retrieve(case.input, 5, method)
        ids = {d.id for d in found.demos}
        assert not ids & {"copy", "copy-punctuated"}, method
        assert {"copy", "copy-punctuated"} <= set(found.refused)
        vectors = corpus.embed([case.input] + [d.input for d in found.demos])
        assert (vectors[1:] @ vectors[0]).max() < 0.9
        assert len(found.demos) == 5


def test_knn_mmr_and_random_choose_differently_and_reproducibly(ws: Workspace) -> None:
    corpus = Corpus.load(ws.corpus_path, None, "corpus")
    query = "plan a two-week road trip through Scotland with a dog"
    knn = [d.id for d in corpus.retrieve(query, 4, "knn").demos]
    mmr = [d.id for d in corpus.retrieve(query, 4, "mmr", mmr_lambda=0.3).demos]
    rand = [d.id for d in corpus.retrieve(query, 4, "random", seed=1).demos]
    assert knn[0] == mmr[0]  # the most relevant demo is chosen first either way
    assert knn != mmr
    assert rand == [d.id for d in corpus.retrieve(query, 4, "random", seed=1).demos]
    assert rand != [d.id for d in corpus.retrieve(query, 4, "random", seed=2).demos]
    similarity = corpus.input_vectors @ corpus.embed([query])[0]
    best = {d.id: i for i, d in enumerate(corpus.demos)}
    assert [similarity[best[i]] for i in knn] == sorted((similarity[best[i]] for i in knn), reverse=True)


def test_corpus_embeddings_are_cached_on_disk(ws: Workspace, tmp_path: Path) -> None:
    first = Corpus.load(ws.corpus_path, tmp_path / "cache", "corpus")
    vectors = first.input_vectors
    files = list((tmp_path / "cache").glob("inputs-*.npy"))
    assert len(files) == 1
    again = Corpus.load(ws.corpus_path, tmp_path / "cache", "corpus").input_vectors
    assert np.allclose(vectors, again)


def test_prune_redundant_drops_paraphrases_first() -> None:
    questions = [
        "What is your total budget for the trip?",
        "How many days can you travel?",
        "How much money do you want to spend on the trip in total?",
        "Who is travelling with you?",
        "Do you have any dietary restrictions?",
    ]
    vectors = get_embedder().encode(questions)
    keep = prune_redundant(vectors, 4)
    assert keep == [0, 1, 3, 4]  # the later of the two budget questions goes


def test_vote_clusters_recurring_questions() -> None:
    questions = [
        "What is your budget?",
        "How many people are coming?",
        "What's your budget for this?",
        "How many guests will attend?",
        "Do you prefer indoor or outdoor venues?",
    ]
    clusters = cluster_questions(get_embedder().encode(questions), 0.6)
    assert [0, 2] in clusters and [1, 3] in clusters and [4] in clusters


class _RepeatingModel:
    """Every reply is one question repeated: the case that makes over-generation top up."""

    spec = identity = "repeating"

    def __init__(self):
        self.requests = []

    def complete(self, request):
        from parity.models.base import Completion

        self.requests.append(request)
        n = request.schema["properties"]["questions"]["minItems"] if request.schema else 7
        return Completion(
            text=json.dumps({"title": "t", "questions": ["Which dates?"] * n}),
            finish_reason="stop",
            prompt_tokens=10,
            completion_tokens=10,
            cost_usd=0.0,
        )


@pytest.mark.parametrize("name", ["overgen_prune", "best_of_n", "vote", "critique_revise", "baseline"])
def test_calls_per_case_covers_every_call_a_strategy_can_make(ws: Workspace, name: str) -> None:
    """The budget reserves calls_per_case calls per case: a strategy must never make more."""
    agent = load_agent(ws, name)
    agent.model = _RepeatingModel()
    agent.answer("plan a trip to Paris")  # over-generation fails here after its top-ups; the calls are what count
    assert 1 <= len(agent.model.requests) <= agent.calls_per_case

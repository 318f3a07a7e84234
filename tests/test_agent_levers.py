"""The agent's levers without running the model: config validation, retrieval and its leak guard,
the post-processing of each strategy on real MiniLM embeddings, and the pipeline diagram."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml

from parity.agent import load_agent
from parity.agent.config import AgentConfig, load_agent_config
from parity.agent.corpus import Corpus, Demo
from parity.agent.pipeline import pipeline_nodes, pipeline_svg
from parity.agent.strategies import cluster_questions, prune_redundant
from parity.errors import ParityError
from parity.models.embedder import get_embedder
from parity.record import config_diff
from parity.ruler import load_ruler
from parity.task import Workspace

BUNDLED = ["baseline", "fewshot_knn", "fewshot_mmr", "overgen_prune", "best_of_n", "critique_revise", "vote", "retrieve_prune"]


def _agent_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "a.yaml"
    path.write_text(text)
    with pytest.raises(ParityError) as info:
        load_agent_config(path, "agents/a.yaml")
    return info.value.line()


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("strategy: votes\n", ["agents/a.yaml:1", "strategy", "allowed: single, overgenerate_prune, best_of_n, critique_revise, vote"]),
        ("strategy:\n  kind: vote\n  sample: 3\n", ["agents/a.yaml:3", "strategy.sample", "allowed fields here: kind, samples"]),
        ("strategy:\n  m: 12\n", ["agents/a.yaml:1", "strategy: missing kind", "set kind: one of"]),
        ("fewshot:\n  k: 3\n  retrieval: bm25\n", ["agents/a.yaml:3", "fewshot.retrieval", "'knn', 'mmr' or 'random'"]),
        ("fewshot:\n  k: 0\n", ["agents/a.yaml:2", "fewshot.k", "greater than or equal to 1"]),
        ("strategy: {kind: best_of_n, temperatures: [0.1, 3]}\n", ["agents/a.yaml:1", "strategy.temperatures", "between 0 and 2"]),
        ("decoding:\n  temprature: 0.5\n", ["agents/a.yaml:2", "decoding.temprature", "allowed fields here: temperature"]),
    ],
)
def test_agent_file_errors_name_field_line_and_allowed_values(tmp_path: Path, text: str, fragments: list[str]) -> None:
    line = _agent_error(tmp_path, text)
    for fragment in fragments:
        assert fragment in line, line


def test_overgeneration_must_ask_for_more_than_the_task(ws: Workspace) -> None:
    (ws.agents_dir / "few.yaml").write_text("strategy:\n  kind: overgenerate_prune\n  m: 7\n")
    with pytest.raises(ParityError, match="strategy.m is 7"):
        load_agent(ws, "few")


def test_fewshot_without_a_corpus_is_refused(ws: Workspace) -> None:
    ws.corpus_path.unlink()
    with pytest.raises(ParityError, match="fewshot needs a corpus"):
        load_agent(ws, "fewshot_knn")


def test_every_bundled_agent_loads(ws: Workspace) -> None:
    kinds = {load_agent(ws, name).config.strategy.kind for name in BUNDLED}
    assert kinds == {"single", "overgenerate_prune", "best_of_n", "critique_revise", "vote"}
    assert load_agent(ws, "retrieve_prune").python is not None


# --- retrieval -------------------------------------------------------------------------------


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


# --- strategy post-processing on real embeddings ------------------------------------------------


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


# --- record: pipeline diagram and config diff ---------------------------------------------------


@pytest.mark.parametrize("name", BUNDLED)
def test_pipeline_diagram_is_valid_svg_with_one_box_per_stage(ws: Workspace, name: str) -> None:
    agent = load_agent(ws, name)
    code = agent.python.code if agent.python else None
    svg = pipeline_svg(agent.config, ws.task, code, f"agents/{name}.py")
    root = ET.fromstring(svg)
    boxes = [el for el in root.iter("{http://www.w3.org/2000/svg}rect") if "node" in (el.get("class") or "")]
    assert len(boxes) == len(pipeline_nodes(agent.config, ws.task, code))
    kinds = {el.get("class").split()[1] for el in boxes}
    assert "call" in kinds and "io" in kinds
    if agent.config.fewshot or name == "retrieve_prune":
        assert any("retrieve" in (t.text or "") or "ctx.retrieve" in (t.text or "") for t in root.iter("{http://www.w3.org/2000/svg}text"))
    if name == "retrieve_prune":
        assert "python" in kinds


def test_config_diff_lists_changed_fields_only() -> None:
    base = AgentConfig().model_dump()
    voted = AgentConfig.model_validate({"strategy": "vote", "decoding": {"max_tokens": 256}}).model_dump()
    diff = config_diff(base, voted)
    assert diff["strategy.kind"] == ["single", "vote"]
    assert diff["decoding.max_tokens"] == [512, 256]
    assert diff["strategy.samples"] == [None, 5]
    assert "model" not in diff and "prompt.user" not in diff


def test_recorded_config_round_trips(ws: Workspace) -> None:
    for name in BUNDLED:
        config = load_agent(ws, name).config
        again = AgentConfig.model_validate(json.loads(json.dumps(config.model_dump())))
        assert again == config


def test_bundled_agents_change_one_lever_each(ws_dir: Path) -> None:
    """Each bundled YAML agent differs from the baseline only in its own lever (and token budget)."""
    base = yaml.safe_load((ws_dir / "agents" / "baseline.yaml").read_text())
    for name in ("fewshot_knn", "fewshot_mmr", "overgen_prune", "critique_revise"):
        other = yaml.safe_load((ws_dir / "agents" / f"{name}.yaml").read_text())
        assert other["prompt"] == base["prompt"], name


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

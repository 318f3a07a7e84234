"""The agent's levers without running a model: config validation, the bundled agents, the pipeline
diagram and the recorded config."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from parity.agent import load_agent
from parity.agent.config import AgentConfig, load_agent_config
from parity.agent.pipeline import pipeline_nodes, pipeline_svg
from parity.errors import ParityError
from parity.experiment.provenance import config_diff
from parity.task import Workspace

YAML_AGENTS = ["baseline", "fewshot_knn", "fewshot_mmr", "overgen_prune", "best_of_n", "critique_revise", "vote"]
BUNDLED = [*YAML_AGENTS, pytest.param("retrieve_prune", marks=pytest.mark.sandbox)]


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
    with pytest.raises(ParityError, match=r"strategy\.m is 7"):
        load_agent(ws, "few")


def test_fewshot_without_a_corpus_is_refused(ws: Workspace) -> None:
    ws.corpus_path.unlink()
    with pytest.raises(ParityError, match="fewshot needs a corpus"):
        load_agent(ws, "fewshot_knn")


@pytest.mark.sandbox
def test_every_bundled_agent_loads(ws: Workspace) -> None:
    kinds = {load_agent(ws, name).config.strategy.kind for name in [*YAML_AGENTS, "retrieve_prune"]}
    assert kinds == {"single", "overgenerate_prune", "best_of_n", "critique_revise", "vote"}
    assert load_agent(ws, "retrieve_prune").python is not None


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
    for name in YAML_AGENTS:
        config = load_agent(ws, name).config
        again = AgentConfig.model_validate(json.loads(json.dumps(config.model_dump())))
        assert again == config


def test_bundled_agents_change_one_lever_each(ws_dir: Path) -> None:
    """Each bundled YAML agent differs from the baseline only in its own lever (and token budget)."""
    base = yaml.safe_load((ws_dir / "agents" / "baseline.yaml").read_text())
    for name in ("fewshot_knn", "fewshot_mmr", "overgen_prune", "critique_revise"):
        other = yaml.safe_load((ws_dir / "agents" / f"{name}.yaml").read_text())
        assert other["prompt"] == base["prompt"], name

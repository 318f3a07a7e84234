"""Training data on a json task: SFT completions and preference pairs carry answers as the task's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.agent import load_agent
from parity.examples import write_example
from parity.ruler import load_ruler
from parity.task import load_workspace
from parity.train.pairs import onpolicy_pairs
from parity.train.recipes.recipe import DataInputs
from parity.train.recipes.sft import RECIPE as SFT
from tests.helpers.embedding import Words
from tests.helpers.scripted import ScriptedModel, use_model

DRAFT = {"category": "billing", "urgency": "low", "product": "unknown", "summary": "Customer wrote.", "reply": "Hi."}


def test_pairs_and_sft_rows_hold_the_tasks_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = load_workspace(write_example("triage", tmp_path / "ws"))
    monkeypatch.setattr("parity.agent.corpus.get_embedder", lambda *args, **kwargs: Words())
    use_model(monkeypatch, ScriptedModel(lambda request: json.dumps(DRAFT)))
    agent = load_agent(ws, "baseline")
    data = onpolicy_pairs(ws, load_ruler(ws), agent, "p", limit=3)
    assert len(data.rows) == 3
    for row, demo in zip(data.rows, agent.corpus.demos):
        assert json.loads(row["chosen"][0]["content"]) == demo.answer
        assert json.loads(row["rejected"][0]["content"]) == DRAFT
        assert "by " in row["prompt"][-1]["content"] and json.loads(demo.input)["message"] in row["prompt"][-1]["content"]
    sft = SFT.build_data(DataInputs(ws, load_ruler(ws), None, agent, "s", None, None))  # type: ignore[arg-type]
    assert len(sft.rows) == len(agent.corpus.demos)
    assert json.loads(sft.rows[0]["completion"][0]["content"]) == agent.corpus.demos[0].answer

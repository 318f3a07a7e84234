"""On a json task the dashboard shows each answer as a table of its fields, the fields that differ from the
gold marked, and stored text escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from parity.agent import load_agent
from parity.examples import write_example
from parity.experiment import run_experiment
from parity.loop.rules import keep
from parity.ruler import load_ruler
from parity.store import Store
from parity.task import load_workspace
from parity.web.app import create_app
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, by_word, use_model

ANSWER = {
    "category": "billing",
    "urgency": "urgent",
    "product": "Halden Plus",
    "summary": "Customer <b>was</b> charged twice.",
    "reply": "Sorry!",
}


def test_a_json_answer_is_a_field_table_with_differences_from_gold_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = load_workspace(write_example("triage", tmp_path / "ws"))
    use_model(monkeypatch, ScriptedModel(lambda request: json.dumps(ANSWER)))
    store = Store.for_workspace(ws)
    run_experiment(ws, load_ruler(ws), load_agent(ws, "baseline"), ScriptedJudge(ws.config.rubric, by_word), store, "dev", "fixed", keep)
    page = TestClient(create_app(ws, store)).get("/experiment-1.html").text
    case = page.split('id="case-billing-easy-1"', 1)[1].split('<div class="case', 1)[0]
    gold = next(json.loads(line) for line in ws.cases_path.read_text().splitlines() if '"billing-easy-1"' in line)["gold"]
    assert gold["category"] == "billing" and gold["urgency"] != "urgent"
    answer_table = case.split('<div class="answer">', 1)[1]
    assert "<tr><th>category</th><td>billing</td></tr>" in answer_table
    assert '<tr class="differs" title="differs from gold"><th>urgency</th><td>urgent</td></tr>' in answer_table
    assert "Customer &lt;b&gt;was&lt;/b&gt; charged twice." in answer_table and "<b>was</b>" not in page
    assert "meta: {" in case and "traits" in case  # the case's own notes are shown


def test_the_report_has_a_table_of_each_fields_accuracy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parity.report import training_record

    ws = load_workspace(write_example("triage", tmp_path / "ws"))
    use_model(monkeypatch, ScriptedModel(lambda request: json.dumps(ANSWER)))
    store = Store.for_workspace(ws)
    run_experiment(ws, load_ruler(ws), load_agent(ws, "baseline"), ScriptedJudge(ws.config.rubric, by_word), store, "dev", "fixed", keep)
    golds = [json.loads(line)["gold"] for line in ws.cases_path.read_text().splitlines()]
    dev = set(ws.config.gates["dev"])
    billing = sum(
        g["category"] == "billing" for g, line in zip(golds, ws.cases_path.read_text().splitlines()) if json.loads(line)["id"] in dev
    )
    report = training_record(ws, store)
    assert "## Fields against the gold" in report
    assert f"| category | {billing / len(dev):.3f} |" in report

"""A json task end to end through the real CLI: the bundled triage workspace, the bundled model under the
schema's grammar (every answer valid JSON under task/schema.json), per-field accuracy in the summary, and a
sandboxed Python agent that returns a JSON answer, as an Answer or as a plain object."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from parity.examples import write_example
from parity.store import Store
from parity.task import load_workspace
from tests.helpers.cli import run_parity, show_json
from tests.helpers.workspace import add_gates

TWO = ["billing-easy-1", "technical-hard-1"]


@pytest.fixture
def triage(tmp_path: Path) -> Path:
    return add_gates(write_example("triage", tmp_path / "ws"), two=TWO)


def test_the_bundled_model_answers_under_the_schema_and_fields_are_scored(triage: Path) -> None:
    result = run_parity("run", "baseline", "--gate", "two", "--hypothesis", "json", cwd=triage)
    assert result.returncode == 0, result.stderr
    assert "fields vs gold" in result.stdout
    shown = show_json(triage, 1)
    assert set(shown["fields"]) == {"category", "urgency", "product", "summary", "reply"}
    assert all(0.0 <= v <= 1.0 for v in shown["fields"].values())
    schema = json.loads((triage / "task" / "schema.json").read_text())
    answers = [row.answer["json"] for row in Store.for_workspace(load_workspace(triage)).case_rows(1) if row.answer]
    assert len(answers) == 2
    for answer in answers:
        jsonschema.validate(answer, schema)  # the grammar kept every answer inside the schema


AS_ANSWER = '''
from parity.task import Answer


def answer(input, ctx):
    """A fixed routing, returned as an Answer: no model call."""
    return Answer(data={"category": "billing", "urgency": "normal", "product": "unknown",
                        "summary": "Customer wrote in.", "reply": "Thanks for writing. — Halden Support"})
'''

AS_OBJECT = AS_ANSWER.replace("return Answer(data=", "return (").replace("from parity.task import Answer\n", "")


@pytest.mark.sandbox
@pytest.mark.parametrize("code", [AS_ANSWER, AS_OBJECT], ids=["answer", "object"])
def test_a_python_agent_answers_a_json_task(triage: Path, code: str) -> None:
    (triage / "agents" / "fixed.py").write_text('CONFIG = {"model": "llamacpp:smollm2-135m"}\n' + code)
    result = run_parity("run", "fixed", "--gate", "two", "--hypothesis", "fixed", cwd=triage)
    assert result.returncode == 0, result.stderr
    shown = show_json(triage, 1)
    assert shown["n_cases"] == 2 and shown["n_unscored"] == 0
    assert shown["fields"]["category"] == 0.5  # billing-easy-1 is billing; technical-hard-1 is not


@pytest.mark.sandbox
def test_compare_reports_each_field_with_a_paired_ci(triage: Path) -> None:
    (triage / "agents" / "billing.py").write_text('CONFIG = {"model": "llamacpp:smollm2-135m"}\n' + AS_OBJECT)
    (triage / "agents" / "shipping.py").write_text(
        'CONFIG = {"model": "llamacpp:smollm2-135m"}\n' + AS_OBJECT.replace('"billing"', '"shipping"')
    )
    for name in ("billing", "shipping"):
        assert run_parity("run", name, "--gate", "two", "--hypothesis", name, cwd=triage).returncode == 0
    result = run_parity("compare", "1", "2", "--json", cwd=triage)
    assert result.returncode == 0, result.stderr
    category = json.loads(result.stdout)["fields"]["category"]
    assert (category["a"], category["b"], category["diff"]) == (0.5, 0.0, 0.5)  # billing-easy-1 is billing; neither is shipping
    assert category["ci_low"] <= 0.5 <= category["ci_high"]
    table = run_parity("compare", "1", "2", cwd=triage)
    assert "field category A / B" in table.stdout

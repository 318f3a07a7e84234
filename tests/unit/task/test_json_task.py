"""json tasks (`[task] kind = "json"`): the schema is checked for what the grammar can enforce, golds and
inputs are validated, prompts read object inputs' fields, and every refusal is one line with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parity.json_shape as json_shape
from parity.cases import input_text, input_values
from parity.errors import ParityError
from parity.examples import write_example
from parity.task import Answer, load_workspace, parse_answer
from tests.helpers.cli import invoke_parity


@pytest.fixture
def triage(tmp_path: Path) -> Path:
    return write_example("triage", tmp_path / "ws")


def _schema(ws: Path) -> dict:
    return json.loads((ws / "task" / "schema.json").read_text())


def _write_schema(ws: Path, schema: dict) -> None:
    (ws / "task" / "schema.json").write_text(json.dumps(schema, indent=2))


def _refused(result, *fragments: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_the_bundled_triage_ruler_verifies(triage: Path) -> None:
    result = invoke_parity("ruler", "verify", cwd=triage)
    assert result.returncode == 0, result.stderr
    assert "36 cases" in result.stdout


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("minimum", 0), ("not", {"type": "null"}), ("if", {"properties": {}}), ("patternProperties", {"^x": {}}), ("uniqueItems", True)],
)
def test_a_keyword_the_grammar_cannot_enforce_is_refused_naming_it_and_its_line(triage: Path, keyword: str, value) -> None:
    schema = _schema(triage)
    schema["properties"]["product"][keyword] = value
    _write_schema(triage, schema)
    lock = (triage / "ruler" / "LOCK").read_bytes()
    line = next(n for n, text in enumerate((triage / "task" / "schema.json").read_text().splitlines(), 1) if f'"{keyword}"' in text)
    _refused(invoke_parity("ruler", "lock", cwd=triage), f"task/schema.json:{line}", f"'{keyword}'")
    assert (triage / "ruler" / "LOCK").read_bytes() == lock  # nothing written


def test_a_repetition_past_llama_cpps_limit_is_refused(triage: Path) -> None:
    schema = _schema(triage)
    schema["properties"]["reply"]["maxLength"] = 5000
    _write_schema(triage, schema)
    _refused(invoke_parity("ruler", "lock", cwd=triage), "task/schema.json:", "maxLength 5000", "1000")


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "array", "items": {}}, 'must be an object with "properties"'),
        ({"type": "object", "properties": {"a": {"type": "strin"}}, "additionalProperties": False}, "not a valid JSON Schema"),
        ({"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}, "additionalProperties": False}, "is not local"),
        ({"type": "object", "properties": {"a": {"type": "string", "format": "email"}}, "additionalProperties": False}, "format 'email'"),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, '"additionalProperties": false'),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}, "additionalProperties": False}, "names no schema in this file"),
        ({"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}, "additionalProperties": False}, "schema $ref loops"),
        (
            {
                "type": "object",
                "$defs": {"x": {"$ref": "#/$defs/y"}, "y": {"$ref": "#/$defs/x"}},
                "properties": {"a": {"$ref": "#/$defs/x"}},
                "additionalProperties": False,
            },
            "schema $ref loops (#/$defs/",
        ),
        (
            {"$schema": 5, "type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
            "$schema must be a string",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "a{99999999999}"}}, "additionalProperties": False},
            "a pattern cannot be compiled",
        ),
    ],
)
def test_schemas_parity_cannot_use_are_refused_in_one_line(triage: Path, schema: dict, fragment: str) -> None:
    _write_schema(triage, schema)
    _refused(invoke_parity("ruler", "verify", cwd=triage), "task/schema.json", fragment)


def test_a_schema_file_that_is_not_json_names_its_line(triage: Path) -> None:
    (triage / "task" / "schema.json").write_text('{\n  "type": "object",\n  oops\n}')
    _refused(invoke_parity("ruler", "verify", cwd=triage), "task/schema.json:3", "invalid JSON")


def test_a_gold_that_violates_the_schema_names_the_case_line_and_field(triage: Path) -> None:
    lines = (triage / "ruler" / "cases.jsonl").read_text().splitlines()
    row = json.loads(lines[4])
    row["gold"]["urgency"] = "whenever"
    lines[4] = json.dumps(row)
    (triage / "ruler" / "cases.jsonl").write_text("\n".join(lines) + "\n")
    _refused(invoke_parity("ruler", "lock", cwd=triage), "ruler/cases.jsonl:5", "gold.urgency", "'whenever' is not one of")


def test_an_input_missing_a_declared_field_is_refused(triage: Path) -> None:
    lines = (triage / "ruler" / "cases.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    del row["input"]["channel"]
    lines[0] = json.dumps(row)
    (triage / "ruler" / "cases.jsonl").write_text("\n".join(lines) + "\n")
    _refused(invoke_parity("ruler", "lock", cwd=triage), "ruler/cases.jsonl:1", "misses channel")


def test_an_unknown_input_field_in_a_template_names_the_agent_line(triage: Path) -> None:
    text = (triage / "agents" / "baseline.yaml").read_text().replace("{input.channel}", "{input.chanel}")
    (triage / "agents" / "typo.yaml").write_text(text)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "{input.chanel}" in t)
    _refused(invoke_parity("run", "typo", "--gate", "dev", cwd=triage), f"agents/typo.yaml:{line}", "{input.chanel}", "channel, message")


def test_over_generation_on_a_schema_without_an_array_field_is_refused(triage: Path) -> None:
    (triage / "agents" / "prune.yaml").write_text("model: llamacpp:smollm2-135m\nstrategy:\n  kind: overgenerate_prune\n")
    _refused(invoke_parity("run", "prune", "--gate", "dev", cwd=triage), "agents/prune.yaml", "one array field", "no array field")


def test_vote_takes_each_exact_fields_majority_and_the_rest_from_the_most_agreeing_sample(triage: Path) -> None:
    from parity.agent.config import validate_agent_config
    from parity.agent.context import AgentContext
    from parity.agent.corpus import Corpus
    from parity.agent.strategies import run_strategy
    from tests.helpers.scripted import ScriptedModel

    drafts = [("billing", "low", "First reply."), ("technical", "low", "Second reply."), ("billing", "high", "Third reply.")]

    def reply(request) -> str:
        category, urgency, text = drafts[request.repeat]
        return json.dumps(
            {"category": category, "urgency": urgency, "product": "unknown", "summary": f"Customer {request.repeat}.", "reply": text}
        )

    ws = load_workspace(triage)
    config = validate_agent_config({"model": "llamacpp:smollm2-135m", "strategy": {"kind": "vote", "samples": 3}}, "agents/v.yaml")
    case_input = input_text({"channel": "chat", "message": "hello"}, ws.task)
    answer = run_strategy(AgentContext(ScriptedModel(reply), config, ws.task, Corpus([], None), case_input), case_input)
    assert answer.data == {"category": "billing", "urgency": "low", "product": "unknown", "summary": "Customer 0.", "reply": "First reply."}


def test_object_inputs_fill_their_fields_into_templates(triage: Path) -> None:
    from parity.agent.config import load_agent_config
    from parity.agent.prompting import build_messages

    ws = load_workspace(triage)
    config, _ = load_agent_config(triage / "agents" / "baseline.yaml", "agents/baseline.yaml")
    text = input_text({"message": "My plug {is} hot", "channel": "chat"}, ws.task)
    assert list(input_values(text, ws.task)) == ["channel", "message"]  # the declared order
    user = build_messages(config.prompt, ws.task, text)[-1]["content"]
    assert "by chat:" in user and "My plug {is} hot" in user and "{input" not in user


def test_a_json_answer_round_trips_through_the_store_whatever_its_fields_are_called() -> None:
    for data in ({"text": "a"}, {"title": "t", "questions": ["q?"]}, {"json": 1}):
        assert Answer.from_dict(Answer(data=data).to_dict()) == Answer(data=data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_answer_is_accepted_or_refused_with_a_value_error(triage_schema_task, value) -> None:
    try:
        answer = parse_answer(value, triage_schema_task)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert answer.data is not None
    answer.units()
    answer.render()


@pytest.fixture(scope="module")
def triage_schema_task(tmp_path_factory):
    return load_workspace(write_example("triage", tmp_path_factory.mktemp("t") / "ws")).task


def test_fields_flatten_nested_objects_and_keep_arrays_whole() -> None:
    assert json_shape.fields({"a": {"b": 1, "c": {"d": "x"}}, "e": [1, 2]}) == {"a.b": 1, "a.c.d": "x", "e": [1, 2]}


def test_a_template_field_is_a_plain_name() -> None:
    from parity.agent.settings import PromptConfig

    with pytest.raises(ValueError, match="plain name"):
        PromptConfig(user="{input.__class__}")


def test_a_prompt_for_text_that_is_not_an_object_input_fails_the_case_not_the_run(triage: Path) -> None:
    from parity.agent.config import load_agent_config
    from parity.agent.context import AgentContext, AgentFailure
    from parity.agent.corpus import Corpus

    ws = load_workspace(triage)
    config, _ = load_agent_config(triage / "agents" / "baseline.yaml", "agents/baseline.yaml")
    ctx = AgentContext(None, config, ws.task, Corpus([], None), "plain text")  # type: ignore[arg-type]
    with pytest.raises(AgentFailure, match="inputs are objects with channel, message"):
        ctx.messages("plain text")


def test_a_training_draft_that_is_not_the_tasks_json_earns_no_answer(triage: Path) -> None:
    from parity.train.rewards import lenient

    task = load_workspace(triage).task
    assert lenient("Title\n1. What is wrong with the plug?\n2. When did it start?", task) is None
    valid = {"category": "billing", "urgency": "low", "product": "unknown", "summary": "Customer asks.", "reply": "Hi. — Halden Support"}
    assert lenient(json.dumps(valid), task) == Answer(data=valid)


def test_over_generation_prunes_a_declared_array_field_to_its_max_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parity.agent.config import validate_agent_config
    from parity.agent.context import AgentContext
    from parity.agent.corpus import Corpus
    from parity.agent.strategies import check_strategy, run_strategy
    from tests.helpers.embedding import Words
    from tests.helpers.scripted import ScriptedModel

    assert invoke_parity("init", "tags", "--task", "Tag a news headline.", cwd=tmp_path).returncode == 0
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3}},
        "required": ["tags"],
        "additionalProperties": False,
    }
    _write_schema(tmp_path / "tags", schema)
    ws = load_workspace(tmp_path / "tags")
    monkeypatch.setattr("parity.agent.corpus.get_embedder", lambda *args, **kwargs: Words())
    drafted = ["storm coast", "storm coast", "storm coast flooding", "election", "markets fall", "football final"]
    model = ScriptedModel(lambda request: json.dumps({"tags": drafted}))
    config = validate_agent_config(
        {"model": "llamacpp:smollm2-135m", "strategy": {"kind": "overgenerate_prune", "field": "tags", "m": 6}}, "a"
    )
    check_strategy(config.strategy, ws.task, "agents/a.yaml")
    answer = run_strategy(AgentContext(model, config, ws.task, Corpus([], None), "Storm floods the coast"), "Storm floods the coast")
    assert model.requests[0].schema["properties"]["tags"]["maxItems"] == 6 and ws.task.output_schema["properties"]["tags"]["maxItems"] == 3
    assert answer.data is not None and len(answer.data["tags"]) == 3 and len(set(answer.data["tags"])) == 3
    assert "storm coast flooding" not in answer.data["tags"]  # the closest to a kept tag went first
    too_few = validate_agent_config(
        {"model": "llamacpp:smollm2-135m", "strategy": {"kind": "overgenerate_prune", "field": "tags", "m": 3}}, "a"
    )
    with pytest.raises(ParityError, match="maxItems, 3"):
        check_strategy(too_few.strategy, ws.task, "agents/a.yaml")


def test_calibrate_reads_labels_of_json_answers(triage: Path) -> None:
    import tomllib

    case = json.loads((triage / "ruler" / "cases.jsonl").read_text().splitlines()[0])
    dimensions = list(tomllib.loads((triage / "parity.toml").read_text())["rubric"]["dimensions"])
    label = {
        "item": "a",
        "task_id": "t1",
        "split": "heldout",
        "input": json.dumps(case["input"]),
        "gold": case["gold"],
        "candidate": case["gold"],
        "source": "agent:x",
        "judgings": [{"judge": "j", "brief": "b", "scores": dict.fromkeys(dimensions, 3), "verdict": "tie"}],
    }
    (triage / "labels.jsonl").write_text(json.dumps(label) + "\n")
    result = invoke_parity("calibrate", "--labels", "labels.jsonl", cwd=triage)
    assert result.returncode == 0 and "agent:x" in result.stdout, result.stderr  # a JSON answer holds a dict: it was hashed

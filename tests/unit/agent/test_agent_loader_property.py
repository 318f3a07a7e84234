"""Property tests for agent files (`agents/NAME.yaml`): whatever the file holds, `load_agent_config` returns
an agent that can be run or refuses the file with one line (a ParityError), never another exception;
the same for the mapping `validate_agent_config` checks; a valid agent written out and loaded again is
the same model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import parity.examples
from parity.agent.config import AgentConfig, load_agent_config, validate_agent_config
from parity.agent.settings import PROMPT_VARIABLES, TemplateInput
from parity.errors import ParityError
from tests.helpers.draws import one_thing_wrong
from tests.helpers.hostile import assert_one_line, assert_storable, hostile_text, hostile_values

EXAMPLES = Path(parity.examples.__file__).parent
BASES = [yaml.safe_load(path.read_text("utf-8")) for path in sorted(EXAMPLES.glob("*/agents/*.yaml"))]
SHOWN = "agents/agent.yaml"
FILLED: dict[str, Any] = {name: 7 if name == "n_questions" else "x" for name in PROMPT_VARIABLES}  # the types they get at run time
FILLED["input"] = TemplateInput("x", {})  # {input.FIELD} reads a field of an object input


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agents") / "agent.yaml"


def runnable(config: AgentConfig) -> None:
    assert isinstance(config, AgentConfig) and config.name is not None
    assert_storable(config.model_dump())
    config.prompt.system.format(**FILLED)
    config.prompt.user.format(**FILLED)


def load(path: Path, data: bytes) -> AgentConfig | None:
    """The agent `data` configures, checked as runnable; None when it is refused in one line."""
    path.write_bytes(data)
    try:
        config, spec = load_agent_config(path, SHOWN)
    except ParityError as exc:
        assert_one_line(exc)
        assert exc.where and exc.where.startswith(SHOWN)
        return None
    runnable(config)
    assert spec.backend and spec.target
    return config


def test_the_bundled_agents_load(path: Path) -> None:
    for base in BASES:
        assert load(path, yaml.safe_dump(base).encode()) is not None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_load_or_are_refused_in_one_line(path: Path, data: bytes) -> None:
    load(path, data)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200) | st.sampled_from(["model: \ud800", "\ud800", "name: '\udfff'"]))
def test_any_text_loads_or_is_refused_in_one_line(path: Path, text: str) -> None:
    load(path, text.encode("utf-8", "surrogatepass"))


@settings(max_examples=150, deadline=None)
@given(hostile_values)
def test_any_yaml_document_loads_or_is_refused_in_one_line(path: Path, doc: Any) -> None:
    load(path, yaml.safe_dump(doc).encode())  # lone surrogates and line breaks written as YAML escapes


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BASES), st.data())
def test_a_valid_agent_with_one_thing_wrong_loads_or_is_refused_in_one_line(path: Path, base: dict[str, Any], data) -> None:
    load(path, yaml.safe_dump(one_thing_wrong(data, base)).encode())


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(hostile_text, hostile_values, max_size=5))
def test_any_mapping_validates_or_is_refused_in_one_line(raw: dict[str, Any]) -> None:
    try:
        config = validate_agent_config(raw, SHOWN)
    except ParityError as exc:
        assert_one_line(exc)
        return
    runnable(config.model_copy(update={"name": config.name or "a"}))


DEEP = 5000
ATTACKS = {
    "an empty file": "",
    "a list": "- model: llamacpp:smollm2-135m",
    "two documents": "name: a\n---\nname: b\n",
    "deep flow lists": "name: " + "[" * DEEP + "]" * DEEP,
    "deep block mappings": "".join(" " * i + "a:\n" for i in range(1200)),
    "a recursive alias": "prompt: &p\n  system: *p\n",
    "a 5000-digit integer": "decoding:\n  seed: " + "9" * 5000,
    "an impossible date": "name: 2001-02-30",
    "a tagged int that is not one": "decoding:\n  seed: !!int abc",
    "an unhashable key": "? [a]\n: 1",
    "a python tag": "name: !!python/object/apply:os.system ['true']",
    "an escaped lone surrogate": 'name: "\\ud800"',
    "a key with a line break": '"a\\nb": 1',
    "an unknown strategy with a line break": 'strategy: "a\\nb"',
    "a strategy kind with a line break": 'strategy: {kind: "a\\u2028b"}',
    "a model spec with a line break": 'model: "bogus\\nspec"',
    "a template variable with a line break": 'prompt: {user: "{a\\nb}"}',
    "a template conversion that does not exist": 'prompt: {user: "{input!z}"}',
    "an infinite timeout": "backend: {timeout_s: .inf}",
    "a NaN backoff": "backend: {backoff_base_s: .nan}",
    "a NaN temperature": "decoding: {temperature: .nan}",
    "a NaN in a list of temperatures": "strategy: {kind: best_of_n, temperatures: [0.0, .nan]}",
    "a latin-1 byte": "name: caf\xe9",
}


@pytest.mark.parametrize("text", ATTACKS.values(), ids=ATTACKS.keys())
def test_handwritten_attacks_are_refused_in_one_line(path: Path, text: str) -> None:
    data = text.encode("latin-1") if text.endswith("\xe9") else text.encode()
    assert load(path, data) is None


printable = st.characters(exclude_categories=("Cs",))
template = st.lists(
    st.text(printable, max_size=20).map(lambda t: t.replace("{", "{{").replace("}", "}}")) | st.sampled_from(["{input}", "{n_questions}"]),
    max_size=5,
).map("".join)


@st.composite
def agents(draw: st.DrawFn) -> AgentConfig:
    raw = dict(draw(st.sampled_from(BASES)))
    raw["name"] = draw(st.text(printable, min_size=1, max_size=20))
    raw["prompt"] = {"system": draw(template), "user": draw(template)}
    raw["decoding"] = {
        "temperature": draw(st.floats(0, 2)),
        "top_p": draw(st.floats(0, 1, exclude_min=True)),
        "max_tokens": draw(st.integers(16, 8192)),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }
    raw["fewshot"] = draw(
        st.none() | st.fixed_dictionaries({"k": st.integers(1, 8), "retrieval": st.sampled_from(["knn", "mmr", "random"])})
    )
    raw["backend"] = {"max_in_flight": draw(st.integers(1, 256)), "timeout_s": draw(st.floats(0.1, 1e4))}
    return AgentConfig.model_validate(raw)


@settings(max_examples=100, deadline=None)
@given(agents())
def test_a_valid_agent_round_trips(path: Path, config: AgentConfig) -> None:
    assert load(path, yaml.safe_dump(config.model_dump()).encode()) == config  # escaped: PyYAML writes a raw NEL as a line break

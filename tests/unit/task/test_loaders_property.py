"""Property tests for `parity.toml`: whatever the file holds, `load_workspace` returns a workspace that can
be run or refuses it with one line (a ParityError), never another exception; a valid configuration
written out and loaded again is the same model."""

from __future__ import annotations

import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import parity.examples
from parity.errors import ParityError
from parity.task import CONFIG_NAME, Workspace, WorkspaceConfig, load_workspace
from tests.helpers.draws import one_thing_wrong
from tests.helpers.hostile import assert_one_line, assert_storable, hostile_text, hostile_values, mutated

EXAMPLES = Path(parity.examples.__file__).parent
BASES = [tomllib.loads((EXAMPLES / name / CONFIG_NAME).read_text("utf-8")) for name in ("discovery", "persona")]


def toml_string(text: str) -> str:
    """A TOML basic string; a lone surrogate is written as the escape a hand-written file would hold."""
    quoted = json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", quoted)


def toml_key(key: Any) -> str:
    key = str(key)
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(doc: Any) -> str:
    """`doc` as TOML, each top-level key on its line (a non-table document as a single key)."""
    if not isinstance(doc, dict):
        doc = {"value": doc}
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in doc.items())


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ws")


def load(root: Path, data: bytes) -> Workspace | None:
    """The workspace `data` configures, checked as runnable; None when it is refused in one line."""
    (root / CONFIG_NAME).write_bytes(data)
    try:
        ws = load_workspace(root)
    except ParityError as exc:
        assert_one_line(exc)
        return None
    config = ws.config
    assert_storable(config.model_dump())
    assert "full" in config.gates and all(ids == "all" or (ids and len(set(ids)) == len(ids)) for ids in config.gates.values())
    assert math.isclose(sum(config.rubric.normalized_weights().values()), 1.0)
    np.random.default_rng(config.metric.seed)  # the bootstrap's generator takes the seed
    return ws


def test_the_bundled_configurations_load(root: Path) -> None:
    for base in BASES:
        assert load(root, toml_document(base).encode()) is not None


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_load_or_are_refused_in_one_line(root: Path, data: bytes) -> None:
    load(root, data)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200) | st.sampled_from(["[task]\nname = \ud800", "\ud800", "a = '\udfff'"]))
def test_any_text_loads_or_is_refused_in_one_line(root: Path, text: str) -> None:
    load(root, text.encode("utf-8", "surrogatepass"))  # a lone surrogate as a file holds one: bytes ED A0 80


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(hostile_text, hostile_values, max_size=6))
def test_any_toml_document_loads_or_is_refused_in_one_line(root: Path, doc: dict[str, Any]) -> None:
    load(root, toml_document(doc).encode())


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BASES), st.data())
def test_a_valid_configuration_with_one_thing_wrong_loads_or_is_refused_in_one_line(root: Path, base: dict[str, Any], data) -> None:
    load(root, toml_document(one_thing_wrong(data, base)).encode())


BUNDLED = (EXAMPLES / "discovery" / CONFIG_NAME).read_text("utf-8")
DEEP = 5000
# Appended to the bundled file, so each lands in its last table ([loop.space]); or the whole file.
SYNTAX_ATTACKS = {
    "an empty file": None,
    "deep arrays": "x = " + "[" * DEEP + "]" * DEEP,
    "deep inline tables": "x = " + "{y = " * DEEP + "1" + "}" * DEEP,
    "a 5000-digit integer": "x = " + "9" * 5000,
    "an escaped lone surrogate": 'x = "\\ud800"',
    "a key with a line break": '"a\\nb" = 1',
    "a key with a line separator": '"a\u2028b" = 1',
}


@pytest.mark.parametrize("attack", SYNTAX_ATTACKS.values(), ids=SYNTAX_ATTACKS.keys())
def test_handwritten_attacks_are_refused_in_one_line(root: Path, attack: str | None) -> None:
    (root / CONFIG_NAME).write_text("" if attack is None else f"{BUNDLED}\n{attack}\n", encoding="utf-8")
    with pytest.raises(ParityError) as refused:
        load_workspace(root)
    assert_one_line(refused.value)


# (how, where, key, value): values that parse and then could not run (crashed, empty or never-ending
# experiments), and names that would print on several lines.
VALUE_ATTACKS = [
    ("add", ("rubric", "dimensions", "coverage"), "weight", math.inf),
    ("add", ("rubric", "dimensions", "coverage"), "weight", "inf"),
    ("add", ("metric",), "seed", -1),
    ("add", ("metric",), "seed", 2**64),
    ("add", ("metric",), "bootstrap_samples", 10**9),
    ("add", ("metric",), "confidence", math.nan),
    ("add", ("task",), "n_questions", 10**30),
    ("add", ("judge",), "backend", {"timeout_s": math.inf}),
    ("add", ("judge",), "backend", {"backoff_max_s": "nan"}),
    ("add", ("loop", "space"), "decoding.temperature", {"range": [0.0, math.inf]}),
    ("add", ("loop", "space"), "decoding.top_p", {"choice": [0.5, math.nan]}),
    ("add", ("loop", "space"), "fewshot.k", {"range": [0, 3], "grid": [0, math.inf]}),
    ("add", ("gates",), "dev", []),
    ("add", ("gates",), "x\ny", []),
    ("add", ("gates",), "dev", ["a\nb", "a\nb"]),
    ("replace", ("judge",), "", {"kind": "llm", "model": "bogus\nspec"}),
    ("add", ("task",), "x\u2028y", 1),
    ("add", (), "detectors", {"d": {"patterns": ["(\n"]}}),
]


@pytest.mark.parametrize("how, where, key, value", VALUE_ATTACKS)
def test_values_that_cannot_run_are_refused_at_the_door_in_one_line(
    root: Path, how: str, where: tuple[str, ...], key: str, value: Any
) -> None:
    (root / CONFIG_NAME).write_text(toml_document(mutated(BASES[0], where, how, value, key)), encoding="utf-8")
    with pytest.raises(ParityError) as refused:
        load_workspace(root)
    assert_one_line(refused.value)
    assert refused.value.where and refused.value.where.startswith(f"{CONFIG_NAME}:")


names = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=10)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
param_specs = st.one_of(
    st.fixed_dictionaries({"choice": st.lists(st.integers() | texts | st.booleans() | finite, min_size=1, max_size=4)}),
    st.tuples(st.integers(-100, 100), st.integers(1, 100), st.booleans()).map(lambda t: {"range": [t[0], t[0] + t[1]], "log": t[2]}),
    st.tuples(finite, st.floats(0.001, 100)).map(lambda t: {"range": [t[0], t[0] + t[1]]}),
)


@st.composite
def configs(draw: st.DrawFn) -> WorkspaceConfig:
    rubric_weight = draw(st.floats(0, 1))
    scale_min = draw(st.integers(-5, 5))
    raw = {
        "task": {
            "name": draw(texts),
            "description": draw(texts),
            "kind": draw(st.sampled_from(["questions", "free_text"])),
            "n_questions": draw(st.integers(1, 50)),
            "max_question_chars": draw(st.integers(20, 10**6)),
            "max_title_chars": draw(st.integers(10, 10**6)),
        },
        "rubric": {
            "scale_min": scale_min,
            "scale_max": scale_min + draw(st.integers(1, 10)),
            "dimensions": draw(
                st.dictionaries(
                    names,
                    st.fixed_dictionaries({"weight": st.floats(1e-6, 1e6), "description": texts, "signal": st.none() | names}),
                    min_size=1,
                    max_size=4,
                )
            ),
        },
        "metric": {
            "rubric_weight": rubric_weight,
            "pairwise_weight": 1 - rubric_weight,
            "confidence": draw(st.floats(0.51, 0.99)),
            "bootstrap_samples": draw(st.integers(100, 100_000)),
            "seed": draw(st.integers(0, 2**32 - 1)),
        },
        "judge": {
            "tie_margin": draw(st.floats(0, 0.99)),
            "backend": {"max_in_flight": draw(st.integers(1, 256)), "timeout_s": draw(st.floats(0.1, 1e4))},
        },
        "detectors": draw(
            st.dictionaries(names, st.fixed_dictionaries({"patterns": st.lists(texts.map(re.escape), min_size=1, max_size=3)}), max_size=2)
        ),
        "gates": {
            "full": "all",
            **draw(st.dictionaries(names.filter(lambda n: n != "full"), st.lists(names, min_size=1, max_size=5, unique=True), max_size=3)),
        },
        "loop": {"plateau": draw(st.integers(2, 50)), "space": draw(st.dictionaries(names, param_specs, max_size=3))},
    }
    return WorkspaceConfig.model_validate(raw)


@settings(max_examples=100, deadline=None)
@given(configs())
def test_a_valid_configuration_round_trips(root: Path, config: WorkspaceConfig) -> None:
    ws = load(root, toml_document(config.model_dump(exclude_none=True)).encode())
    assert ws is not None and ws.config == config


def test_the_toml_writer_of_these_tests_writes_what_tomllib_reads() -> None:
    doc = {"a b": ["x\ny", 1.5, -0.0, 10**20, True, {"c\u2028": "\x7f"}], "é": math.inf}
    assert tomllib.loads(toml_document(doc)) == doc

"""The strategy registry: every strategy declares its config, call budget, diagram boxes and task kinds in
its own module, and a module dropped into the package is picked up everywhere without other edits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import parity
from parity.agent import Agent
from parity.agent.config import AgentConfig, validate_agent_config
from parity.agent.pipeline import COLOURS, pipeline_nodes
from parity.agent.strategies import STRATEGIES, STRATEGY_KINDS, calls_per_case, check_strategy, strategy_nodes
from parity.agent.strategies.base import TASK_KINDS, Diagram
from parity.agent.strategies.overgenerate_prune import TOP_UPS
from parity.errors import ParityError
from parity.loop.proposers import DEFAULT_FIELDS
from parity.task import TaskSpec

QUESTIONS = TaskSpec(name="t", description="d", n_questions=7)
FREE_TEXT = TaskSpec(name="t", description="d", kind="free_text")


def _strategy(raw: dict | str) -> object:
    return AgentConfig.model_validate({"strategy": raw}).strategy


def _refusal(raw: dict | str) -> str:
    with pytest.raises(ParityError) as info:
        validate_agent_config({"strategy": raw}, "agents/a.yaml")
    return info.value.line()


def test_the_built_in_strategies_are_registered_in_their_order() -> None:
    assert STRATEGY_KINDS == ("single", "overgenerate_prune", "best_of_n", "critique_revise", "vote")


@pytest.mark.parametrize("kind", STRATEGY_KINDS)
def test_every_strategy_declares_config_calls_nodes_and_task_kinds_in_its_own_module(kind: str) -> None:
    strategy = STRATEGIES[kind]
    assert strategy.config.__module__ == strategy.run.__module__ == f"parity.agent.strategies.{kind}"
    config = _strategy(kind)
    assert type(config) is strategy.config
    assert calls_per_case(config) >= 1
    assert strategy.task_kinds and set(strategy.task_kinds) <= set(TASK_KINDS)
    for task in (QUESTIONS, FREE_TEXT):
        boxes = strategy_nodes(config, Diagram("llamacpp:m", "greedy", task))
        assert boxes and {box.kind for box in boxes} <= set(COLOURS)
        assert any(box.kind == "call" for box in boxes)


@pytest.mark.parametrize(
    ("raw", "calls"),
    [
        ("single", 1),
        ({"kind": "overgenerate_prune", "m": 9}, 1 + TOP_UPS),  # was 1: the top-ups went unbudgeted
        ({"kind": "overgenerate_prune", "m": 20}, 1 + TOP_UPS),
        ({"kind": "best_of_n", "temperatures": [0.0, 1.0]}, 2),
        ("best_of_n", 4),
        ({"kind": "vote", "samples": 3}, 3),
        ("vote", 5),
        ({"kind": "critique_revise", "rounds": 1}, 3),
        ({"kind": "critique_revise", "rounds": 3}, 7),
    ],
)
def test_calls_per_case_follows_the_config(raw: dict | str, calls: int) -> None:
    config = AgentConfig.model_validate({"strategy": raw})
    assert calls_per_case(config.strategy) == calls
    assert Agent(config, None, QUESTIONS, Path("a.yaml"), None, None).calls_per_case == calls  # type: ignore[arg-type]


def test_stacked_boxes_show_the_calls_their_config_makes() -> None:
    config = AgentConfig.model_validate({"strategy": {"kind": "vote", "samples": 6}})
    assert [node.copies for node in pipeline_nodes(config, QUESTIONS)] == [1, 6, 1, 1]
    revise = AgentConfig.model_validate({"strategy": {"kind": "critique_revise", "rounds": 2}})
    assert [node.kind for node in pipeline_nodes(revise, QUESTIONS)] == ["io", "call", "call", "call", "call", "call", "io"]


def test_the_strategy_union_refuses_unknown_kinds_with_the_registry_list() -> None:
    listed = ", ".join(STRATEGY_KINDS)
    assert f"allowed: {listed}" in _refusal("votes")
    assert f"set kind: one of {listed}" in _refusal({"m": 12})
    assert "'vote'" in _refusal({"kind": "votes"})  # pydantic lists the expected tags
    assert "strategy.sample" in _refusal({"kind": "vote", "sample": 3})


def test_the_proposers_choose_among_the_registered_strategies() -> None:
    assert DEFAULT_FIELDS["strategy.kind"].choice == list(STRATEGY_KINDS)


def test_a_task_kind_a_strategy_does_not_support_is_refused_with_the_ones_that_do() -> None:
    able = [kind for kind, s in STRATEGIES.items() if "free_text" in s.task_kinds]
    assert able == ["single", "best_of_n", "critique_revise"]
    for kind in STRATEGY_KINDS:
        config = _strategy(
            {"kind": kind, "critique_prompt": "{input} {draft}", "revise_prompt": "{draft}"} if kind == "critique_revise" else kind
        )
        check_strategy(config, QUESTIONS, "agents/a.yaml")
        if kind in able:
            check_strategy(config, FREE_TEXT, "agents/a.yaml")
            continue
        with pytest.raises(ParityError) as info:
            check_strategy(config, FREE_TEXT, "agents/a.yaml")
        assert info.value.line().startswith(f"agents/a.yaml: strategy '{kind}' combines lists of questions")
        assert "use single, best_of_n or critique_revise" in info.value.line()


def test_each_strategy_checks_its_own_settings_against_the_task() -> None:
    with pytest.raises(ParityError, match=r"strategy\.m is 7"):
        check_strategy(_strategy({"kind": "overgenerate_prune", "m": 7}), QUESTIONS, "agents/a.yaml")
    with pytest.raises(ParityError, match="default prompts critique clarifying questions"):
        check_strategy(_strategy("critique_revise"), FREE_TEXT, "agents/a.yaml")


# --- adding a strategy is adding one file -------------------------------------------------------------

ECHO = '''
"""echo: answers with the case input, `times` times over (a free-text-only strategy for the registry test)."""

from typing import Literal

from pydantic import Field

from parity.agent.strategies.base import Node, Strategy, StrategyConfig
from parity.task import Answer


class Echo(StrategyConfig):
    kind: Literal["echo"]
    times: int = Field(default=2, ge=1)


def echo(ctx, case_input, cfg):
    return Answer(text=" ".join([case_input] * cfg.times))


STRATEGY = Strategy(
    config=Echo,
    run=echo,
    calls=lambda cfg: cfg.times,
    nodes=lambda cfg, diagram: [Node("call", f"{diagram.model} × {cfg.times}", diagram.schema, cfg.times)],
    task_kinds=("free_text",),
)
'''

PROBE = """
import json
from pathlib import Path

import parity
from parity.agent import Agent
from parity.agent.config import validate_agent_config
from parity.agent.pipeline import pipeline_nodes
from parity.agent.strategies import check_strategy
from parity.errors import ParityError
from parity.loop.proposers import DEFAULT_FIELDS
from parity.task import TaskSpec

free = TaskSpec(name="t", description="d", kind="free_text")
config = validate_agent_config({"strategy": {"kind": "echo", "times": 3}}, "agents/a.yaml")
agent = Agent(config, None, free, Path("a.yaml"), None, None)
check_strategy(config.strategy, free, "agents/a.yaml")
refusals = []
for raw, task in (("nope", free), ("echo", TaskSpec(name="t", description="d"))):
    try:
        check_strategy(validate_agent_config({"strategy": raw}, "agents/a.yaml").strategy, task, "agents/a.yaml")
    except ParityError as exc:
        refusals.append(exc.line())
try:
    validate_agent_config({"strategy": "vote"}, "agents/a.yaml").strategy
    check_strategy(validate_agent_config({"strategy": "vote"}, "agents/a.yaml").strategy, free, "agents/a.yaml")
except ParityError as exc:
    refusals.append(exc.line())
print(json.dumps({
    "package": parity.__file__,
    "calls": agent.calls_per_case,
    "copies": [node.copies for node in pipeline_nodes(config, free)],
    "answer": agent.answer("hi").answer.text,
    "choices": DEFAULT_FIELDS["strategy.kind"].choice,
    "refusals": refusals,
}))
"""


def _copy_with(tmp_path: Path, modules: dict[str, str]) -> Path:
    """A copy of the parity package with extra modules in agent/strategies/, and nothing else changed."""
    package = Path(parity.__file__).parent
    root = tmp_path / "src"
    shutil.copytree(package, root / "parity", ignore=shutil.ignore_patterns("__pycache__", "examples"))
    for name, code in modules.items():
        (root / "parity" / "agent" / "strategies" / f"{name}.py").write_text(textwrap.dedent(code))
    return root


def _python(root: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_strategy_module_dropped_into_the_package_is_picked_up_everywhere(tmp_path: Path) -> None:
    root = _copy_with(tmp_path, {"echo": ECHO})
    done = _python(root, PROBE)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["package"].startswith(str(root))  # the copy, not the installed tree
    assert seen["calls"] == 3
    assert seen["copies"] == [1, 3, 1]
    assert seen["answer"] == "hi hi hi"
    assert seen["choices"] == [*STRATEGY_KINDS, "echo"]  # after the built-ins, which take orders 0 to 40
    unknown, wrong_task, question_only = seen["refusals"]
    assert f"allowed: {', '.join(STRATEGY_KINDS)}, echo" in unknown
    assert "strategy 'echo' writes free text; this task's answers are lists of questions" in wrong_task
    assert "use single, overgenerate_prune, best_of_n, critique_revise or vote" in wrong_task
    assert "use single, best_of_n, critique_revise or echo" in question_only


def test_two_modules_registering_one_kind_stop_the_import(tmp_path: Path) -> None:
    root = _copy_with(tmp_path, {"echo": ECHO, "echo_again": ECHO})
    done = _python(root, "import parity.agent.strategies")
    assert done.returncode != 0
    assert "two strategy modules register the kind 'echo'" in done.stderr

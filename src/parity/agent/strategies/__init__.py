"""The pipelines a YAML agent can name in `strategy:`, one module each. Each turns a case input into an
Answer using only the AgentContext (model, decoding, corpus), never gold.

Adding a strategy is adding one module to this package that defines `STRATEGY = Strategy(...)` (see
base.py): the package imports every module it holds, and the agent file's `strategy:` section, the
budget's calls per case, the pipeline diagram and the proposers' choices all read STRATEGIES."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Annotated, Any, Union

from pydantic import Field

from parity.agent.context import AgentContext
from parity.agent.strategies.base import Diagram, Node, Strategy, StrategyConfig
from parity.agent.strategies.helpers import cluster_questions, medoid, prune_redundant
from parity.errors import ParityError
from parity.task import Answer, TaskSpec

__all__ = [
    "STRATEGIES",
    "STRATEGY_KINDS",
    "AnyStrategyConfig",
    "Diagram",
    "Node",
    "Strategy",
    "StrategyConfig",
    "calls_per_case",
    "check_strategy",
    "cluster_questions",
    "medoid",
    "prune_redundant",
    "run_strategy",
    "strategy_nodes",
]

# Why a strategy refuses a task whose answers are of this kind.
UNSUPPORTED = {
    "free_text": "combines lists of questions; this task's answers are free text",
    "questions": "writes free text; this task's answers are lists of questions",
    "json": "cannot answer this task's JSON objects",
}


def discover() -> dict[str, Strategy[Any]]:
    """Every strategy a module of this package registers, in their declared order."""
    found: dict[str, Strategy[Any]] = {}
    for module in pkgutil.iter_modules(__path__):
        strategy = getattr(importlib.import_module(f"{__name__}.{module.name}"), "STRATEGY", None)
        if not isinstance(strategy, Strategy):
            continue  # a module of shared parts
        if strategy.kind in found:
            raise ValueError(f"two strategy modules register the kind '{strategy.kind}' ({module.name} and an earlier one)")
        found[strategy.kind] = strategy
    return dict(sorted(found.items(), key=lambda item: item[1].order))


STRATEGIES = discover()
STRATEGY_KINDS = tuple(STRATEGIES)

if TYPE_CHECKING:
    AnyStrategyConfig = StrategyConfig
else:
    # The agent file's `strategy:` section: pydantic picks the registered model its `kind` names.
    AnyStrategyConfig = Annotated[Union[tuple(s.config for s in STRATEGIES.values())], Field(discriminator="kind")]  # noqa: UP007 (a Union built at run time)


def run_strategy(ctx: AgentContext, case_input: str) -> Answer:
    config = ctx.config.strategy
    return STRATEGIES[config.kind].run(ctx, case_input, config)


def calls_per_case(config: StrategyConfig) -> int:
    """The most model calls one case can take under this strategy."""
    return STRATEGIES[config.kind].calls(config)


def strategy_nodes(config: StrategyConfig, diagram: Diagram) -> list[Node]:
    return STRATEGIES[config.kind].nodes(config, diagram)


def check_strategy(config: StrategyConfig, task: TaskSpec, where: str) -> None:
    """Refuse, before anything runs, a strategy that cannot answer this task."""
    strategy = STRATEGIES[config.kind]
    if task.kind not in strategy.task_kinds:
        able = [s.kind for s in STRATEGIES.values() if task.kind in s.task_kinds]
        raise ParityError(f"strategy '{strategy.kind}' {UNSUPPORTED[task.kind]}", where, f"use {_one_of(able)}")
    strategy.check(config, task, where)


def _one_of(names: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]

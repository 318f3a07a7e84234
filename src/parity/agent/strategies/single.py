"""single: one call, the agent's prompt as it stands (the default)."""

from __future__ import annotations

from typing import Literal

from parity.agent.context import AgentContext
from parity.agent.strategies.base import Diagram, Node, Strategy, StrategyConfig
from parity.agent.strategies.helpers import require_answer
from parity.task import Answer


class SingleStrategy(StrategyConfig):
    kind: Literal["single"] = "single"


def single(ctx: AgentContext, case_input: str, _: SingleStrategy) -> Answer:
    return require_answer(ctx.ask(case_input), ctx)


def nodes(_: SingleStrategy, diagram: Diagram) -> list[Node]:
    return [Node("call", diagram.model, f"{diagram.decoding}; {diagram.schema}")]


STRATEGY = Strategy(config=SingleStrategy, run=single, calls=lambda _: 1, nodes=nodes, order=0)

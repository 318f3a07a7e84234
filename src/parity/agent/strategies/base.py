"""What a strategy module declares, in one place: its config section, how it runs, the most model calls
one case can take, its boxes in the pipeline diagram and the task kinds it can answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_args

from parity.agent.context import AgentContext
from parity.agent.settings import Strict
from parity.task import Answer, TaskSpec

TASK_KINDS: tuple[str, ...] = get_args(TaskSpec.model_fields["kind"].annotation)  # "questions", "free_text", "json"


class StrategyConfig(Strict):
    """The `strategy:` section of an agent file; each strategy narrows `kind` to its own Literal."""

    kind: str


@dataclass(frozen=True)
class Node:
    """One box of the pipeline diagram."""

    kind: str  # io, retrieval, call, post or python: the box's colour
    title: str
    detail: str = ""
    copies: int = 1  # > 1: drawn as a stack, e.g. n samples


@dataclass(frozen=True)
class Diagram:
    """What a strategy's boxes mention: the model (and adapter), the agent's decoding and the task."""

    model: str
    decoding: str
    task: TaskSpec

    @property
    def schema(self) -> str:
        """How each call's answer is constrained."""
        if self.task.is_json:
            return f"JSON schema: {', '.join(self.task.output_schema['properties'])}"
        return "free text, no schema" if self.task.free_text else f"JSON schema: title + {self.task.n_questions} questions"


Config = TypeVar("Config", bound=StrategyConfig)


def accept(config: Any, task: TaskSpec, where: str) -> None:
    """The default check: every setting of the strategy suits every task it supports."""


@dataclass(frozen=True)
class Strategy(Generic[Config]):
    """A module of parity.agent.strategies registers a strategy by defining `STRATEGY = Strategy(...)`."""

    config: type[Config]  # its `kind` Literal names the strategy
    run: Callable[[AgentContext, str, Config], Answer]  # the case input to an answer, or AgentFailure
    calls: Callable[[Config], int]  # the most model calls one case can take: the budget reserves this many
    nodes: Callable[[Config, Diagram], list[Node]]  # between the retrieval and the answer boxes
    task_kinds: tuple[str, ...] = TASK_KINDS  # the TaskSpec kinds it can answer
    check: Callable[[Config, TaskSpec, str], None] = accept  # raises ParityError for settings this task cannot run
    order: int = 100  # where it comes in lists (errors, the proposers' choices): the built-ins take 0 to 40

    @property
    def kind(self) -> str:
        (kind,) = get_args(self.config.model_fields["kind"].annotation)
        return kind

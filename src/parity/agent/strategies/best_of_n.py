"""best_of_n: a pool of drafts over several temperatures; a selector that never sees gold picks one."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from parity.agent.context import AgentContext, AgentFailure, Draw
from parity.agent.strategies.base import Diagram, Node, Strategy, StrategyConfig
from parity.agent.strategies.helpers import unit
from parity.task import Answer


class BestOfN(StrategyConfig):
    """A pool of drafts over several temperatures; a selector that never sees gold picks one."""

    kind: Literal["best_of_n"]
    temperatures: list[float] = Field(default_factory=lambda: [0.0, 0.5, 0.8, 1.0], min_length=2, max_length=16)
    selector: Literal["centrality", "self_consistency"] = "centrality"
    match_threshold: float = Field(default=0.75, gt=0, lt=1)  # self_consistency: cosine at which two questions agree

    @field_validator("temperatures")
    @classmethod
    def _in_range(cls, temps: list[float]) -> list[float]:
        if any(not 0 <= t <= 2 for t in temps):
            raise ValueError("every temperature must be between 0 and 2")
        return temps


def best_of_n(ctx: AgentContext, case_input: str, cfg: BestOfN) -> Answer:
    demos = ctx.fewshot(case_input)
    draws = [Draw(temperature, i, f"sample:{temperature}") for i, temperature in enumerate(cfg.temperatures)]
    pool = [answer for answer in ctx.ask_each(case_input, demos, draws) if answer is not None]
    if not pool:
        raise AgentFailure(f"none of the {len(cfg.temperatures)} samples gave a valid answer")
    if len(pool) == 1:
        return pool[0]
    if cfg.selector == "centrality":
        centres = np.stack([unit(ctx.embed(a.units() or [a.render()]).mean(axis=0)) for a in pool])
        support = (centres @ centres.T).sum(axis=1)
    else:
        # How many of its questions (sentences) some other sample also asked, summed over the others.
        vectors = [ctx.embed(a.units() or [a.render()]) for a in pool]
        support = np.array(
            [
                sum(int(np.sum((v @ other.T).max(axis=1) >= cfg.match_threshold)) for j, other in enumerate(vectors) if j != i)
                for i, v in enumerate(vectors)
            ]
        )
    return pool[int(np.argmax(support))]  # ties go to the earlier (cooler) sample


def nodes(cfg: BestOfN, diagram: Diagram) -> list[Node]:
    temps = ", ".join(f"{t:g}" for t in cfg.temperatures)
    units = "sentences" if diagram.task.free_text else "questions"
    how = (
        "most central in embedding space"
        if cfg.selector == "centrality"
        else f"most {units} echoed by other samples (cos ≥ {cfg.match_threshold:g})"
    )
    return [
        Node("call", f"{diagram.model} × {len(cfg.temperatures)}", f"T = {temps}; {diagram.schema}", len(cfg.temperatures)),
        Node("post", f"select one by {cfg.selector}", how),
    ]


STRATEGY = Strategy(config=BestOfN, run=best_of_n, calls=lambda cfg: len(cfg.temperatures), nodes=nodes, order=20)

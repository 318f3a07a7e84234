"""vote: several samples; the questions that recur across the most samples win. On a json task, each
exact field (an enum, a number, a boolean) takes the value most samples gave, and the other fields come
whole from the sample that agrees with those majorities most often."""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
from pydantic import Field

import parity.json_shape as json_shape
from parity.agent.context import AgentContext, AgentFailure, Draw
from parity.agent.strategies.base import Diagram, Node, Strategy, StrategyConfig
from parity.agent.strategies.helpers import cluster_questions, medoid
from parity.task import Answer, parse_answer


class Vote(StrategyConfig):
    """Several samples; the questions that recur across the most samples win."""

    kind: Literal["vote"]
    samples: int = Field(default=5, ge=2, le=16)
    temperature: float = Field(default=0.8, gt=0, le=2)
    match_threshold: float = Field(default=0.75, gt=0, lt=1)  # cosine at which two questions count as the same


def vote(ctx: AgentContext, case_input: str, cfg: Vote) -> Answer:
    demos = ctx.fewshot(case_input)
    draws = [Draw(cfg.temperature, i, f"sample:{i}") for i in range(cfg.samples)]
    samples = [answer for answer in ctx.ask_each(case_input, demos, draws) if answer is not None]
    n = ctx.task.n_questions
    if not samples:
        raise AgentFailure(f"none of the {cfg.samples} samples gave a valid answer")
    if ctx.task.is_json:
        return vote_fields(ctx, samples)
    questions = [(s, q) for s, answer in enumerate(samples) for q in dict.fromkeys(answer.questions)]
    vectors = ctx.embed([q for _, q in questions])
    clusters = cluster_questions(vectors, cfg.match_threshold)
    # Support = how many samples asked it; the earliest-asked wins ties so the order stays natural.
    ranked = sorted(clusters, key=lambda members: (-len({questions[i][0] for i in members}), min(members)))
    if len(ranked) < n:
        raise AgentFailure(f"the samples held only {len(ranked)} distinct questions, fewer than {n}")
    chosen = sorted(ranked[:n], key=min)
    picked = [questions[medoid(vectors, members)][1] for members in chosen]
    titles = [answer.title for answer in samples]
    title_vectors = ctx.embed(titles)
    title = titles[int(np.argmax((title_vectors @ title_vectors.T).sum(axis=1)))]
    return ctx.finish(title, picked)


def vote_fields(ctx: AgentContext, samples: list[Answer]) -> Answer:
    """Per-field majority for the exact fields (ties to the earliest sample); the rest from the most agreeing sample."""
    data = [answer.data or {} for answer in samples]
    properties = ctx.task.output_schema["properties"]
    exact = [name for name, sub in properties.items() if isinstance(sub, dict) and json_shape.is_exact(sub)]
    majority = {}
    for name in exact:
        values = [json.dumps(d.get(name), sort_keys=True) for d in data]
        majority[name] = json.loads(max(dict.fromkeys(values), key=values.count))  # dict.fromkeys: first seen wins a tie
    agreement = [sum(d.get(name) == majority[name] for name in exact) for d in data]
    voted = {**data[agreement.index(max(agreement))], **majority}
    try:
        return parse_answer({name: voted[name] for name in properties if name in voted}, ctx.task)
    except ValueError as exc:
        raise AgentFailure(f"the voted answer does not validate: {exc}") from None


def nodes(cfg: Vote, diagram: Diagram) -> list[Node]:
    if diagram.task.is_json:
        return [
            Node("call", f"{diagram.model} × {cfg.samples}", f"T={cfg.temperature:g}; {diagram.schema}", cfg.samples),
            Node("post", "vote: the majority of each enum, number and boolean field", "other fields from the most agreeing sample"),
        ]
    return [
        Node("call", f"{diagram.model} × {cfg.samples}", f"T={cfg.temperature:g}; {diagram.schema}", cfg.samples),
        Node(
            "post",
            f"vote: keep the {diagram.task.n_questions} most recurring questions",
            f"cluster at cos ≥ {cfg.match_threshold:g}; support = samples asking it",
        ),
    ]


STRATEGY = Strategy(
    config=Vote,
    run=vote,
    calls=lambda cfg: cfg.samples,
    nodes=nodes,
    task_kinds=("questions", "json"),  # it combines lists of questions or fields: no use for free text
    order=40,
)

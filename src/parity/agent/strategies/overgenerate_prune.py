"""overgenerate_prune: ask for m > n questions in one call, keep the n that a pruning rule picks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from parity.agent.context import AgentContext, AgentFailure
from parity.agent.corpus import mmr
from parity.agent.strategies.base import Diagram, Node, Strategy, StrategyConfig
from parity.agent.strategies.helpers import prune_redundant, require_answer
from parity.errors import ParityError
from parity.task import Answer, TaskSpec

TOP_UPS = 3  # sampled extra answers when the draft repeats itself
TOP_UP_TEMPERATURE = 0.8


class OvergeneratePrune(StrategyConfig):
    """Ask for m > n questions in one call, keep n."""

    kind: Literal["overgenerate_prune"]
    m: int = Field(default=12, ge=2, le=30)
    prune: Literal["redundancy", "mmr", "topic_bank"] = "redundancy"
    mmr_lambda: float = Field(default=0.6, ge=0, le=1)  # mmr and topic_bank: relevance vs diversity
    topics: int = Field(default=48, ge=4, le=512)  # topic_bank: clusters mined from the corpus questions


def overgenerate_prune(ctx: AgentContext, case_input: str, cfg: OvergeneratePrune) -> Answer:
    draft = require_answer(ctx.ask(case_input, n_questions=cfg.m, step=f"answer:{cfg.m}"), ctx)
    questions = list(dict.fromkeys(draft.questions))  # exact repeats never both survive
    n = ctx.task.n_questions
    # Small models often repeat one question to fill a long list: top up with sampled answers.
    for attempt in range(1, TOP_UPS + 1):
        if len(questions) >= n:
            break
        extra = ctx.ask(case_input, temperature=TOP_UP_TEMPERATURE, repeat=attempt, step=f"top-up:{attempt}")
        questions = list(dict.fromkeys(questions + list(extra.questions if extra else ())))
    if len(questions) < n:
        raise AgentFailure(f"over-generation and {TOP_UPS} top-ups gave {len(questions)} distinct questions, fewer than {n}")
    vectors = ctx.embed(questions)
    if cfg.prune == "redundancy":
        keep = prune_redundant(vectors, n)
    elif cfg.prune == "mmr":
        relevance = vectors @ ctx.embed([case_input])[0]
        keep = sorted(mmr(relevance, vectors, n, cfg.mmr_lambda))
    else:
        grounding = (vectors @ ctx.topic_bank(cfg.topics).T).max(axis=1)
        keep = sorted(mmr(grounding, vectors, n, cfg.mmr_lambda))
    return ctx.finish(draft.title, [questions[i] for i in keep])


def check(cfg: OvergeneratePrune, task: TaskSpec, where: str) -> None:
    if cfg.m <= task.n_questions:
        raise ParityError(
            f"strategy.m is {cfg.m}; over-generation needs more than the task's {task.n_questions} questions",
            where,
            f"set strategy.m above {task.n_questions}",
        )


def nodes(cfg: OvergeneratePrune, diagram: Diagram) -> list[Node]:
    n = diagram.task.n_questions
    how = {
        "redundancy": "drop the most similar pair's later question",
        "mmr": f"MMR on relevance to the input, λ={cfg.mmr_lambda:g}",
        "topic_bank": f"grounding in {cfg.topics} corpus topics, MMR λ={cfg.mmr_lambda:g}",
    }[cfg.prune]
    return [
        Node("call", diagram.model, f"{diagram.decoding}; JSON schema: title + {cfg.m} questions"),
        Node("call", f"top-up while < {n} distinct (≤ {TOP_UPS} calls)", f"T={TOP_UP_TEMPERATURE:g}; the distinct questions are pooled"),
        Node("post", f"prune to {n} by {cfg.prune}", how),
    ]


STRATEGY = Strategy(
    config=OvergeneratePrune,
    run=overgenerate_prune,
    calls=lambda _: 1 + TOP_UPS,  # the draft, then a sampled top-up each time it repeats itself
    nodes=nodes,
    task_kinds=("questions",),  # it takes lists of questions apart: no use for free text
    check=check,
    order=10,
)

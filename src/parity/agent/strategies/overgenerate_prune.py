"""overgenerate_prune: ask for m > n questions in one call, keep the n that a pruning rule picks. On a json
task it does the same to one array field (`field:`), keeping as many items as the schema's maxItems."""

from __future__ import annotations

import copy
import json
from typing import Literal

from pydantic import Field

import parity.json_shape as json_shape
from parity.agent.context import AgentContext, AgentFailure
from parity.agent.corpus import mmr
from parity.agent.strategies.base import Diagram, Node, Strategy, StrategyConfig
from parity.agent.strategies.helpers import prune_redundant, require_answer
from parity.errors import ParityError
from parity.io import parse_json
from parity.task import Answer, TaskSpec, parse_answer

TOP_UPS = 3  # sampled extra answers when the draft repeats itself
TOP_UP_TEMPERATURE = 0.8


class OvergeneratePrune(StrategyConfig):
    """Ask for m > n questions in one call, keep n."""

    kind: Literal["overgenerate_prune"]
    m: int = Field(default=12, ge=2, le=30)
    prune: Literal["redundancy", "mmr", "topic_bank"] = "redundancy"
    mmr_lambda: float = Field(default=0.6, ge=0, le=1)  # mmr and topic_bank: relevance vs diversity
    topics: int = Field(default=48, ge=4, le=512)  # topic_bank: clusters mined from the corpus questions
    field: str | None = None  # json tasks: the top-level array field to over-generate


def overgenerate_prune(ctx: AgentContext, case_input: str, cfg: OvergeneratePrune) -> Answer:
    if ctx.task.is_json:
        return prune_field(ctx, case_input, cfg)
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


def prune_field(ctx: AgentContext, case_input: str, cfg: OvergeneratePrune) -> Answer:
    assert cfg.field is not None  # check() refused a json task without one
    schema = copy.deepcopy(ctx.task.output_schema)
    declared = schema["properties"][cfg.field]
    n = declared["maxItems"]
    declared["maxItems"] = cfg.m
    completion = ctx.generate(ctx.messages(case_input, demos=ctx.fewshot(case_input)), schema=schema, step=f"answer:{cfg.m}")
    if completion.finish_reason == "length":
        raise AgentFailure(f"truncated: output hit max_tokens={ctx.decoding.max_tokens}")
    try:
        data = json_shape.validate(parse_json(completion.text, strict=False), schema, "answer")
    except ValueError as exc:  # a JSONDecodeError is one
        raise AgentFailure(f"parse: {exc}") from None
    items: dict[str, object] = {}  # each distinct item by its text, first seen first: exact repeats never both survive
    for item in data[cfg.field]:
        items.setdefault(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False), item)
    texts = list(items)
    if len(texts) > n:
        vectors = ctx.embed(texts)
        if cfg.prune == "mmr":
            keep = sorted(mmr(vectors @ ctx.embed([case_input])[0], vectors, n, cfg.mmr_lambda))
        else:
            keep = prune_redundant(vectors, n)
        texts = [texts[i] for i in keep]
    data[cfg.field] = [items[text] for text in texts]
    try:
        return parse_answer(data, ctx.task)
    except ValueError as exc:
        raise AgentFailure(str(exc)) from None


def check(cfg: OvergeneratePrune, task: TaskSpec, where: str) -> None:
    if task.is_json:
        check_field(cfg, task, where)
        return
    if cfg.m <= task.n_questions:
        raise ParityError(
            f"strategy.m is {cfg.m}; over-generation needs more than the task's {task.n_questions} questions",
            where,
            f"set strategy.m above {task.n_questions}",
        )


def check_field(cfg: OvergeneratePrune, task: TaskSpec, where: str) -> None:
    arrays = [name for name, sub in task.output_schema["properties"].items() if isinstance(sub, dict) and sub.get("type") == "array"]
    declared = task.output_schema["properties"].get(cfg.field or "")
    if cfg.field is None or cfg.field not in arrays:
        fix = f"set strategy.field to one of {', '.join(arrays)}" if arrays else "use another strategy: the schema has no array field"
        raise ParityError("overgenerate_prune on a json task over-generates one array field of the schema", where, fix)
    if not isinstance(declared.get("maxItems"), int) or cfg.m <= declared["maxItems"]:
        raise ParityError(
            f"strategy.m is {cfg.m}; over-generation needs more items than '{cfg.field}' keeps (its maxItems, {declared.get('maxItems')})",
            where,
            f"give '{cfg.field}' a maxItems in the schema and set strategy.m above it",
        )
    if cfg.prune == "topic_bank":
        raise ParityError("prune: topic_bank mines the corpus's questions; a json task has none", where, "use prune: redundancy or mmr")


def nodes(cfg: OvergeneratePrune, diagram: Diagram) -> list[Node]:
    if diagram.task.is_json:
        return [
            Node("call", diagram.model, f"{diagram.decoding}; {diagram.schema}, '{cfg.field}' up to {cfg.m} items"),
            Node("post", f"prune '{cfg.field}' by {cfg.prune}", "to the schema's maxItems"),
        ]
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
    task_kinds=("questions", "json"),  # it takes lists apart: no use for free text
    check=check,
    order=10,
)

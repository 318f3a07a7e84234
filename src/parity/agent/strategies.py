"""The built-in pipelines a YAML agent can name in `strategy:`. Each turns a case input into an Answer
using only the AgentContext (model, decoding, corpus), never gold."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from parity.agent.config import BestOfN, CritiqueRevise, OvergeneratePrune, SingleStrategy, Vote
from parity.agent.context import AgentContext, AgentFailure
from parity.agent.corpus import mmr
from parity.task import Answer

QUESTION_STRATEGIES = ("overgenerate_prune", "vote")  # they take questions apart: no use for free text
TOP_UPS = 3  # overgenerate_prune: sampled extra answers when the draft repeats itself
TOP_UP_TEMPERATURE = 0.8


def run_strategy(ctx: AgentContext, case_input: str) -> Answer:
    strategy = ctx.config.strategy
    runner: Callable[[AgentContext, str, object], Answer] = RUNNERS[strategy.kind]
    return runner(ctx, case_input, strategy)


def single(ctx: AgentContext, case_input: str, _: SingleStrategy) -> Answer:
    return _require(ctx.ask(case_input), ctx)


def overgenerate_prune(ctx: AgentContext, case_input: str, cfg: OvergeneratePrune) -> Answer:
    draft = _require(ctx.ask(case_input, n_questions=cfg.m, step=f"answer:{cfg.m}"), ctx)
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


def prune_redundant(vectors: np.ndarray, n: int) -> list[int]:
    """Drop the later question of the most similar remaining pair until n are left; keeps order."""
    keep = list(range(len(vectors)))
    while len(keep) > n:
        sims = vectors[keep] @ vectors[keep].T
        sims[np.tril_indices(len(keep))] = -np.inf  # each pair once, as (earlier, later)
        _, later = np.unravel_index(int(np.argmax(sims)), sims.shape)
        del keep[later]
    return keep


def best_of_n(ctx: AgentContext, case_input: str, cfg: BestOfN) -> Answer:
    demos = ctx.fewshot(case_input)
    pool = [
        answer
        for i, temperature in enumerate(cfg.temperatures)
        if (answer := ctx.ask(case_input, demos=demos, temperature=temperature, repeat=i, step=f"sample:{temperature}")) is not None
    ]
    if not pool:
        raise AgentFailure(f"none of the {len(cfg.temperatures)} samples gave a valid answer")
    if len(pool) == 1:
        return pool[0]
    if cfg.selector == "centrality":
        centres = np.stack([_unit(ctx.embed(a.units()).mean(axis=0)) for a in pool])
        support = (centres @ centres.T).sum(axis=1)
    else:
        # How many of its questions (sentences) some other sample also asked, summed over the others.
        vectors = [ctx.embed(a.units()) for a in pool]
        support = np.array(
            [
                sum(int(np.sum((v @ other.T).max(axis=1) >= cfg.match_threshold)) for j, other in enumerate(vectors) if j != i)
                for i, v in enumerate(vectors)
            ]
        )
    return pool[int(np.argmax(support))]  # ties go to the earlier (cooler) sample


def critique_revise(ctx: AgentContext, case_input: str, cfg: CritiqueRevise) -> Answer:
    answer = _require(ctx.ask(case_input, step="draft"), ctx)
    for round_ in range(1, cfg.rounds + 1):
        draft = answer.text if answer.text is not None else "\n".join(f"{i}. {q}" for i, q in enumerate(answer.questions, start=1))
        critique_prompt = cfg.critique_prompt.format(input=case_input, draft=draft)
        critique = ctx.generate(
            _with_system(ctx, critique_prompt), max_tokens=cfg.critique_max_tokens, step=f"critique:{round_}"
        ).text.strip()
        revise_prompt = cfg.revise_prompt.format(input=case_input, draft=draft, critique=critique, n_questions=ctx.task.n_questions)
        revised = ctx.ask(messages=_with_system(ctx, revise_prompt), step=f"revise:{round_}")
        if revised is None:
            break  # a failed revision keeps the last good answer; the trace says why
        answer = revised
    return answer


def vote(ctx: AgentContext, case_input: str, cfg: Vote) -> Answer:
    demos = ctx.fewshot(case_input)
    samples = [
        answer
        for i in range(cfg.samples)
        if (answer := ctx.ask(case_input, demos=demos, temperature=cfg.temperature, repeat=i, step=f"sample:{i}")) is not None
    ]
    n = ctx.task.n_questions
    if not samples:
        raise AgentFailure(f"none of the {cfg.samples} samples gave a valid answer")
    questions = [(s, q) for s, answer in enumerate(samples) for q in dict.fromkeys(answer.questions)]
    vectors = ctx.embed([q for _, q in questions])
    clusters = cluster_questions(vectors, cfg.match_threshold)
    # Support = how many samples asked it; the earliest-asked wins ties so the order stays natural.
    ranked = sorted(clusters, key=lambda members: (-len({questions[i][0] for i in members}), min(members)))
    if len(ranked) < n:
        raise AgentFailure(f"the samples held only {len(ranked)} distinct questions, fewer than {n}")
    chosen = sorted(ranked[:n], key=min)
    picked = [questions[_medoid(vectors, members)][1] for members in chosen]
    titles = [answer.title for answer in samples]
    title_vectors = ctx.embed(titles)
    title = titles[int(np.argmax((title_vectors @ title_vectors.T).sum(axis=1)))]
    return ctx.finish(title, picked)


def cluster_questions(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Greedy single-pass clustering: a question joins the first cluster whose seed it matches."""
    clusters: list[list[int]] = []
    for i, vector in enumerate(vectors):
        for members in clusters:
            if float(vector @ vectors[members[0]]) >= threshold:
                members.append(i)
                break
        else:
            clusters.append([i])
    return clusters


def _medoid(vectors: np.ndarray, members: list[int]) -> int:
    sims = vectors[members] @ vectors[members].T
    return members[int(np.argmax(sims.sum(axis=1)))]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)


def _with_system(ctx: AgentContext, user: str) -> list[dict[str, str]]:
    system = ctx.config.prompt.system.strip()
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


def _require(answer: Answer | None, ctx: AgentContext) -> Answer:
    if answer is None:
        raise AgentFailure(ctx.trace[-1].error or "no answer")
    return answer


RUNNERS: dict[str, Callable] = {
    "single": single,
    "overgenerate_prune": overgenerate_prune,
    "best_of_n": best_of_n,
    "critique_revise": critique_revise,
    "vote": vote,
}

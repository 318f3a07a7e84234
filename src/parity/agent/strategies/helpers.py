"""Building blocks the strategies share: failing a case without an answer, prompts outside the agent's
template, and the geometry of question embeddings (all unit vectors, so cosine = dot product)."""

from __future__ import annotations

import numpy as np

from parity.agent.context import AgentContext, AgentFailure
from parity.task import Answer


def require_answer(answer: Answer | None, ctx: AgentContext) -> Answer:
    """The answer, or the case fails with the reason the last call left on the trace."""
    if answer is None:
        raise AgentFailure(ctx.trace[-1].error or "no answer")
    return answer


def with_system(ctx: AgentContext, user: str) -> list[dict[str, str]]:
    """A one-turn chat under the agent's system prompt (none when it is blank)."""
    system = ctx.config.prompt.system.strip()
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


def prune_redundant(vectors: np.ndarray, n: int) -> list[int]:
    """Drop the later question of the most similar remaining pair until n are left; keeps order."""
    keep = list(range(len(vectors)))
    while len(keep) > n:
        sims = vectors[keep] @ vectors[keep].T
        sims[np.tril_indices(len(keep))] = -np.inf  # each pair once, as (earlier, later)
        _, later = np.unravel_index(int(np.argmax(sims)), sims.shape)
        del keep[later]
    return keep


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


def medoid(vectors: np.ndarray, members: list[int]) -> int:
    """The member most similar to the others."""
    sims = vectors[members] @ vectors[members].T
    return members[int(np.argmax(sims.sum(axis=1)))]


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / (np.linalg.norm(vector) or 1.0)

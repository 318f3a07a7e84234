"""Every case fits the agent's model, checked before the first case runs: an input longer than the
context would otherwise crash the run halfway, or leave no room for the answer.

For each case the agent's first request (`Agent.request`: its prompt, with its few-shot demos) is
tokenized by the model's own tokenizer, the way its backend builds the prompt; that count plus
decoding.max_tokens must be within the model's context. Only tokenizing, never generating. Backends
that cannot count exactly (served models) are not checked; neither are a request already answered
from the cache, the later calls of a multi-call strategy (critique, revision), nor the calls a Python
agent makes itself: for one, the request its config describes stands for its first call.
"""

from __future__ import annotations

from collections.abc import Iterable

from parity.agent import Agent
from parity.cases import Case
from parity.errors import ParityError
from parity.task import Workspace


def check_fits(ws: Workspace, agent: Agent, cases: Iterable[Case]) -> None:
    """Raise for the first case whose first request, with room for max_tokens, overflows the context."""
    for case in cases:
        request = agent.request(case.input)
        counted = agent.model.context_tokens(request)
        if counted is None:
            continue
        prompt, context = counted
        total = prompt + request.max_tokens
        if total > context:
            raise ParityError(
                f"case {case.id}: the prompt is {prompt:,} tokens + max_tokens {request.max_tokens:,} = {total:,},"
                f" over the model's context of {context:,}",
                ws.shown(ws.cases_path),
                "shorten the input, lower decoding.max_tokens, use fewer few-shot demos, or a model with a longer context",
            )

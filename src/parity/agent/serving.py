"""What a Python agent's worker may ask parity for, checked before parity acts on it: a model call,
a corpus search, embeddings. The worker runs untrusted code, so each request is validated (types,
bounds, finite numbers) and the answer's numbers come from what parity itself served."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from parity.agent.context import Step
from parity.agent.corpus import Corpus
from parity.agent.wire import COMPLETION_FIELDS
from parity.models import Completion, Model, Request
from parity.models.base import FinishReason

_Int = Annotated[int, Field(ge=0, le=2**31)]
_Unit = Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class _Complete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: Literal["complete"]
    messages: list[_Message] = Field(min_length=1, max_length=1000)
    temperature: _Unit
    top_p: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000)]
    seed: _Int
    schema_: dict[str, Any] | None = Field(alias="schema")
    repeat: Annotated[int, Field(ge=0, le=10_000)]


class _Retrieve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: Literal["retrieve"]
    query: str
    k: Annotated[int, Field(ge=0, le=1000)]
    method: Literal["knn", "mmr", "random"]
    mmr_lambda: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    seed: _Int


class _Embed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: Literal["embed"]
    texts: list[str] = Field(max_length=10_000)


class _TopicBank(BaseModel):
    model_config = ConfigDict(extra="forbid")
    op: Literal["topic_bank"]
    topics: Annotated[int, Field(ge=1, le=1000)]


_REQUEST: TypeAdapter[_Complete | _Retrieve | _Embed | _TopicBank] = TypeAdapter(
    Annotated[_Complete | _Retrieve | _Embed | _TopicBank, Field(discriminator="op")]
)


class _StepIn(BaseModel):
    """One step of the worker's trace: its labels are the agent's, its numbers are replaced by parity's."""

    model_config = ConfigDict(extra="ignore")
    step: Annotated[str, Field(max_length=200)] = "generate"
    text: str = ""
    finish_reason: FinishReason = "stop"
    error: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class BadRequest(ValueError):
    """The worker asked for something malformed (a bug, or an attack)."""


def serve(message: dict[str, Any], model: Model, corpus: Corpus, served: list[Completion]) -> dict[str, Any]:
    """Carry out one request of the worker's; model calls are appended to `served`."""
    try:
        request = _REQUEST.validate_python(message)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"][1:]))  # the first is the op, as the discriminator's tag
        raise BadRequest(f"{message.get('op')!r}: {where or 'op'}: {first['msg']}") from None
    if isinstance(request, _Complete):
        fields = request.model_dump(by_alias=True, exclude={"op", "messages"})
        completion = model.complete(Request(messages=tuple(m.model_dump() for m in request.messages), **fields))
        served.append(completion)
        return {name: getattr(completion, name) for name in COMPLETION_FIELDS}
    if isinstance(request, _Retrieve):
        found = corpus.retrieve(request.query, request.k, request.method, request.mmr_lambda, request.seed)
        demos = [{"id": d.id, "input": d.input, "answer": d.answer, "category": d.category} for d in found.demos]
        return {"demos": demos, "refused": found.refused}
    if isinstance(request, _Embed):
        return {"vectors": corpus.embed(request.texts).tolist()}
    return {"vectors": corpus.topic_bank(request.topics).tolist()}


def trusted_trace(reported: list[Any], served: list[Completion]) -> list[Step]:
    """The worker's trace with every model call's text, tokens, time and cost taken from what parity
    served, in order; where the worker's account does not line up with the calls made, parity's own."""
    steps = [_step(raw) for raw in reported if isinstance(raw, dict)]
    calls = [i for i, s in enumerate(steps) if not s.step.startswith("retrieve")]
    if len(calls) != len(served) or len(steps) != len(reported):
        return [s for s in steps if s.step.startswith("retrieve")] + [_from_completion(Step("generate"), c) for c in served]
    for index, completion in zip(calls, served, strict=True):
        steps[index] = _from_completion(steps[index], completion)
    return steps


def _step(raw: dict[str, Any]) -> Step:
    try:
        step = _StepIn.model_validate(raw)
    except ValidationError:
        step = _StepIn(step="unreadable")
    return Step(step.step, step.text, finish_reason=step.finish_reason, error=step.error, detail=step.detail)


def _from_completion(step: Step, completion: Completion) -> Step:
    return replace(
        step,
        text=completion.text,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        latency_s=completion.latency_s,
        cost_usd=0.0 if completion.cached else completion.cost_usd,
        cached=completion.cached,
        finish_reason=completion.finish_reason,
    )

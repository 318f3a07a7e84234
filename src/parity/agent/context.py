"""What an agent may use to answer one case: its model, its decoding, retrieval over the corpus.

Nothing from the ruler is reachable from here. Every model call is recorded as a step, so a
multi-call pipeline leaves a full trace in the experiment record.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from parity.agent.corpus import Corpus, Demo
from parity.agent.prompting import build_messages
from parity.models import Completion, Model, Request
from parity.models.base import FinishReason, concurrency
from parity.task import Answer, TaskSpec, answer_from_text, answer_schema, parse_answer

if TYPE_CHECKING:  # only a type here: the config's strategy section is built from strategies that use this context
    from parity.agent.config import AgentConfig


def whole_sentences(text: str) -> str:
    """The text up to its last sentence end ('.', '!' or '?', optionally closed by a quote or bracket)."""
    match = re.search(r"^.*[.!?][\"')\]]?", text.strip(), re.DOTALL)
    return match.group(0) if match else ""


class AgentFailure(Exception):
    """The agent could not produce an answer for this case (the case scores as failed, the run goes on)."""


@dataclass
class Step:
    """One model call (or one retrieval) inside an agent's pipeline."""

    step: str
    text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    cached: bool = False
    finish_reason: FinishReason = "stop"
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Draw:
    """One sample a multi-sample strategy asks for."""

    temperature: float
    repeat: int
    step: str


class AgentContext:
    def __init__(self, model: Model, config: AgentConfig, task: TaskSpec, corpus: Corpus, case_input: str):
        self.model = model
        self.config = config
        self.task = task
        self.decoding = config.decoding
        self._corpus = corpus
        self._case_input = case_input
        self.trace: list[Step] = []

    # --- model calls -------------------------------------------------------------------------

    def generate(
        self,
        messages: list[dict[str, str]] | tuple[dict[str, str], ...],
        *,
        schema: dict[str, Any] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        repeat: int = 0,
        step: str = "generate",
    ) -> Completion:
        """One call to the agent's model; the agent's decoding fills whatever is not given."""
        request = self._request(messages, schema, temperature, top_p, max_tokens, repeat)
        completion = self.model.complete(request)
        self._record(step, request, completion)
        return completion

    def _request(
        self,
        messages: list[dict[str, str]] | tuple[dict[str, str], ...],
        schema: dict[str, Any] | None,
        temperature: float | None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        repeat: int = 0,
    ) -> Request:
        return Request(
            messages=tuple(messages),
            temperature=self.decoding.temperature if temperature is None else temperature,
            top_p=self.decoding.top_p if top_p is None else top_p,
            max_tokens=max_tokens or self.decoding.max_tokens,
            seed=self.decoding.seed,
            schema=schema,
            repeat=repeat,
        )

    def _record(self, step: str, request: Request, completion: Completion) -> None:
        self.trace.append(
            Step(
                step,
                completion.text,
                completion.prompt_tokens,
                completion.completion_tokens,
                completion.latency_s,
                0.0 if completion.cached else completion.cost_usd,
                completion.cached,
                completion.finish_reason,
                detail={"temperature": request.temperature, "repeat": request.repeat} if request.repeat or request.temperature else {},
            )
        )

    def messages(self, case_input: str, n_questions: int | None = None, demos: list[Demo] | None = None) -> list[dict[str, str]]:
        """The agent's prompt for `case_input`, with demos as earlier chat turns."""
        n = n_questions or self.task.n_questions
        try:
            first, *user = build_messages(self.config.prompt, self.task, case_input, n)
            if first["role"] != "system":
                user = [first, *user]
            turns: list[dict[str, str]] = [first] if first["role"] == "system" else []
            for demo in demos or []:
                turns.extend(build_messages(self.config.prompt, self.task, demo.input, n, system=False))
                turns.append({"role": "assistant", "content": demo.answer_text()})
        except ValueError as exc:  # a Python agent asked about text that is not one of this task's object inputs
            raise AgentFailure(str(exc)) from None
        return turns + list(user)

    def ask(
        self,
        case_input: str | None = None,
        *,
        n_questions: int | None = None,
        demos: list[Demo] | None = None,
        messages: list[dict[str, str]] | None = None,
        temperature: float | None = None,
        repeat: int = 0,
        step: str = "answer",
    ) -> Answer | None:
        """An answer in the task's format (`n_questions` questions, or free text), or None (the reason
        is on the trace)."""
        n = n_questions or self.task.n_questions
        if messages is None:
            if demos is None:
                demos = self.fewshot(case_input or self._case_input)
            messages = self.messages(case_input or self._case_input, n, demos)
        completion = self.generate(messages, schema=answer_schema(self.task, n), temperature=temperature, repeat=repeat, step=step)
        return self._parse(completion, n)

    def ask_each(self, case_input: str, demos: list[Demo], draws: list[Draw]) -> list[Answer | None]:
        """One answer (or None) per draw of the same prompt, in order. A served model with room for several
        requests in flight gets them all at once; an in-process engine, which serves one at a time, gets
        them one after another on this thread."""
        n = self.task.n_questions
        messages = self.messages(case_input, n, demos)
        requests = [self._request(messages, answer_schema(self.task, n), draw.temperature, repeat=draw.repeat) for draw in draws]
        workers = min(len(requests), concurrency(self.model))
        if workers <= 1:
            completions = [self.model.complete(request) for request in requests]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="parity-draw") as pool:
                completions = list(pool.map(self.model.complete, requests))
        answers = []
        for draw, request, completion in zip(draws, requests, completions, strict=True):
            self._record(draw.step, request, completion)  # in draw order, whichever finished first
            answers.append(self._parse(completion, n))
        return answers

    def _parse(self, completion: Completion, n: int) -> Answer | None:
        """The completion (the trace's last step) as an answer, or None with the reason on that step."""
        if completion.finish_reason == "length":
            if self.task.free_text and (kept := whole_sentences(completion.text)):
                # Prose cut off mid-sentence still says something: keep its complete sentences (the
                # trace keeps the cut); a cut JSON answer has no usable part.
                self.trace[-1].detail["truncated"] = (
                    f"hit max_tokens={self.decoding.max_tokens}; kept {len(kept)} of {len(completion.text)} characters"
                )
                return Answer(text=kept)
            self.trace[-1].error = f"truncated: output hit max_tokens={self.decoding.max_tokens}"
            return None
        try:
            return answer_from_text(completion.text, self.task, n_questions=n)
        except ValueError as exc:  # a JSONDecodeError is one
            self.trace[-1].error = f"parse: {exc}"
            return None

    def finish(self, title: str, questions: list[str] | tuple[str, ...]) -> Answer:
        """Validate a final answer assembled by a pipeline."""
        try:
            return parse_answer({"title": title, "questions": list(questions)}, self.task)
        except ValueError as exc:
            raise AgentFailure(str(exc)) from None

    # --- corpus --------------------------------------------------------------------------------

    def retrieve(self, query: str | None = None, k: int = 3, method: str = "knn", mmr_lambda: float = 0.5, seed: int = 0) -> list[Demo]:
        """Corpus demos for `query` (the case input by default); the case itself and near-duplicates are refused."""
        query = query or self._case_input
        found = self._corpus.retrieve(query, k, method, mmr_lambda, seed)
        # The guard always checks against the case being answered, whatever the query.
        refused = set(found.refused)
        if query != self._case_input:
            refused |= set(self._corpus.retrieve(self._case_input, 0).refused)
        demos = [d for d in found.demos if d.id not in refused]
        self.trace.append(Step(f"retrieve:{method}", detail={"demos": [d.id for d in demos], "refused": sorted(refused)}))
        return demos

    def fewshot(self, query: str) -> list[Demo]:
        """The agent file's fewshot setting applied to `query`; no demos when it has none."""
        shot = self.config.fewshot
        if shot is None:
            return []
        return self.retrieve(query, shot.k, shot.retrieval, shot.mmr_lambda, shot.seed)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-normalized MiniLM embeddings (cosine = dot product)."""
        return self._corpus.embed(texts)

    def topic_bank(self, topics: int = 48) -> np.ndarray:
        return self._corpus.topic_bank(topics)

"""A scripted model and a scripted judge, so an agent, an experiment or the loop runs in-process in
milliseconds: no llama.cpp, no embedder. The model answers by a rule of the request; the judge scores an
answer by a rule of its text, so a test knows which configuration must win."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from parity.judge.base import Judgment
from parity.models.base import Completion, Request
from parity.ruler import Case
from parity.statuses import JudgmentStatus, Pairwise
from parity.task import Answer, RubricSpec

# Questions far from any gold question of the bundled ruler, so the leak detector never fires.
STRONG = "strong"
WEAK = "weak"


def answer_text(word: str, n_questions: int = 7) -> str:
    """An answer in the task's JSON shape whose questions all carry `word`."""
    questions = [f"Which {word} constraint number {i} about the zebra budget matters most?" for i in range(n_questions)]
    return json.dumps({"title": f"{word} plan", "questions": questions})


@dataclass
class ScriptedModel:
    """A `parity.models.Model`: `reply(request)` gives the text of each completion."""

    reply: Callable[[Request], str]
    spec: str = "scripted:test"
    identity: str = "scripted:test"
    requests: list[Request] = field(default_factory=list)

    def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        return Completion(text=self.reply(request), finish_reason="stop", prompt_tokens=10, completion_tokens=20)

    def context_tokens(self, request: Request) -> None:
        return None  # no tokenizer: like a served model, never checked against a context


def strong_when_hot(request: Request) -> str:
    """Sampling (temperature > 0) gives the strong answer, greedy the weak one."""
    return answer_text(STRONG if request.temperature > 0 else WEAK)


def use_model(monkeypatch: pytest.MonkeyPatch, model: ScriptedModel) -> ScriptedModel:
    """Every agent built from now on talks to `model`, whatever its config names."""
    monkeypatch.setattr("parity.agent.open_model", lambda *args, **kwargs: model)
    return model


@dataclass
class ScriptedJudge:
    """Scores every rubric dimension `score(answer, repeat)` (on the rubric's scale) and wins against gold
    above the scale's middle; overall is the weighted average, as parity computes it."""

    rubric: RubricSpec
    score: Callable[[Answer, int], float]
    thread_safe = True
    calls: int = 0

    def judge(self, case: Case, answer: Answer, repeat: int = 0) -> Judgment:
        self.calls += 1
        value = self.score(answer, repeat)
        scores = {name: value for name in self.rubric.dimensions}
        overall = sum(d.weight * scores[name] for name, d in self.rubric.dimensions.items())
        middle = (self.rubric.scale_min + self.rubric.scale_max) / 2
        verdict = Pairwise.WIN if value > middle else Pairwise.TIE if value == middle else Pairwise.LOSS
        return Judgment(case.id, JudgmentStatus.SCORED, scores=scores, overall=overall, verdict=verdict)


def by_word(answer: Answer, repeat: int = 0) -> float:
    """5 for the strong answer, 2 for the weak one, 3 for anything else (gold included)."""
    text = " ".join(answer.units())
    return 5.0 if STRONG in text else 2.0 if WEAK in text else 3.0

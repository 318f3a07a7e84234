"""Multi-sample strategies send their draws at once to a model with room for several requests in flight,
and one after another, on the calling thread, to an in-process engine; the trace is in draw order either way."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import pytest

from parity.agent import load_agent
from parity.models import Completion, Request
from parity.task import Workspace
from tests.helpers.scripted import ScriptedModel, use_model


@dataclass
class Rendezvous(ScriptedModel):
    """Every call waits until `together` calls are in flight at once (a broken barrier fails the call)."""

    max_concurrent: int = 1
    together: int = 1
    threads: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._barrier = threading.Barrier(self.together, timeout=10)

    def complete(self, request: Request) -> Completion:
        self.threads.add(threading.get_ident())
        if self.together > 1:
            self._barrier.wait()
        return super().complete(request)


QUESTIONS = [
    "What is your total budget for the trip?",
    "Which dates are you able to travel?",
    "How many people are coming with you?",
    "Do you prefer museums, food or nightlife?",
    "What kind of hotel do you want to stay in?",
    "Will you fly, drive or take the train?",
    "Does anyone in your group have dietary needs?",
]


def _draw(repeat: int) -> str:
    return json.dumps({"title": f"Paris trip draw{repeat}", "questions": QUESTIONS})


def _by_repeat(request: Request) -> str:
    return _draw(request.repeat)


@pytest.mark.parametrize(("agent", "draws"), [("vote", 5), ("best_of_n", 4)])
def test_draws_are_in_flight_together_on_a_model_that_takes_several(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, agent: str, draws: int
) -> None:
    model = use_model(monkeypatch, Rendezvous(_by_repeat, max_concurrent=8, together=draws))
    output = load_agent(ws, agent, use_cache=False).answer("plan a trip to Paris")
    assert output.answer is not None, output.error  # the barrier met: all draws were waiting at the same time
    samples = [step for step in output.trace if step.step.startswith("sample:")]
    assert [s.detail.get("repeat", 0) for s in samples] == list(range(draws))  # recorded in draw order
    assert all(f'draw{s.detail.get("repeat", 0)}"' in s.text for s in samples)
    assert threading.get_ident() not in model.threads


def test_an_engine_that_serves_one_at_a_time_gets_draws_in_turn_on_the_calling_thread(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, Rendezvous(_by_repeat))
    output = load_agent(ws, "vote", use_cache=False).answer("plan a trip to Paris")
    assert output.answer is not None, output.error
    assert model.threads == {threading.get_ident()}
    assert [r.repeat for r in model.requests] == list(range(5))


def test_a_failing_draw_leaves_the_others(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    replies = {0: "not json", 1: _draw(1), 2: _draw(2), 3: "{}", 4: _draw(4)}
    use_model(monkeypatch, Rendezvous(lambda request: replies[request.repeat], max_concurrent=5, together=5))
    output = load_agent(ws, "vote", use_cache=False).answer("plan a trip to Paris")
    assert output.answer is not None, output.error
    errors = [bool(step.error) for step in output.trace if step.step.startswith("sample:")]
    assert errors == [True, False, False, True, False]

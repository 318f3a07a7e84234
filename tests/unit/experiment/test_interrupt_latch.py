"""A Ctrl-C swallowed where a C library calls back into Python (llama.cpp's logger, through ctypes)
still stops the experiment at the next case, recorded as stopped and resumable."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest

from parity import errors
from parity.agent import load_agent
from parity.errors import Interrupted
from parity.experiment import run_experiment
from parity.loop.rules import keep
from parity.models.base import Completion, Request
from parity.ruler import load_ruler
from parity.statuses import RunStatus
from parity.store import Store
from parity.task import Workspace
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, answer_text, by_word, use_model


class SwallowsCtrlC(ScriptedModel):
    """Ctrl-C arrives during the first call, inside code that swallows exceptions as a ctypes callback does."""

    def complete(self, request: Request) -> Completion:
        if not self.requests:
            with contextlib.suppress(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
        return super().complete(request)


@pytest.fixture
def latched(monkeypatch: pytest.MonkeyPatch):
    previous = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(errors, "_interrupted", errors.threading.Event())
    errors.latch_interrupts()
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_swallowed_ctrl_c_stops_the_run_at_the_next_case(ws: Workspace, monkeypatch: pytest.MonkeyPatch, latched: None) -> None:
    model = use_model(monkeypatch, SwallowsCtrlC(lambda request: answer_text("strong")))
    ruler, store = load_ruler(ws), Store.for_workspace(ws)
    with pytest.raises(Interrupted) as info:
        run_experiment(ws, ruler, load_agent(ws, "baseline"), ScriptedJudge(ws.config.rubric, by_word), store, "dev", "h", keep)
    assert len(model.requests) == 1 and len(store.case_rows(info.value.experiment_id)) == 1
    assert store.require_experiment(info.value.experiment_id).status == RunStatus.STOPPED

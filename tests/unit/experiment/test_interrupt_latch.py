"""A Ctrl-C swallowed where a C library calls back into Python (llama.cpp's logger, through ctypes)
still stops the experiment at the next case, recorded as stopped and resumable."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

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
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(errors, "_interrupted", errors.threading.Event())
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)  # put back after the test
    errors.latch_interrupts()
    yield
    signal.signal(signal.SIGINT, previous[0])
    signal.signal(signal.SIGTERM, previous[1])


class GetsTerminated(ScriptedModel):
    """`timeout` or a job scheduler sends SIGTERM during the second call."""

    def complete(self, request: Request) -> Completion:
        if len(self.requests) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return super().complete(request)


def test_sigterm_stops_the_run_recorded_as_stopped_like_ctrl_c(ws: Workspace, monkeypatch: pytest.MonkeyPatch, latched: None) -> None:
    use_model(monkeypatch, GetsTerminated(lambda request: answer_text("strong")))
    ruler, store = load_ruler(ws), Store.for_workspace(ws)
    with pytest.raises(Interrupted) as info:
        run_experiment(ws, ruler, load_agent(ws, "baseline"), ScriptedJudge(ws.config.rubric, by_word), store, "dev", "h", keep)
    assert store.require_experiment(info.value.experiment_id).status == RunStatus.STOPPED


def test_a_swallowed_ctrl_c_stops_the_run_at_the_next_case(ws: Workspace, monkeypatch: pytest.MonkeyPatch, latched: None) -> None:
    model = use_model(monkeypatch, SwallowsCtrlC(lambda request: answer_text("strong")))
    ruler, store = load_ruler(ws), Store.for_workspace(ws)
    with pytest.raises(Interrupted) as info:
        run_experiment(ws, ruler, load_agent(ws, "baseline"), ScriptedJudge(ws.config.rubric, by_word), store, "dev", "h", keep)
    assert len(model.requests) == 1 and len(store.case_rows(info.value.experiment_id)) == 1
    assert store.require_experiment(info.value.experiment_id).status == RunStatus.STOPPED


def test_a_ctrl_c_inside_a_ctypes_callback_is_dropped_silently(latched: None, monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: reported.append(unraisable.exc_value))
    errors.latch_interrupts()  # over the recording hook: what Python would print goes there

    def logger(_: int) -> None:  # as llama.cpp's log callback, interrupted
        raise KeyboardInterrupt

    def broken(_: int) -> None:
        raise ValueError("a real bug")

    ctypes.CFUNCTYPE(None, ctypes.c_int)(logger)(0)  # ctypes drops the exception and hands it to sys.unraisablehook
    ctypes.CFUNCTYPE(None, ctypes.c_int)(broken)(0)
    assert [type(e) for e in reported] == [ValueError]  # the Ctrl-C is latched, not printed; a real bug still is


def test_a_ctrl_c_during_grammar_sampling_waits_for_the_call_to_end(latched: None) -> None:
    finished = []
    with pytest.raises(KeyboardInterrupt), errors.interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)  # lands mid-generation: llama.cpp's sampler callback must not be cut short
        finished.append("the step ran to its end")
    assert finished == ["the step ran to its end"]

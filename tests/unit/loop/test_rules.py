"""The keep and screen rules (parity.loop.rules), against a store that holds only a running best."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from parity.experiment import Decision
from parity.loop.rules import keep, screen
from parity.metrics import Result
from parity.ruler import Ruler, load_ruler
from parity.statuses import Verdict
from parity.task import Answer, Workspace
from tests.helpers.scripted import ScriptedJudge, answer_text

BEST_ID, CANDIDATE_ID = 1, 2


@dataclass
class Row:
    case_id: str
    quality: float | None
    answer: dict[str, Any] | None = None


@dataclass
class Best:
    id: int = BEST_ID
    quality: float | None = 0.5


@dataclass
class BestOnlyStore:
    """What the keep rule reads: the running best and each experiment's case rows."""

    rows: dict[int, list[Row]]
    best: Best | None = field(default_factory=Best)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def running_best(self, fingerprint: str, gate: str) -> Best | None:
        return self.best

    def case_rows(self, experiment_id: int) -> list[Row]:
        return self.rows[experiment_id]

    def update_experiment(self, experiment_id: int, **fields: Any) -> None:
        self.updates.append({"id": experiment_id, **fields})


def _result(per_case: dict[str, float]) -> Result:
    return Result(None, None, None, len(per_case), len(per_case), 0, 0, {}, {}, {}, {}, per_case=per_case)


def _setup(ws: Workspace, best: list[float], candidate: list[float]) -> tuple[Ruler, BestOnlyStore, dict[str, float]]:
    ruler = load_ruler(ws)
    ids = [case.id for case in ruler.cases[: len(best)]]
    answer = Answer.from_dict(json.loads(answer_text("candidate")))
    store = BestOnlyStore(
        {
            BEST_ID: [Row(i, q) for i, q in zip(ids, best)],
            CANDIDATE_ID: [Row(i, q, answer.to_dict()) for i, q in zip(ids, candidate)],
        }
    )
    return ruler, store, dict(zip(ids, candidate))


def _rescoring_judge(ws: Workspace, quality: float) -> ScriptedJudge:
    """A judge whose every judgment has case quality `quality`: the scripted judge wins above the scale's
    middle and loses below it, so on this rubric (1 to 5, half rubric and half pairwise) a quality below
    0.25 is a loss at 1 + 8q and one above 0.75 a win at 1 + 8(q - 0.5)."""
    assert (ws.config.rubric.scale_min, ws.config.rubric.scale_max, ws.config.metric.rubric_weight) == (1, 5, 0.5)
    assert quality < 0.25 or quality > 0.75
    score = 1 + 8 * (quality if quality < 0.25 else quality - 0.5)
    return ScriptedJudge(ws.config.rubric, lambda answer, repeat: score)


def _keep(
    ws: Workspace, best: list[float], candidate: list[float], rejudged: float | None = None, first: bool = False
) -> tuple[Decision, BestOnlyStore, Ruler]:
    """The keep rule on a candidate scoring `candidate` per case against a best scoring `best` (none if
    `first`); with `rejudged`, confirm_rejudge is on and the second judgment gives every case that quality."""
    ws.config.loop.confirm_rejudge = rejudged is not None
    ruler, store, per_case = _setup(ws, best, candidate)
    if first:
        store.best = None
    judge = ScriptedJudge(ws.config.rubric, lambda a, r: 3.0) if rejudged is None else _rescoring_judge(ws, rejudged)
    return keep(ws, ruler, judge, store, "full", CANDIDATE_ID, _result(per_case)), store, ruler


def test_the_first_experiment_on_a_ruler_and_gate_is_kept(ws: Workspace) -> None:
    decision, _, ruler = _keep(ws, [0.4] * 8, [0.1] * 8, first=True)
    assert decision.verdict == Verdict.KEPT and f"first kept experiment on this ruler ({ruler.fingerprint[:12]})" in decision.reason


def test_a_gain_inside_the_noise_is_discarded(ws: Workspace) -> None:
    # +0.1 on average, but half the cases lose: the paired interval straddles 0
    decision, _, _ = _keep(ws, [0.5] * 12, [1.0, 0.2] * 6)
    assert decision.verdict == Verdict.DISCARDED
    assert decision.reason.startswith("Δ +0.100 [-0.") and decision.reason.endswith(
        f"vs #{BEST_ID} over 12 paired cases: not above the noise"
    )


def test_a_consistent_gain_beats_the_running_best(ws: Workspace) -> None:
    decision, store, _ = _keep(ws, [0.5, 0.4, 0.6, 0.5] * 3, [0.6, 0.52, 0.7, 0.62] * 3)
    assert decision.verdict == Verdict.KEPT
    assert decision.reason.startswith("Δ +0.110 [+0.") and decision.reason.endswith("over 12 paired cases: beats the running best")
    assert store.updates == []  # no second judgment without confirm_rejudge


def test_a_gain_the_second_judgment_does_not_confirm_is_discarded(ws: Workspace) -> None:
    decision, store, _ = _keep(ws, [0.5] * 10, [0.7] * 10, rejudged=0.2)
    assert decision.verdict == Verdict.DISCARDED
    assert decision.reason.startswith("Δ +0.200 [+0.200, +0.200] vs #1 over 10 paired cases, but a second judgment gives Δ -0.300")
    assert decision.reason.endswith("not confirmed")
    [update] = store.updates  # the judge's noise, measured on the way, is recorded on the candidate
    assert update["id"] == CANDIDATE_ID and update["judge_noise"]["quality_sd"] == pytest.approx(0.5 / 2**0.5)


def test_a_gain_smaller_than_the_judges_own_noise_is_discarded(ws: Workspace) -> None:
    # first judgment +0.05, second +0.35: confirmed above 0, but the judge moved by 0.30 (SD 0.21) > 0.05
    decision, _, _ = _keep(ws, [0.5] * 10, [0.55] * 10, rejudged=0.85)
    assert decision.verdict == Verdict.DISCARDED
    assert decision.reason.endswith("smaller than the judge's noise (SD 0.212)")


def test_a_gain_confirmed_and_above_the_judges_noise_is_kept(ws: Workspace) -> None:
    decision, _, _ = _keep(ws, [0.5] * 10, [0.875] * 10, rejudged=0.875)
    assert decision.verdict == Verdict.KEPT
    assert decision.reason.endswith("beats the running best; confirmed by a second judgment (Δ +0.375, judge noise SD 0.000)")


class Scored:
    def __init__(self, id: int, quality: float | None):
        self.id, self.quality = id, quality


@pytest.mark.parametrize(
    ("quality", "best", "passes", "reason"),
    [
        (0.31, Scored(4, 0.30), True, "dev quality 0.310 beats the running best's 0.300 (#4)"),
        (0.30, Scored(4, 0.30), False, "dev quality 0.300 does not beat the running best's 0.300 (#4)"),
        (0.29, Scored(4, 0.30), False, "dev quality 0.290 does not beat the running best's 0.300 (#4)"),
        (0.10, None, True, "dev quality 0.100 is the first on dev"),
        (0.50, Scored(4, None), False, "dev quality 0.500 does not beat the running best's no quality (#4)"),
        (None, Scored(4, 0.30), False, "dev screen has no quality: every case unscored or failed (running best #4: 0.300)"),
        (None, None, False, "dev screen has no quality: every case unscored or failed"),
    ],
)
def test_the_screen_passes_only_a_strict_improvement_on_the_running_bests_screen(
    quality: float | None, best: Scored | None, passes: bool, reason: str
) -> None:
    result = screen(quality, best, "dev")
    assert (result.passes, result.reason) == (passes, reason)

"""The keep and screen rules, in one place for `parity run` (and its `--confirm`) and the loop.

- keep: a candidate is kept only when it beats the running best by more than resampling noise and,
  if configured, still does when judged a second time, by more than the judge's own noise;
- screen: a candidate earns the decide gate only by beating the running best's own screen score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from parity.experiment.finalize import Decision, rejudged_qualities
from parity.judge import Judge
from parity.metrics import PairedComparison, Result, paired_comparison
from parity.ruler import Ruler
from parity.statuses import Verdict
from parity.store import Store
from parity.task import Workspace


def keep(ws: Workspace, ruler: Ruler, judge: Judge, store: Store, gate: str, experiment_id: int, result: Result) -> Decision:
    """The keep rule: the paired bootstrap's lower bound of the gain over the running best above 0 and,
    with `confirm_rejudge`, confirmed by a second judgment and larger than the judge's noise. Never
    compares across rulers."""
    best = store.running_best(ruler.fingerprint, gate)
    if best is None or best.id == experiment_id:
        return Decision(Verdict.KEPT, f"first kept experiment on this ruler ({ruler.fingerprint[:12]}) and gate '{gate}'")
    best_cases = {row.case_id: row.quality for row in store.case_rows(best.id) if row.quality is not None}
    paired = _paired(ws, result.per_case, best_cases)
    summary = f"Δ {paired.mean_diff:+.3f} [{paired.ci_low:+.3f}, {paired.ci_high:+.3f}] vs #{best.id} over {paired.n} paired cases"
    if not (paired.n and paired.ci_low > 0):
        return Decision(Verdict.DISCARDED, f"{summary}: not above the noise")
    if not ws.config.loop.confirm_rejudge:
        return Decision(Verdict.KEPT, f"{summary}: beats the running best")
    again = rejudged_qualities(ws, ruler, judge, store, experiment_id)
    noise = abs(float(np.mean(list(again.values()))) - float(np.mean(list(result.per_case.values())))) / np.sqrt(2) if again else 0.0
    store.update_experiment(experiment_id, judge_noise={"quality_sd": noise, "times": 2, "source": "keep-rule re-judge"})
    confirm = _paired(ws, again, best_cases)
    if confirm.ci_low <= 0:
        return Decision(
            Verdict.DISCARDED,
            f"{summary}, but a second judgment gives Δ {confirm.mean_diff:+.3f} [{confirm.ci_low:+.3f}, {confirm.ci_high:+.3f}]: not confirmed",
        )
    if paired.mean_diff <= noise:
        return Decision(Verdict.DISCARDED, f"{summary}: smaller than the judge's noise (SD {noise:.3f})")
    return Decision(
        Verdict.KEPT,
        f"{summary}: beats the running best; confirmed by a second judgment (Δ {confirm.mean_diff:+.3f}, judge noise SD {noise:.3f})",
    )


def _paired(ws: Workspace, candidate: dict[str, float], best: dict[str, float]) -> PairedComparison:
    metric = ws.config.metric
    return paired_comparison(candidate, best, ws.config.loop.keep_confidence, metric.bootstrap_samples, metric.seed)


class Scored(Protocol):
    id: int
    quality: float | None


@dataclass(frozen=True)
class Screen:
    passes: bool
    reason: str


def _fmt(value: float | None) -> str:
    return "no quality" if value is None else f"{value:.3f}"


def screen(quality: float | None, best: Scored | None, gate: str = "dev") -> Screen:
    """Does a screen score of `quality` beat `best` (the running best's screen experiment, or None)?
    A screen with no quality (every case unscored) never passes."""
    if quality is None:
        against = f" (running best #{best.id}: {_fmt(best.quality)})" if best is not None else ""
        return Screen(False, f"{gate} screen has no quality: every case unscored or failed{against}")
    if best is None:
        return Screen(True, f"{gate} quality {quality:.3f} is the first on {gate}")
    if best.quality is None or quality <= best.quality:
        return Screen(False, f"{gate} quality {quality:.3f} does not beat the running best's {_fmt(best.quality)} (#{best.id})")
    return Screen(True, f"{gate} quality {quality:.3f} beats the running best's {best.quality:.3f} (#{best.id})")

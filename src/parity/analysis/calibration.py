"""How far to trust one judge against another: both score the same stored answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from parity.judge import Judge
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Answer, Workspace

VERDICTS = ["win", "tie", "loss"]


@dataclass
class Calibration:
    n_answers: int
    n_both_scored: int
    spearman: dict[str, float | None]  # per dimension; None when either judge gave one constant score
    quality_spearman: float | None
    pairwise_agreement: float | None
    cohen_kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cohen_kappa(a: list[str], b: list[str]) -> float | None:
    """Agreement on verdicts beyond chance; None when chance agreement is already total."""
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    expected = sum((a.count(v) / n) * (b.count(v) / n) for v in VERDICTS)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def _spearman(x: list[float], y: list[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(spearmanr(x, y).statistic)


def calibrate(ws: Workspace, ruler: Ruler, store: Store, judge: Judge, against: Judge, experiment_ids: list[int], limit: int | None, on_step: Callable[[], None] | None = None) -> Calibration:
    from parity.metrics import case_quality

    cases = {case.id: case for case in ruler.cases}
    seen, items = set(), []
    for experiment_id in experiment_ids:
        for r in store.case_rows(experiment_id):
            key = (r.case_id, str(r.answer))
            if r.answer is not None and r.case_id in cases and key not in seen:
                seen.add(key)
                items.append((cases[r.case_id], Answer.from_dict(r.answer)))
    items = items[:limit] if limit else items
    pairs = []
    for case, answer in items:
        pairs.append((judge.judge(case, answer), against.judge(case, answer)))
        if on_step:
            on_step()
    both = [(a, b) for a, b in pairs if a.status == "scored" and b.status == "scored"]
    rubric, metric = ws.config.rubric, ws.config.metric
    return Calibration(
        n_answers=len(items),
        n_both_scored=len(both),
        spearman={d: _spearman([a.scores[d] for a, _ in both], [b.scores[d] for _, b in both]) for d in rubric.dimensions},
        quality_spearman=_spearman([case_quality(a, rubric, metric) for a, _ in both], [case_quality(b, rubric, metric) for _, b in both]),
        pairwise_agreement=float(np.mean([a.verdict == b.verdict for a, b in both])) if both else None,
        cohen_kappa=cohen_kappa([a.verdict for a, _ in both], [b.verdict for _, b in both]),
    )

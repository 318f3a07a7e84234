"""Quality per case and per experiment, bootstrap confidence intervals, paired comparison."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from parity.cases import Case
from parity.judge.base import VERDICT_SCORE, Judgment
from parity.statuses import JudgmentStatus
from parity.task import MetricSpec, RubricSpec


def case_quality(judgment: Judgment, rubric: RubricSpec, metric: MetricSpec) -> float | None:
    """Blend of the normalized weighted rubric and the pairwise score; None when unscored."""
    if judgment.status != JudgmentStatus.SCORED or judgment.overall is None or judgment.verdict is None:
        return None
    rubric_part = (judgment.overall - rubric.scale_min) / (rubric.scale_max - rubric.scale_min)
    return metric.rubric_weight * rubric_part + metric.pairwise_weight * VERDICT_SCORE[judgment.verdict]


def parity_ratio(quality: float | None, ceiling: float | None) -> float | None:
    """Quality over the ceiling: how close to the frontier's own score (gold_alt as a candidate) a result came."""
    return quality / ceiling if quality is not None and ceiling else None


def bootstrap_ci(values: list[float], confidence: float, samples: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap of the mean; a single value has a zero-width interval."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (float("nan"), float("nan"))
    if data.size == 1:
        return (float(data[0]), float(data[0]))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(samples, data.size))].mean(axis=1)
    tail = (1 - confidence) / 2
    return (float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail)))


@dataclass
class PairedComparison:
    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float


def paired_comparison(a: dict[str, float], b: dict[str, float], confidence: float, samples: int, seed: int) -> PairedComparison:
    """Mean of per-case differences a − b over the cases both scored, with a bootstrap CI and a
    two-sided bootstrap p-value for "no difference" (resampling the differences centred on 0)."""
    common = sorted(set(a) & set(b))
    diffs = np.asarray([a[c] - b[c] for c in common], dtype=float)
    if diffs.size == 0:
        return PairedComparison(0, float("nan"), float("nan"), float("nan"), float("nan"))
    low, high = bootstrap_ci(list(diffs), confidence, samples, seed)
    observed = float(diffs.mean())
    rng = np.random.default_rng(seed + 1)
    centred = diffs - observed
    null_means = centred[rng.integers(0, diffs.size, size=(samples, diffs.size))].mean(axis=1)
    p_value = float(np.mean(np.abs(null_means) >= abs(observed) - 1e-12))
    return PairedComparison(int(diffs.size), observed, low, high, p_value)


@dataclass
class Result:
    quality: float | None
    ci_low: float | None
    ci_high: float | None
    n_cases: int
    n_scored: int
    n_unscored: int
    n_failed: int  # the agent produced no usable answer; scored as the worst outcome
    dimensions: dict[str, float]
    categories: dict[str, dict[str, float]]
    difficulties: dict[str, dict[str, float]]
    wtl: dict[str, int]
    unscored_reasons: dict[str, int] = field(default_factory=dict)
    per_case: dict[str, float] = field(default_factory=dict)
    critical_failures: dict[str, int] = field(default_factory=dict)  # detector -> cases it failed

    @property
    def n_critical(self) -> int:
        return sum(self.critical_failures.values())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(cases: list[Case], judgments: list[Judgment], rubric: RubricSpec, metric: MetricSpec) -> Result:
    by_id = {case.id: case for case in cases}
    qualities: dict[str, float] = {}
    dims: dict[str, list[float]] = defaultdict(list)
    groups: dict[str, dict[str, list[float]]] = {"category": defaultdict(list), "difficulty": defaultdict(list)}
    wtl = Counter({"win": 0, "tie": 0, "loss": 0})
    unscored: Counter[str] = Counter()
    critical: Counter[str] = Counter()
    failed = 0
    for judgment in judgments:
        quality = case_quality(judgment, rubric, metric)
        if quality is None or judgment.verdict is None:  # a scored case has a verdict; the check tells the type checker
            unscored[judgment.unscored or "unknown"] += 1
            continue
        case = by_id[judgment.case_id]
        qualities[case.id] = quality
        failed += judgment.agent_failed
        if judgment.critical is not None:
            critical[judgment.critical] += 1
        wtl[judgment.verdict] += 1
        for name, score in judgment.scores.items():
            dims[name].append(score)
        groups["category"][case.category].append(quality)
        groups["difficulty"][case.difficulty].append(quality)
    values = list(qualities.values())
    low, high = bootstrap_ci(values, metric.confidence, metric.bootstrap_samples, metric.seed)
    return Result(
        quality=float(np.mean(values)) if values else None,
        ci_low=low if values else None,
        ci_high=high if values else None,
        n_cases=len(judgments),
        n_scored=len(values),
        n_unscored=sum(unscored.values()),
        n_failed=failed,
        dimensions={name: float(np.mean(scores)) for name, scores in dims.items()},
        categories=_group_table(groups["category"]),
        difficulties=_group_table(groups["difficulty"]),
        wtl=dict(wtl),
        unscored_reasons=dict(unscored),
        per_case=qualities,
        critical_failures=dict(sorted(critical.items())),
    )


def _group_table(groups: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {name: {"quality": float(np.mean(vals)), "n": len(vals)} for name, vals in sorted(groups.items())}

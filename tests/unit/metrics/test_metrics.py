from __future__ import annotations

import numpy as np
import pytest

from parity.judge.base import Judgment
from parity.metrics import bootstrap_ci, case_quality, paired_comparison, summarize
from parity.ruler import Case
from parity.statuses import UnscoredKind
from parity.task import Answer, MetricSpec, RubricSpec

RUBRIC = RubricSpec.model_validate(
    {"scale_min": 1, "scale_max": 5, "dimensions": {"a": {"weight": 1, "description": "x"}, "b": {"weight": 3, "description": "y"}}}
)
METRIC = MetricSpec()
GOLD = Answer("t", tuple(f"q{i}?" for i in range(7)))


def _case(cid: str, category: str = "travel", difficulty: str = "easy") -> Case:
    return Case(cid, category, difficulty, "input", GOLD, None)


def test_case_quality_blends_rubric_and_pairwise() -> None:
    j = Judgment("c", "scored", scores={"a": 5, "b": 3}, overall=3.5, verdict="tie")
    # normalized rubric (3.5 - 1) / 4 = 0.625; tie = 0.5
    assert case_quality(j, RUBRIC, METRIC) == pytest.approx(0.5 * 0.625 + 0.5 * 0.5)
    assert case_quality(Judgment("c", "unscored", reason="parse: bad"), RUBRIC, METRIC) is None


def test_bootstrap_ci_brackets_the_mean_and_is_seeded() -> None:
    values = list(np.linspace(0.2, 0.8, 30))
    low, high = bootstrap_ci(values, 0.95, 2000, seed=1)
    assert low < np.mean(values) < high
    assert (low, high) == bootstrap_ci(values, 0.95, 2000, seed=1)
    assert bootstrap_ci([0.4], 0.95, 2000, 0) == (0.4, 0.4)


def test_unscored_cases_are_excluded_and_counted() -> None:
    cases = [_case("a"), _case("b", "home", "hard"), _case("c")]
    judgments = [
        Judgment("a", "scored", scores={"a": 5, "b": 5}, overall=5.0, verdict="win"),
        Judgment("b", "scored", scores={"a": 1, "b": 1}, overall=1.0, verdict="loss"),
        Judgment("c", "unscored", reason="truncated: hit limit", unscored=UnscoredKind.TRUNCATED),
    ]
    result = summarize(cases, judgments, RUBRIC, METRIC)
    assert result.n_scored == 2 and result.n_unscored == 1
    assert result.unscored_reasons == {"truncated": 1}
    assert result.quality == pytest.approx(0.5)
    assert result.wtl == {"win": 1, "tie": 0, "loss": 1}
    assert result.categories["home"] == {"quality": 0.0, "n": 1}
    assert result.difficulties["easy"]["quality"] == pytest.approx(1.0)


def test_paired_comparison_sees_a_consistent_gain() -> None:
    base = {f"c{i}": 0.4 + 0.01 * i for i in range(20)}
    better = {k: v + 0.05 for k, v in base.items()}
    cmp = paired_comparison(better, base, 0.9, 1000, 0)
    assert cmp.n == 20 and cmp.mean_diff == pytest.approx(0.05) and cmp.ci_low > 0
    noisy = {k: v + (0.05 if i % 2 else -0.05) for i, (k, v) in enumerate(base.items())}
    assert paired_comparison(noisy, base, 0.9, 1000, 0).ci_low < 0

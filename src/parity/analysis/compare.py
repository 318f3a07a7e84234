"""Two experiments on the same cases: the paired difference with its CI and p-value, case by case."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from parity.errors import ParityError
from parity.metrics import paired_comparison
from parity.store import Store
from parity.task import Workspace

CONFIDENCE = 0.95


@dataclass
class Comparison:
    a: int
    b: int
    n_paired: int
    quality_a: float
    quality_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    wins: list[dict[str, Any]]  # cases where A is better than B
    regressions: list[dict[str, Any]]  # cases where A is worse than B
    ties: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(ws: Workspace, store: Store, a: int, b: int) -> Comparison:
    rows = {experiment_id: store.require_experiment(experiment_id) for experiment_id in (a, b)}
    if rows[a].ruler_fingerprint != rows[b].ruler_fingerprint:
        raise ParityError(
            f"#{a} and #{b} ran on different rulers ({rows[a].ruler_fingerprint[:12]} vs {rows[b].ruler_fingerprint[:12]})",
            store.url,
            "compare experiments of one ruler only",
        )
    qa = {r.case_id: r.quality for r in store.case_rows(a) if r.quality is not None}
    qb = {r.case_id: r.quality for r in store.case_rows(b) if r.quality is not None}
    metric = ws.config.metric
    paired = paired_comparison(qa, qb, CONFIDENCE, metric.bootstrap_samples, metric.seed)
    if paired.n == 0:
        raise ParityError(f"#{a} and #{b} share no scored cases", store.url, "compare experiments on the same gate")
    common = sorted(set(qa) & set(qb))
    deltas: list[dict[str, Any]] = [{"case": c, "a": qa[c], "b": qb[c], "delta": qa[c] - qb[c]} for c in common]
    return Comparison(
        a,
        b,
        paired.n,
        sum(qa[c] for c in common) / len(common),
        sum(qb[c] for c in common) / len(common),
        paired.mean_diff,
        paired.ci_low,
        paired.ci_high,
        paired.p_value,
        sorted((d for d in deltas if d["delta"] > 1e-9), key=lambda d: -d["delta"]),
        sorted((d for d in deltas if d["delta"] < -1e-9), key=lambda d: d["delta"]),
        sum(1 for d in deltas if abs(d["delta"]) <= 1e-9),
    )

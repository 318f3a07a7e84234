"""Two experiments on the same cases: the paired difference with its CI and p-value, case by case."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from parity.cases import load_cases
from parity.errors import ParityError
from parity.judge.reference_json import FieldScorer
from parity.metrics import paired_comparison
from parity.models.embedder import get_embedder, workspace_cache
from parity.store import Store
from parity.task import Answer, Workspace

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
    fields: dict[str, dict[str, float]] = field(default_factory=dict)  # json tasks: per field, A, B and A − B with its CI

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
    comparison = Comparison(
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
    if ws.task.is_json:
        comparison.fields = compare_fields(ws, store, a, b, common)
    return comparison


def compare_fields(ws: Workspace, store: Store, a: int, b: int, cases: list[str]) -> dict[str, dict[str, float]]:
    """Per answer field, over the paired cases: each case's closeness to the gold (exact match for enums and
    numbers; a case with no answer counts 0), A − B with its paired bootstrap CI."""
    gold = {case.id: case.gold.data for case in load_cases(ws) if case.id in set(cases)}
    scorer = FieldScorer(ws.task, get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir)), ws.config.judge.number_tolerance)
    per_case = {experiment_id: _field_scores(store, experiment_id, gold, scorer) for experiment_id in (a, b)}
    metric = ws.config.metric
    result = {}
    for name in scorer.declared:
        fa = {c: scores[name] for c, scores in per_case[a].items()}
        fb = {c: scores[name] for c, scores in per_case[b].items()}
        paired = paired_comparison(fa, fb, CONFIDENCE, metric.bootstrap_samples, metric.seed)
        result[name] = {
            "a": sum(fa.values()) / len(fa),
            "b": sum(fb.values()) / len(fb),
            "diff": paired.mean_diff,
            "ci_low": paired.ci_low,
            "ci_high": paired.ci_high,
            "p_value": paired.p_value,
        }
    return result


def _field_scores(store: Store, experiment_id: int, gold: dict[str, Any], scorer: FieldScorer) -> dict[str, dict[str, float]]:
    answers = {r.case_id: Answer.from_dict(r.answer).data if r.answer else None for r in store.case_rows(experiment_id)}
    zero = dict.fromkeys(scorer.declared, 0.0)
    scores = {}
    for case, data in gold.items():
        answer = answers.get(case)
        scores[case] = scorer.score(answer, data) if answer is not None and data is not None else zero
    return scores

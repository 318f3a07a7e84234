"""Fitting the reference judge v2 to frontier labels: per rubric dimension and for the verdict, a
gradient-boosted sum of shallow trees (scikit-learn), its setting chosen by cross-validation over
fitting tasks, exported to the plain arrays `parity.judge.fitted` walks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from parity.analysis.calibration import LabelAgreement, agree_with_labels, agreement_record, max_ratio_error, order_pairs, source_agreements
from parity.errors import ParityError
from parity.judge import features as feat
from parity.judge import with_detectors
from parity.judge.base import VERDICT_SCORE, Judgment
from parity.judge.detectors import Detector, first_failure
from parity.judge.fitted import FeatureReader, FitRecord, FittedParams, FittedReferenceJudge, Tree, Trees, VerdictTrees, save_params
from parity.labels import GENERATED_PREFIXES, LabelledItem, Split, load_labels
from parity.metrics import case_quality
from parity.models.embedder import Embedder, get_embedder, workspace_cache
from parity.task import MetricSpec, RubricSpec, Workspace

# Tree depth and count are chosen by cross-validation over folds of fitting *tasks* (never held-out
# ones); the rest are fixed. Subsampling with a fixed seed keeps a refit on the same labels identical.
DEPTHS = (2, 3)
N_TREES = (100, 300)
LEARNING_RATE = 0.05
SUBSAMPLE = 0.8
SEED = 0
CV_FOLDS = 5
# The cross-validation score mirrors what a judge is asked to get right: rank answers (mean of the
# Spearman on model answers and on generated ones), keep parity ratios (minus the largest ratio error
# of a model source), and order sources (minus this much per clearly-apart pair it reverses).
PAIR_PENALTY = 0.02
THRESHOLD_CUTS = 61  # verdict cut points tried: quantiles of the verdict value

_METRIC = MetricSpec()  # the default blend (0.5 rubric, 0.5 pairwise) ranks answers while fitting


def _verdict_value(judging: Judgment) -> float:
    assert judging.verdict is not None  # labels.py gives every label judging a verdict
    return VERDICT_SCORE[judging.verdict]


class _Targets:
    """The labels as arrays: mean score per dimension, mean verdict value, first verdict, kinds of source."""

    def __init__(self, items: list[LabelledItem], rubric: RubricSpec, failed: np.ndarray):
        self.scores = {d: np.array([np.mean([j.scores[d] for j in item.judgings]) for item in items]) for d in rubric.dimensions}
        self.verdict = np.array([np.mean([_verdict_value(j) for j in item.judgings]) for item in items])
        self.first = np.array([item.judgings[0].verdict for item in items])
        quality = np.array([np.mean([case_quality(j, rubric, _METRIC) or 0.0 for j in item.judgings]) for item in items])
        self.quality = np.where(failed, 0.0, quality)  # the ruler fails these whatever a judge says
        self.failed = failed
        self.source = np.array([item.source for item in items])
        self.generated = np.array([item.source.startswith(GENERATED_PREFIXES) for item in items])
        self.model = np.array([item.is_model_answer for item in items])


def fit(
    items: list[LabelledItem],
    rubric: RubricSpec,
    embedder: Embedder,
    labels_path: str,
    labels_fingerprint: str,
    free_text: bool = False,
    failed: set[str] | None = None,
    on_step: Any = None,
) -> FittedParams:
    """Fit every dimension and the verdict to the labels of `items` (the fitting tasks only). `failed`:
    the items the ruler's detectors fail; they are scored 0 on both sides and not fit."""
    if len(items) < 20:
        raise ParityError(f"only {len(items)} labelled answers to fit on", labels_path, "label at least 20 answers on the fitting tasks")
    names = list(feat.TEXT_FEATURES if free_text else feat.FEATURES)
    read = FeatureReader(embedder)
    rows = []
    for item in items:
        rows.append(read(item.case, item.candidate))
        if on_step:
            on_step()
    X = np.array([[row[n] for n in names] for row in rows])
    data = _Targets(items, rubric, np.array([item.item in (failed or set()) for item in items]))
    tasks = sorted({item.case.id for item in items})
    fold_of = np.array([tasks.index(item.case.id) % CV_FOLDS for item in items])
    folds = [fold_of == k for k in range(CV_FOLDS)]
    results = {(depth, n): _cross_validate(X, data, rubric, depth, n, folds) for depth in DEPTHS for n in N_TREES}
    depth, n_trees = max(results, key=lambda k: results[k]["score"])
    dimensions, verdict = _export_models(_fit_models(X, data, rubric, depth, n_trees, ~data.failed), names, X[~data.failed])
    chosen = results[(depth, n_trees)]
    record = FitRecord(
        labels=labels_path,
        labels_fingerprint=labels_fingerprint,
        n_items=len(items),
        n_tasks=len(tasks),
        n_failed=int(data.failed.sum()),
        depth=depth,
        n_trees=n_trees,
        learning_rate=LEARNING_RATE,
        subsample=SUBSAMPLE,
        cv_score=chosen["score"],
        cv={k: v for k, v in chosen.items() if k != "score"},
        fitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return FittedParams(
        task_kind="free_text" if free_text else "questions", features=names, dimensions=dimensions, verdict=verdict, fit=record
    )


def _boosted(depth: int, n_trees: int):
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(
        max_depth=depth, n_estimators=n_trees, learning_rate=LEARNING_RATE, subsample=SUBSAMPLE, random_state=SEED
    )


def _fit_models(X: np.ndarray, data: _Targets, rubric: RubricSpec, depth: int, n_trees: int, train: np.ndarray) -> tuple[dict, tuple]:
    dimensions = {d: _boosted(depth, n_trees).fit(X[train], data.scores[d][train]) for d in rubric.dimensions}
    verdict = _boosted(depth, n_trees).fit(X[train], data.verdict[train])
    tie, win = _thresholds(verdict.predict(X[train]), data.first[train])
    return dimensions, (verdict, tie, win)


def _thresholds(values: np.ndarray, verdicts: np.ndarray) -> tuple[float, float]:
    """The (tie, win) cut points on the verdict value with the best Cohen's κ against the labels' verdicts:
    plain accuracy would rarely call a tie, since nearly every answer loses."""
    cuts = np.unique(np.concatenate([np.quantile(values, np.linspace(0, 1, THRESHOLD_CUTS)), [values.max() + 1.0]]))
    truth = np.select([verdicts == "win", verdicts == "tie"], [2, 1], 0)
    truth_share = np.bincount(truth, minlength=3) / len(truth)
    best, best_score = (float(cuts[-1]), float(cuts[-1])), -np.inf
    for i, tie in enumerate(cuts):
        for win in cuts[i:]:
            predicted = np.where(values >= win, 2, np.where(values >= tie, 1, 0))
            expected = float(np.bincount(predicted, minlength=3) / len(predicted) @ truth_share)
            score = (float(np.mean(predicted == truth)) - expected) / (1 - expected) if expected < 1 else 0.0
            if score > best_score:
                best, best_score = (float(tie), float(win)), score
    return best


def _predicted_quality(models: tuple[dict, tuple], X: np.ndarray, rubric: RubricSpec) -> np.ndarray:
    dimensions, (verdict, tie, win) = models
    lo, hi = rubric.scale_min, rubric.scale_max
    weights = rubric.normalized_weights()
    rubric_part = (sum(weights[d] * np.clip(dimensions[d].predict(X), lo, hi) for d in weights) - lo) / (hi - lo)
    value = verdict.predict(X)
    pairwise = np.where(value >= win, 1.0, np.where(value >= tie, 0.5, 0.0))
    return _METRIC.rubric_weight * rubric_part + _METRIC.pairwise_weight * pairwise


def _cross_validate(
    X: np.ndarray, data: _Targets, rubric: RubricSpec, depth: int, n_trees: int, folds: list[np.ndarray]
) -> dict[str, float]:
    """Fit without one fold of tasks, then measure that fold as `parity calibrate` would; mean over folds."""
    from scipy.stats import spearmanr

    measures = []
    for test in folds:
        models = _fit_models(X, data, rubric, depth, n_trees, ~test & ~data.failed)
        predicted = np.where(data.failed[test], 0.0, _predicted_quality(models, X[test], rubric))
        truth, source = data.quality[test], data.source[test]
        rhos = [
            float(spearmanr(predicted[m], truth[m]).statistic)
            for m in (data.model[test], data.generated[test])
            if m.sum() >= 3 and np.ptp(predicted[m]) > 0 and np.ptp(truth[m]) > 0
        ]
        sources = source_agreements([(s, p, t) for s, p, t in zip(source, predicted, truth)])
        _, _, _, reversed_pairs = order_pairs(sources)
        ratio_error = max_ratio_error(sources, GENERATED_PREFIXES) or 0.0
        measures.append((float(np.mean(rhos)) if rhos else -1.0, ratio_error, len(reversed_pairs)))
    rho, ratio_error, reversed_count = (float(v) for v in np.mean(measures, axis=0))
    return {
        "score": rho - ratio_error - PAIR_PENALTY * reversed_count,
        "spearman": rho,
        "max_model_ratio_error": ratio_error,
        "clear_pairs_reversed": reversed_count,
    }


def _export_models(models: tuple[dict, tuple], names: list[str], X: np.ndarray) -> tuple[dict[str, Trees], VerdictTrees]:
    dimensions, (verdict, tie, win) = models
    exported = {d: Trees(**_export(m, names, X)) for d, m in dimensions.items()}
    return exported, VerdictTrees(**_export(verdict, names, X), tie=tie, win=win)


def _export(model, names: list[str], X: np.ndarray) -> dict[str, Any]:
    """scikit-learn's fitted trees as plain arrays; checked to predict exactly what the model predicts."""
    trees = []
    for estimator in model.estimators_[:, 0]:
        t = estimator.tree_
        leaf = t.children_left == -1
        trees.append(
            Tree(
                feature=np.where(leaf, -1, t.feature).tolist(),
                threshold=np.where(leaf, 0.0, t.threshold).tolist(),
                left=t.children_left.tolist(),
                right=t.children_right.tolist(),
                value=t.value[:, 0, 0].tolist(),
            )
        )
    base = float(model.predict(X[:1])[0] - model.learning_rate * sum(e.predict(X[:1])[0] for e in model.estimators_[:, 0]))
    out: dict[str, Any] = {
        "base": base,
        "learning_rate": float(model.learning_rate),
        "trees": trees,
        "importance": {n: round(float(v), 4) for n, v in zip(names, model.feature_importances_)},
    }
    probe = Trees(**out)
    if not np.allclose([probe(list(x)) for x in X[:50]], model.predict(X[:50]), atol=1e-9):
        raise ParityError(
            "exported judge trees disagree with the fitted model",
            "parity calibrate --fit",
            "report this: scikit-learn's tree layout may have changed",
        )
    return out


@dataclass
class FittedJudge:
    params: FittedParams  # as saved, with its held-out agreement when there were held-out tasks
    heldout: LabelAgreement | None  # the fitted judge against the labels of the held-out tasks


def fit_and_check(
    ws: Workspace,
    labels_path: Path,
    out: Path,
    on_phase: Callable[[str, int | None], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> FittedJudge:
    """`parity calibrate --labels FILE --fit OUT`: fit v2 on the fitting tasks only, measure it on the
    held-out tasks as it will judge (with the ruler's detectors), keep that figure with it, and save it.
    `on_phase(what, total)` announces each of the two passes, `on_step` each answer."""
    label_set = load_labels(labels_path, ws)
    embedder = get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir))
    items = label_set.where(Split.FIT)
    detectors = [Detector.from_spec(name, spec) for name, spec in ws.config.detectors.items()]
    failed = {i.item for i in items if first_failure(detectors, i.candidate) is not None}
    if on_phase:
        on_phase("fitting on the fitting tasks (features, then cross-validated trees)", len(items))
    params = fit(
        items,
        ws.config.rubric,
        embedder,
        str(labels_path),
        label_set.fingerprint,
        free_text=ws.task.free_text,
        failed=failed,
        on_step=on_step,
    )
    heldout = label_set.where(Split.HELDOUT)
    result = None
    if heldout:
        judge = with_detectors(ws, FittedReferenceJudge(ws.config.rubric, embedder, params))
        if on_phase:
            on_phase("checking on the held-out tasks", len(heldout))
        result = agree_with_labels(ws, judge, label_set, Split.HELDOUT, on_step)
        params.agreement = agreement_record(result, len({i.case.id for i in heldout}))
    save_params(params, out)
    return FittedJudge(params, result)

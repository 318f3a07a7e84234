"""Reference judge v2: v1's offline signals plus degenerate-answer features, combined by small models
fit to frontier labels (`parity calibrate --labels FILE --fit OUT`).

Each rubric dimension is a gradient-boosted sum of shallow regression trees over the documented
features in `features.py` (scikit-learn's GradientBoostingRegressor, exported to plain JSON); the
pairwise verdict is one more such model with two fitted thresholds (tie, win). Trees, not a linear
blend: a linear one compressed both ends of the scale, over-scoring the weakest model answers and
under-scoring gold_alt, so parity ratios came out wrong even where answers were ranked well. The
parameters live in a JSON file named by `[judge] fitted` in parity.toml; the whole file is hashed
into the ruler fingerprint, so a refit is a new ruler. The file also records how well the fit agreed
with the frontier labels on tasks it never saw, which every summary judged by it shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parity.errors import ParityError
from parity.io import atomic_write_text
from parity.judge import features as feat
from parity.judge.base import VERDICT_SCORE, Judgment, Verdict
from parity.task import Answer, MetricSpec, RubricSpec

if TYPE_CHECKING:
    from parity.labels import LabelledItem
    from parity.models.embedder import Embedder
    from parity.ruler import Case

VERSION = "reference-2"
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tree(_Strict):
    """One regression tree as parallel node arrays; a leaf has left = right = -1."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]

    @model_validator(mode="after")
    def _well_formed(self) -> Tree:
        n = len(self.feature)
        if n == 0 or any(len(a) != n for a in (self.threshold, self.left, self.right, self.value)):
            raise ValueError("a tree's node arrays must be non-empty and of one length")
        for i, (lo, hi) in enumerate(zip(self.left, self.right)):
            if (lo == -1) != (hi == -1) or (lo != -1 and not (i < lo < n and i < hi < n)):
                raise ValueError(f"node {i}: children must both be -1 or later nodes of the tree")  # so a walk always ends
        return self


class Trees(_Strict):
    """A boosted sum: base + learning_rate × the leaf each tree sends the features to."""

    base: float
    learning_rate: float
    trees: list[Tree]
    importance: dict[str, float]  # the fit's feature importances, for notes that say what mattered

    def __call__(self, x: Sequence[float]) -> float:
        x = np.asarray(x, dtype=np.float32).tolist()  # scikit-learn compares features as float32 with its thresholds
        total = self.base
        for tree in self.trees:
            node = 0
            while tree.left[node] != -1:
                node = tree.left[node] if x[tree.feature[node]] <= tree.threshold[node] else tree.right[node]
            total += self.learning_rate * tree.value[node]
        return total


class VerdictTrees(Trees):
    tie: float  # the verdict value at and above which the candidate ties gold ...
    win: float  # ... and beats it


class FitRecord(_Strict):
    labels: str  # the label set's path as given
    labels_fingerprint: str
    n_items: int
    n_tasks: int
    n_failed: int  # answers the ruler's detectors fail: their outcome is fixed, so they are not fit
    depth: int
    n_trees: int
    learning_rate: float
    subsample: float
    cv_score: float
    cv: dict[str, float]  # the chosen setting's cross-validated measures
    fitted_at: str


class FittedParams(_Strict):
    version: Literal["reference-2"] = VERSION
    task_kind: Literal["questions", "free_text"] = "questions"
    features: list[str]
    dimensions: dict[str, Trees]
    verdict: VerdictTrees
    fit: FitRecord
    agreement: dict[str, Any] = Field(default_factory=dict)  # held-out figures, for summaries

    @model_validator(mode="after")
    def _features_in_range(self) -> FittedParams:
        for name, model in [*self.dimensions.items(), ("verdict", self.verdict)]:
            if any(not -1 <= f < len(self.features) for tree in model.trees for f in tree.feature):
                raise ValueError(f"{name}: a tree splits on a feature index outside the feature list")
        return self


def load_params(path: Path, shown_as: str) -> FittedParams:
    try:
        params = FittedParams.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise ParityError(
            "fitted judge parameters not found", shown_as, "fit them: parity calibrate --labels calibration/labels.jsonl --fit FILE"
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ParityError(
            f"invalid fitted judge parameters: {'.'.join(map(str, first['loc']))}: {first['msg']}",
            shown_as,
            "refit them with parity calibrate --fit",
        ) from None
    unknown = sorted(set(params.features) - set(_feature_names(params.task_kind)))
    if unknown:
        raise ParityError(f"fitted judge names unknown features {unknown}", shown_as, "refit with this version of parity")
    return params


def _feature_names(task_kind: str) -> tuple[str, ...]:
    return feat.TEXT_FEATURES if task_kind == "free_text" else feat.FEATURES


def identity(params: FittedParams) -> dict[str, Any]:
    features = feat.text_identity() if params.task_kind == "free_text" else feat.identity()
    return {"version": VERSION, "features": features, "params": params.model_dump(exclude={"agreement"})}


class FeatureReader:
    """The documented features of one answer, named as in `features.py`."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    @cached_property
    def _banks(self) -> tuple[np.ndarray, np.ndarray]:
        return self.embedder.encode(list(feat.GENERIC_QUESTIONS)), self.embedder.encode(list(feat.META_QUESTIONS))

    def __call__(self, case: Case, answer: Answer) -> dict[str, float]:
        if answer.text is not None:
            return feat.text_features(self.embedder, case.input, case.gold.text or case.gold.render(), answer.text)
        generic, meta = self._banks
        return feat.question_features(self.embedder, case.input, list(case.gold.questions), list(answer.questions), generic, meta)


class FittedReferenceJudge:
    thread_safe = False  # one embedder

    def __init__(self, rubric: RubricSpec, embedder: Embedder, params: FittedParams):
        missing = sorted(set(rubric.dimensions) - set(params.dimensions))
        if missing:
            raise ParityError(
                f"the fitted judge has no model for dimension(s) {missing}",
                "parity.toml [judge] fitted",
                "refit on labels that score every rubric dimension",
            )
        self.rubric = rubric
        self.embedder = embedder
        self.params = params
        self.weights = rubric.normalized_weights()
        self.features = FeatureReader(embedder)

    def judge(self, case: Case, answer: Answer, repeat: int = 0) -> Judgment:  # deterministic: repeats agree
        named = self.features(case, answer)
        x = [named[n] for n in self.params.features]
        lo, hi = self.rubric.scale_min, self.rubric.scale_max
        scores = {d: round(float(np.clip(self.params.dimensions[d](x), lo, hi)), 4) for d in self.weights}
        value = self.params.verdict(x)
        verdict: Verdict = "win" if value >= self.params.verdict.win else "tie" if value >= self.params.verdict.tie else "loss"
        notes = {d: _strongest(self.params.dimensions[d], named) for d in self.weights}
        notes["pairwise"] = (
            f"{verdict}: verdict value {value:.3f} (tie ≥ {self.params.verdict.tie:.3f}, win ≥ {self.params.verdict.win:.3f}); {_strongest(self.params.verdict, named)}"
        )
        overall = round(sum(self.weights[d] * scores[d] for d in self.weights), 4)
        return Judgment(
            case.id,
            "scored",
            scores=scores,
            overall=overall,
            verdict=verdict,
            notes=notes,
            extra={"features": {k: round(v, 4) for k, v in named.items()}},
        )


def _strongest(model: Trees, named: dict[str, float]) -> str:
    """The two features this model leans on most, with this answer's values, so a score can be traced."""
    top = sorted(model.importance, key=lambda f: -model.importance[f])[:2]
    return "mostly " + ", ".join(f"{f} = {named[f]:.2f}" for f in top)


# Fitting.


class _Targets:
    """The labels as arrays: mean score per dimension, mean verdict value, first verdict, kinds of source."""

    def __init__(self, items: list[LabelledItem], rubric: RubricSpec, failed: np.ndarray):
        from parity.labels import GENERATED_PREFIXES
        from parity.metrics import case_quality

        self.scores = {d: np.array([np.mean([j.scores[d] for j in item.judgings]) for item in items]) for d in rubric.dimensions}
        self.verdict = np.array([np.mean([VERDICT_SCORE[j.verdict] for j in item.judgings]) for item in items])
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

    from parity.analysis.calibration import max_ratio_error, order_pairs, source_agreements
    from parity.labels import GENERATED_PREFIXES

    measures = []
    for test in folds:
        models = _fit_models(X, data, rubric, depth, n_trees, ~test & ~data.failed)
        predicted = np.where(data.failed[test], 0.0, _predicted_quality(models, X[test], rubric))
        truth, source = data.quality[test], data.source[test]
        rho = [
            float(spearmanr(predicted[m], truth[m]).statistic)
            for m in (data.model[test], data.generated[test])
            if m.sum() >= 3 and np.ptp(predicted[m]) > 0 and np.ptp(truth[m]) > 0
        ]
        sources = source_agreements([(s, p, t) for s, p, t in zip(source, predicted, truth)])
        _, _, _, reversed_pairs = order_pairs(sources)
        ratio_error = max_ratio_error(sources, GENERATED_PREFIXES) or 0.0
        measures.append((float(np.mean(rho)) if rho else -1.0, ratio_error, len(reversed_pairs)))
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
    out = {
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


def save_params(params: FittedParams, path: Path) -> None:
    atomic_write_text(path, json.dumps(params.model_dump()) + "\n")

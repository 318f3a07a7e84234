"""Reference judge v2: v1's offline signals plus degenerate-set features, combined with weights fit to
frontier labels (`parity calibrate --labels FILE --fit OUT`).

Each rubric dimension is a clipped linear function of the documented features in `features.py`; the
pairwise verdict is a second linear function with two fitted thresholds (tie, win). The parameters
live in a JSON file named by `[judge] fitted` in parity.toml; the whole file is hashed into the ruler
fingerprint, so a refit is a new ruler. The file also records how well the fit agreed with the
frontier labels on tasks it never saw, which every summary judged by it shows.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
# Ridge strength on standardized features, and how much more an answer a model generated weighs than a
# hand-made one: both chosen by cross-validation over folds of fitting *tasks* (never held-out ones).
ALPHAS = (1.0, 3.0, 10.0, 30.0)
GENERATED_WEIGHTS = (1.0, 3.0)
CV_FOLDS = 5
GENERATED_PREFIXES = ("agent:", "adapter:")


_METRIC = MetricSpec()  # the default blend (0.5 rubric, 0.5 pairwise) ranks answers while fitting


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Linear(_Strict):
    intercept: float
    weights: dict[str, float]

    def __call__(self, x: dict[str, float]) -> float:
        return self.intercept + sum(w * x[name] for name, w in self.weights.items())


class VerdictModel(Linear):
    tie: float  # the verdict value at and above which the candidate ties gold ...
    win: float  # ... and beats it


class FitRecord(_Strict):
    labels: str  # the label set's path as given
    labels_fingerprint: str
    n_items: int
    n_tasks: int
    ridge_alpha: float
    generated_weight: float
    cv_score: float  # mean over folds of (quality Spearman on model answers + on generated answers) / 2
    fitted_at: str


class FittedParams(_Strict):
    version: Literal["reference-2"] = VERSION
    task_kind: Literal["questions", "free_text"] = "questions"
    features: list[str]
    dimensions: dict[str, Linear]
    verdict: VerdictModel
    fit: FitRecord
    agreement: dict[str, Any] = Field(default_factory=dict)  # held-out figures, for summaries


def load_params(path: Path, shown_as: str) -> FittedParams:
    try:
        params = FittedParams.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise ParityError("fitted judge parameters not found", shown_as, "fit them: parity calibrate --labels calibration/labels.jsonl --fit FILE") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ParityError(f"invalid fitted judge parameters: {'.'.join(map(str, first['loc']))}: {first['msg']}", shown_as, "refit them with parity calibrate --fit") from None
    unknown = sorted(set(params.features) - set(_feature_names(params.task_kind)))
    if unknown:
        raise ParityError(f"fitted judge names unknown features {unknown}", shown_as, "refit with this version of parity")
    return params


def _feature_names(task_kind: str) -> tuple[str, ...]:
    return feat.TEXT_FEATURES if task_kind == "free_text" else feat.FEATURES


def identity(params: FittedParams) -> dict[str, Any]:
    features = feat.text_identity() if params.task_kind == "free_text" else feat.identity()
    return {"version": VERSION, "features": features, "params": params.model_dump(exclude={"agreement"})}


class FittedReferenceJudge:
    thread_safe = False  # one embedder

    def __init__(self, rubric: RubricSpec, embedder: Embedder, params: FittedParams):
        missing = sorted(set(rubric.dimensions) - set(params.dimensions))
        if missing:
            raise ParityError(f"the fitted judge has no model for dimension(s) {missing}", "parity.toml [judge] fitted", "refit on labels that score every rubric dimension")
        self.rubric = rubric
        self.embedder = embedder
        self.params = params
        self.weights = rubric.normalized_weights()

    @cached_property
    def _banks(self) -> tuple[np.ndarray, np.ndarray]:
        return self.embedder.encode(list(feat.GENERIC_QUESTIONS)), self.embedder.encode(list(feat.META_QUESTIONS))

    def features(self, case: Case, answer: Answer) -> dict[str, float]:
        if answer.text is not None:
            return feat.text_features(self.embedder, case.input, case.gold.text or case.gold.render(), answer.text)
        generic, meta = self._banks
        return feat.question_features(self.embedder, case.input, list(case.gold.questions), list(answer.questions), generic, meta)

    def judge(self, case: Case, answer: Answer, repeat: int = 0) -> Judgment:  # deterministic: repeats agree
        x = self.features(case, answer)
        lo, hi = self.rubric.scale_min, self.rubric.scale_max
        scores = {d: round(float(np.clip(self.params.dimensions[d](x), lo, hi)), 4) for d in self.weights}
        value = self.params.verdict(x)
        verdict: Verdict = "win" if value >= self.params.verdict.win else "tie" if value >= self.params.verdict.tie else "loss"
        notes = {d: _strongest(self.params.dimensions[d], x) for d in self.weights}
        notes["pairwise"] = f"{verdict}: verdict value {value:.3f} (tie ≥ {self.params.verdict.tie:.3f}, win ≥ {self.params.verdict.win:.3f})"
        overall = round(sum(self.weights[d] * scores[d] for d in self.weights), 4)
        return Judgment(case.id, "scored", scores=scores, overall=overall, verdict=verdict, notes=notes, extra={"features": {k: round(v, 4) for k, v in x.items()}})


def _strongest(model: Linear, x: dict[str, float]) -> str:
    """The feature that moved this score most, so a number can be traced to what the judge saw."""
    name = max(model.weights, key=lambda f: abs(model.weights[f] * x[f]))
    return f"mostly {name} = {x[name]:.2f} (weight {model.weights[name]:+.2f})"


def _ridge(X: np.ndarray, y: np.ndarray, alpha: float, sample_weight: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted ridge on standardized columns, returned in the raw features' units (intercept, weights)."""
    w = sample_weight / sample_weight.sum()
    mean = w @ X
    std = np.sqrt(w @ (X - mean) ** 2)
    std[std < 1e-9] = 1.0
    Z = (X - mean) / std
    y_mean = float(w @ y)
    coef = np.linalg.solve(Z.T @ (Z * w[:, None]) * len(y) + alpha * np.eye(Z.shape[1]), Z.T @ ((y - y_mean) * w) * len(y))
    weights = coef / std
    return y_mean - float(mean @ weights), weights


def _thresholds(values: np.ndarray, verdicts: list[str]) -> tuple[float, float]:
    """The (tie, win) cut points on the verdict value with the best Cohen's κ against the labels' verdicts:
    plain accuracy would rarely call a tie, since nearly every answer loses."""
    cuts = np.unique(np.concatenate([np.quantile(values, np.linspace(0, 1, 101)), [values.max() + 1.0]]))  # percentiles are fine enough
    truth = np.asarray(verdicts)
    from parity.analysis.calibration import cohen_kappa

    best, best_score = (float(cuts[-1]), float(cuts[-1])), -1.0
    for i, tie in enumerate(cuts):
        for win in cuts[i:]:
            predicted = np.where(values >= win, "win", np.where(values >= tie, "tie", "loss"))
            score = cohen_kappa(list(predicted), list(truth)) or 0.0
            if score > best_score:
                best, best_score = (float(tie), float(win)), score
    return best


def fit(items: list[LabelledItem], rubric: RubricSpec, embedder: Embedder, labels_path: str, labels_fingerprint: str, free_text: bool = False) -> FittedParams:
    """Fit every dimension and the verdict to the labels of `items` (the fitting tasks only)."""
    if len(items) < 20:
        raise ParityError(f"only {len(items)} labelled answers to fit on", labels_path, "label at least 20 answers on the fitting tasks")
    probe = FittedReferenceJudge.__new__(FittedReferenceJudge)
    probe.embedder = embedder
    names = list(feat.TEXT_FEATURES if free_text else feat.FEATURES)
    X = np.array([[row[n] for n in names] for row in (probe.features(item.case, item.candidate) for item in items)])
    data = _Targets.of(items, rubric)
    tasks = sorted({item.case.id for item in items})
    folds = [np.array([tasks.index(item.case.id) % CV_FOLDS == k for item in items]) for k in range(CV_FOLDS)]
    scores = {(a, g): float(np.mean([_cv_score(X, data, rubric, a, g, fold) for fold in folds])) for a in ALPHAS for g in GENERATED_WEIGHTS}
    alpha, generated_weight = max(scores, key=lambda k: scores[k])
    dimensions, verdict = _fit_models(X, data, rubric, alpha, generated_weight, np.ones(len(items), dtype=bool), names)
    record = FitRecord(
        labels=labels_path, labels_fingerprint=labels_fingerprint, n_items=len(items), n_tasks=len(tasks), ridge_alpha=alpha,
        generated_weight=generated_weight, cv_score=scores[(alpha, generated_weight)], fitted_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    return FittedParams(task_kind="free_text" if free_text else "questions", features=names, dimensions=dimensions, verdict=verdict, fit=record)


class _Targets:
    """The labels as arrays: mean score per dimension, mean verdict value, first verdict, kind of source."""

    def __init__(self, scores: dict[str, np.ndarray], verdict: np.ndarray, first: list[str], generated: np.ndarray, model: np.ndarray, quality: np.ndarray):
        self.scores, self.verdict, self.first, self.generated, self.model, self.quality = scores, verdict, first, generated, model, quality

    @classmethod
    def of(cls, items: list[LabelledItem], rubric: RubricSpec) -> "_Targets":
        from parity.metrics import case_quality

        scores = {d: np.array([np.mean([j.scores[d] for j in item.judgings]) for item in items]) for d in rubric.dimensions}
        verdict = np.array([np.mean([VERDICT_SCORE[j.verdict] for j in item.judgings]) for item in items])
        quality = np.array([np.mean([case_quality(j, rubric, _METRIC) or 0.0 for j in item.judgings]) for item in items])
        generated = np.array([item.source.startswith(GENERATED_PREFIXES) for item in items])
        model = np.array([item.is_model_answer for item in items])
        return cls(scores, verdict, [item.judgings[0].verdict for item in items], generated, model, quality)


def _fit_models(X: np.ndarray, data: _Targets, rubric: RubricSpec, alpha: float, generated_weight: float, train: np.ndarray, names: list[str]) -> tuple[dict[str, Linear], VerdictModel]:
    weight = np.where(data.generated, generated_weight, 1.0)[train]
    dimensions = {}
    for d in rubric.dimensions:
        intercept, weights = _ridge(X[train], data.scores[d][train], alpha, weight)
        dimensions[d] = Linear(intercept=intercept, weights=dict(zip(names, map(float, weights))))
    intercept, weights = _ridge(X[train], data.verdict[train], alpha, np.ones(int(train.sum())))
    values = intercept + X[train] @ weights
    tie, win = _thresholds(values, [v for v, t in zip(data.first, train) if t])
    return dimensions, VerdictModel(intercept=intercept, weights=dict(zip(names, map(float, weights))), tie=tie, win=win)


def _cv_score(X: np.ndarray, data: _Targets, rubric: RubricSpec, alpha: float, generated_weight: float, test: np.ndarray) -> float:
    """Fit without one fold of tasks, then rank that fold's answers: Spearman on model and on generated answers."""
    from scipy.stats import spearmanr

    names = [str(i) for i in range(X.shape[1])]
    dimensions, verdict = _fit_models(X, data, rubric, alpha, generated_weight, ~test, names)
    lo, hi = rubric.scale_min, rubric.scale_max
    weights = rubric.normalized_weights()
    rows = [dict(zip(names, x)) for x in X[test]]
    rubric_part = np.array([(sum(weights[d] * np.clip(dimensions[d](r), lo, hi) for d in weights) - lo) / (hi - lo) for r in rows])
    values = np.array([verdict(r) for r in rows])
    pairwise = np.where(values >= verdict.win, 1.0, np.where(values >= verdict.tie, 0.5, 0.0))
    predicted = _METRIC.rubric_weight * rubric_part + _METRIC.pairwise_weight * pairwise
    parts = []
    for mask in (data.model[test], data.generated[test]):
        if mask.sum() >= 3 and len(set(predicted[mask])) > 1 and len(set(data.quality[test][mask])) > 1:
            parts.append(float(spearmanr(predicted[mask], data.quality[test][mask]).statistic))
    return float(np.mean(parts)) if parts else -1.0


def save_params(params: FittedParams, path: Path) -> None:
    atomic_write_text(path, json.dumps(params.model_dump(), indent=1) + "\n")

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
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parity.errors import ParityError
from parity.io import atomic_write_text
from parity.judge import features as feat
from parity.judge.base import JudgeRecord, Judgment, Verdict, scored
from parity.task import Answer, RubricSpec

if TYPE_CHECKING:
    from parity.cases import Case
    from parity.models.embedder import Embedder

VERSION: Final = "reference-2"


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
    except OSError as exc:  # a folder in its place, a symlink loop, no permission
        raise ParityError(
            f"cannot read the fitted judge parameters ({exc.strerror or type(exc).__name__})", shown_as, "point [judge] fitted at the file"
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


def missing_dimensions(rubric: RubricSpec, params: FittedParams) -> None:
    """Refuse a rubric dimension the fitted parameters have no model for."""
    missing = sorted(set(rubric.dimensions) - set(params.dimensions))
    if missing:
        raise ParityError(
            f"the fitted judge has no model for dimension(s) {missing}",
            "parity.toml [judge] fitted",
            "refit on labels that score every rubric dimension, or remove the dimension",
        )


class FittedReferenceJudge:
    thread_safe = False  # one embedder

    def __init__(self, rubric: RubricSpec, embedder: Embedder, params: FittedParams):
        missing_dimensions(rubric, params)
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
        verdict = Verdict.WIN if value >= self.params.verdict.win else Verdict.TIE if value >= self.params.verdict.tie else Verdict.LOSS
        notes = {d: _strongest(self.params.dimensions[d], named) for d in self.weights}
        notes["pairwise"] = (
            f"{verdict}: verdict value {value:.3f} (tie ≥ {self.params.verdict.tie:.3f}, win ≥ {self.params.verdict.win:.3f}); {_strongest(self.params.verdict, named)}"
        )
        return scored(case.id, scores, self.weights, verdict, notes, JudgeRecord(features={k: round(v, 4) for k, v in named.items()}))


def _strongest(model: Trees, named: dict[str, float]) -> str:
    """The two features this model leans on most, with this answer's values, so a score can be traced."""
    top = sorted(model.importance, key=lambda f: -model.importance[f])[:2]
    return "mostly " + ", ".join(f"{f} = {named[f]:.2f}" for f in top)


def save_params(params: FittedParams, path: Path) -> None:
    atomic_write_text(path, json.dumps(params.model_dump()) + "\n")

"""`parity analyze critic`: can a learned critic stand in for the judge? A ridge regression from
the answer's MiniLM embedding to one judge dimension, over every judged answer on the ruler,
evaluated twice: on held-out answers to tasks it has seen (plain K-fold) and on tasks it has
never seen (folds grouped by case)."""

from __future__ import annotations

import numpy as np

from parity.analysis.record import Analysis, new_figure
from parity.analysis.stored import answer_text, check_dimension
from parity.errors import ParityError
from parity.models.embedder import get_embedder, workspace_cache
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace


def _correlations(actual: np.ndarray, predicted: np.ndarray) -> tuple[float | None, float | None]:
    from scipy.stats import pearsonr, spearmanr

    if np.std(actual) == 0 or np.std(predicted) == 0:
        return None, None
    return float(pearsonr(actual, predicted)[0]), float(spearmanr(actual, predicted)[0])


def critic(ws: Workspace, ruler: Ruler, store: Store, dimension: str, folds: int = 5, seed: int = 0) -> Analysis:
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GroupKFold, KFold, cross_val_predict

    check_dimension(ws, dimension)
    rows = [r for r in store.scored_case_rows(ruler.fingerprint) if r.answer is not None and dimension in (r.scores or {})]
    groups = np.array([r.case_id for r in rows])
    k = min(folds, len(set(groups)))
    if len(rows) < 4 or k < 2:
        raise ParityError(
            f"{len(rows)} judged answers over {len(set(groups))} cases: too few to train and test a critic",
            "parity analyze critic",
            "run more experiments first",
        )
    texts = [answer_text(r.answer) for r in rows if r.answer is not None]  # every row has an answer; the check types it
    x = get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir)).encode(texts)
    y = np.array([r.scores[dimension] for r in rows], dtype=float)
    model = RidgeCV(alphas=np.logspace(-2, 3, 12))
    seen = cross_val_predict(model, x, y, cv=KFold(n_splits=k, shuffle=True, random_state=seed))
    unseen = cross_val_predict(model, x, y, cv=GroupKFold(n_splits=k), groups=groups)
    table, fmt = [], lambda v: None if v is None else round(v, 3)
    for name, predicted in (("seen tasks (K-fold over answers)", seen), ("unseen tasks (folds grouped by case)", unseen)):
        pearson, spearman = _correlations(y, predicted)
        table.append([name, fmt(pearson), fmt(spearman), round(float(np.mean(np.abs(predicted - y))), 3)])
    findings = [
        f"{name}: Pearson r {r if r is not None else '–'}, Spearman ρ {rho if rho is not None else '–'}, mean absolute error {mae}"
        for name, r, rho, mae in table
    ]
    findings.append(f"{len(rows)} judged answers over {len(set(groups))} cases, {k} folds; the judge's {dimension} has SD {np.std(y):.3f}")
    return Analysis(
        "critic",
        ruler.fingerprint,
        {"dimension": dimension, "answers": len(rows), "cases": len(set(groups)), "folds": k},
        ["evaluation", "Pearson r", "Spearman ρ", "mean absolute error"],
        table,
        findings,
        _plot(y, seen, unseen, dimension),
    )


def _plot(actual: np.ndarray, seen: np.ndarray, unseen: np.ndarray, dimension: str):
    figure = new_figure(8.0, 4.0)
    for ax, predicted, title in zip(figure.subplots(1, 2, sharey=True), (seen, unseen), ("seen tasks", "unseen tasks")):
        ax.scatter(actual, predicted, s=14, alpha=0.7, color="#4575b4")
        low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
        ax.plot([low, high], [low, high], linestyle=":", color="#888")
        ax.set_xlabel(f"judge's {dimension}")
        ax.set_title(title)
    figure.axes[0].set_ylabel(f"critic's {dimension}")
    return figure

"""`parity analyze factors`: are the rubric's dimensions one judgment in five names? Correlations
of the dimensions over every scored judgment on the ruler, and the first principal factor of
their correlation matrix: its share of the variance and each dimension's loading."""

from __future__ import annotations

import numpy as np

from parity.analysis.record import Analysis, new_figure
from parity.errors import ParityError
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace


def judgment_matrix(store: Store, fingerprint: str, dimensions: list[str]) -> np.ndarray:
    """One row per scored judgment of a real answer (failed answers score the floor everywhere and would inflate agreement)."""
    rows = [r for r in store.scored_case_rows(fingerprint) if not r.agent_failed]
    return np.array([[r.scores[d] for d in dimensions] for r in rows if all(d in (r.scores or {}) for d in dimensions)], dtype=float)


def factors(ws: Workspace, ruler: Ruler, store: Store) -> Analysis:
    names = list(ws.config.rubric.dimensions)
    matrix = judgment_matrix(store, ruler.fingerprint, names)
    if len(matrix) < 3:
        raise ParityError(
            f"only {len(matrix)} scored judgments on this ruler",
            "parity analyze factors",
            "run experiments first (three judged answers at least)",
        )
    moving = [i for i in range(len(names)) if np.std(matrix[:, i]) > 0]
    constant = [names[i] for i in range(len(names)) if i not in moving]
    if len(moving) < 2:
        raise ParityError(
            "fewer than two dimensions vary over the judgments", "parity analyze factors", "run experiments with different agents first"
        )
    kept = [names[i] for i in moving]
    corr = np.corrcoef(matrix[:, moving], rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(corr)  # ascending
    first, vector = eigenvalues[-1], eigenvectors[:, -1]
    vector = vector if vector.sum() >= 0 else -vector
    loadings = vector * np.sqrt(first)
    explained = float(first / eigenvalues.sum())
    rows = [[name, round(float(loadings[i]), 3), *[round(float(corr[i, j]), 3) for j in range(len(kept))]] for i, name in enumerate(kept)]
    findings = [f"the first factor explains {explained:.0%} of the variance of {len(kept)} dimensions over {len(matrix)} judgments"]
    strongest = max(range(len(kept)), key=lambda i: abs(loadings[i]))
    weakest = min(range(len(kept)), key=lambda i: abs(loadings[i]))
    findings.append(f"largest loading {kept[strongest]} ({loadings[strongest]:.2f}), smallest {kept[weakest]} ({loadings[weakest]:.2f})")
    if constant:
        findings.append(f"left out, constant over every judgment: {', '.join(constant)}")
    return Analysis(
        "factors",
        ruler.fingerprint,
        {"judgments": len(matrix), "variance_explained": explained},
        ["dimension", "loading (factor 1)", *kept],
        rows,
        findings,
        _plot(corr, kept, loadings, explained),
    )


def _plot(corr: np.ndarray, names: list[str], loadings: np.ndarray, explained: float):
    figure = new_figure(8.0, 4.2)
    left, right = figure.subplots(1, 2, width_ratios=[1.3, 1])
    image = left.imshow(corr, vmin=-1, vmax=1, cmap="RdBu_r")
    left.set_xticks(range(len(names)), names, rotation=35, ha="right")
    left.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            left.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=8)
    figure.colorbar(image, ax=left, shrink=0.8)
    left.set_title("correlation of dimensions")
    right.barh(names, loadings, color="#4575b4")
    right.set_xlim(min(0.0, float(loadings.min())) - 0.05, 1.05)
    right.set_title(f"loadings on factor 1\n({explained:.0%} of the variance)")
    return figure

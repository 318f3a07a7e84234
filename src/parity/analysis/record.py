"""What every `parity analyze` command ends with: a table, findings computed from it, and a plot
(PNG and SVG) saved in the store, with copies under .parity/analyses/ for the user to open."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from parity.io import atomic_write_bytes
from parity.store import AnalysisRow, Store


@dataclass
class Analysis:
    kind: str
    ruler_fingerprint: str
    params: dict[str, Any]
    columns: list[str]
    rows: list[list[Any]]
    findings: list[str] = field(default_factory=list)
    figure: Any = None  # a matplotlib Figure


def new_figure(width: float = 7.0, height: float = 4.2):
    """A figure on the Agg backend: no display is ever needed."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _render(figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=110)
    return buffer.getvalue()


def save(store: Store, analysis: Analysis, folder: Path) -> tuple[int, Path, Path]:
    """Store the analysis, each field its own column and the figure rendered; returns its id and the PNG and
    SVG files written beside the store."""
    png, svg = _render(analysis.figure, "png"), _render(analysis.figure, "svg").decode("utf-8")
    stored = {f.name: getattr(analysis, f.name) for f in fields(analysis) if f.name != "figure"}
    analysis_id = store.save_analysis(AnalysisRow(**stored, png=png, svg=svg))
    stem = folder / f"{analysis_id}-{analysis.kind}"
    atomic_write_bytes(stem.with_suffix(".png"), png)
    atomic_write_bytes(stem.with_suffix(".svg"), svg.encode("utf-8"))
    return analysis_id, stem.with_suffix(".png"), stem.with_suffix(".svg")

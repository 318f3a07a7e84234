"""The dashboard's pages as HTML strings, shared by the live server and the static export.

Pages have flat names (index.html, experiment-3.html, compare-3-1.html, training.html) and link
to each other relatively, so the same HTML works served and opened from disk."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from parity.errors import ParityError
from parity.present.numbers import analysis_cell, fmt, signed, usd
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace
from parity.web import views


def script_json(value: object) -> str:
    """JSON safe inside an HTML <script>: no "</script>", no "<!--" (which would switch the HTML
    parser into a state where the script never ends), no raw "&", and no U+2028/U+2029."""
    text = json.dumps(value)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=PackageLoader("parity.web", "templates"), autoescape=select_autoescape(["html"]))
    env.globals.update(fmt=fmt, signed=signed, usd=usd, analysis_cell=analysis_cell)  # numbers as the CLI and the report show them
    return env


def plotly_js() -> Path:
    """Plotly's bundle from the installed package: the dashboard never reaches a CDN."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise ParityError(
            "plotly's JavaScript bundle is missing", "the plotly package", "reinstall it: pip install --force-reinstall plotly"
        )
    return path


def ruler_or_none(ws: Workspace) -> Ruler | None:
    """The ruler, for case inputs and golds; after the ruler changed, pages still show what was stored."""
    from parity.ruler import load_ruler

    try:
        return load_ruler(ws)
    except ParityError:
        return None


def _render(ws: Workspace, template: str, **context: Any) -> str:
    html = _env().get_template(template).render(workspace=ws.root.name, **context)
    # A lone surrogate in stored text (a model's raw output in a trace) cannot be sent as UTF-8: shown as its escape.
    return html.encode("utf-8", "backslashreplace").decode("utf-8")


def all_overviews(ws: Workspace, store: Store) -> dict[str, dict[str, Any]]:
    """Every gate × metric view, embedded in the page so the selectors work without a server."""
    gates = views.gates_in(store.experiments()) or [ws.config.loop.decide_gate]
    metrics = ["quality", *ws.config.rubric.dimensions]
    return {gate: {metric: views.overview(ws, store, gate, metric) for metric in metrics} for gate in gates}


def overview_page(ws: Workspace, store: Store, live: bool) -> str:
    data = views.overview(ws, store)
    return _render(
        ws,
        "overview.html",
        data=data,
        live=live,
        all_json=script_json(all_overviews(ws, store)),
        colours_json=script_json({k: v for k, v in views.VERDICT_COLOURS.items() if k}),
        symbols_json=script_json(views.LEVER_SYMBOLS),
    )


def experiment_page(ws: Workspace, store: Store, ruler: Ruler | None, experiment_id: int) -> str:
    return _render(ws, "experiment.html", data=views.experiment_view(ws, store, ruler, experiment_id))


def compare_page(ws: Workspace, store: Store, ruler: Ruler | None, a: int, b: int) -> str:
    return _render(ws, "compare.html", data=views.compare_view(ws, store, ruler, a, b))


def training_page(ws: Workspace, store: Store) -> str:
    return _render(ws, "training.html", data=views.training_view(store))


def analyses_page(ws: Workspace, store: Store) -> str:
    return _render(ws, "analyses.html", data=views.analyses_view(store))

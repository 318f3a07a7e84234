"""`parity analyze ceiling`: is the wall the model or the harness? Other models run through the
identical harness (the base agent's prompt, schema and decoding; the same judge and gate) as
reference runs, beside the bundled model's best agent on that gate."""

from __future__ import annotations

from typing import Any

import numpy as np

from parity.agent import build_agent, load_agent
from parity.agent.config import AgentConfig
from parity.analysis.record import Analysis, new_figure
from parity.errors import ParityError
from parity.experiment import REFERENCE_METHOD, ExperimentSummary, run_experiment
from parity.judge import Judge
from parity.loop.rules import keep
from parity.models import parse_spec
from parity.ruler import Ruler
from parity.store import ExperimentRow, Store
from parity.task import Workspace


def ceiling(ws: Workspace, ruler: Ruler, store: Store, judge: Judge, specs: list[str], gate: str, on_case=None, on_start=None) -> Analysis:
    if not specs:
        raise ParityError(
            "no candidate model", "--candidate", "pass one or more model specs, e.g. --candidate openai:gpt-4o-mini@https://…"
        )
    base = store.running_best(ruler.fingerprint, gate)
    base_name = ws.config.loop.base_agent
    base_agent = load_agent(ws, base_name)
    harness = base_agent.config.model_dump()
    runs: list[ExperimentRow] = []
    for spec in specs:
        config = AgentConfig.model_validate({**harness, "model": spec, "adapter": None, "name": f"ceiling {spec}"})
        agent = build_agent(ws, config, parse_spec(config.model, "--candidate"), base_agent.source, use_cache=True)
        if on_start:
            on_start(spec)
        outcome = run_experiment(
            ws, ruler, agent, judge, store, gate, f"ceiling: {spec} through the {base_name} harness", keep, on_case, method=REFERENCE_METHOD
        )
        runs.append(store.require_experiment(outcome.experiment_id))
    shown = ([base] if base is not None else []) + runs
    dimensions = list(ws.config.rubric.dimensions)
    rows: list[list[Any]] = []  # table rows: label, id, quality, CI, dimensions, win/tie/loss
    for row in shown:
        summary = ExperimentSummary.of(row)
        wtl = summary.wtl
        label = f"best agent: {row.agent_name}" if row is base else (row.agent_config or {}).get("model")
        rows.append(
            [
                label,
                row.id,
                row.quality,
                row.ci_low,
                row.ci_high,
                *[summary.dimensions.get(d) for d in dimensions],
                f"{wtl.get('win', 0)}/{wtl.get('tie', 0)}/{wtl.get('loss', 0)}",
            ]
        )
    findings = [f"{r[0]}: quality {r[2]:.3f} [{r[3]:.3f}, {r[4]:.3f}]" for r in rows if r[2] is not None]
    if base is not None and base.quality is not None:
        above = [r[0] for r in rows[1:] if r[3] is not None and r[3] > base.quality]
        findings.append(
            f"candidates whose whole CI lies above the best agent's {base.quality:.3f}: {', '.join(above) if above else 'none'}"
        )
    return Analysis(
        "ceiling",
        ruler.fingerprint,
        {"candidates": specs, "gate": gate, "best_agent_experiment": base.id if base else None},
        ["model", "experiment", "quality", "CI low", "CI high", *dimensions, "W/T/L vs gold"],
        rows,
        findings,
        _plot(rows),
    )


def _plot(rows: list[list]):
    figure = new_figure()
    ax = figure.add_subplot()
    qualities = np.array([r[2] or 0.0 for r in rows])
    low = qualities - np.array([r[3] if r[3] is not None else q for r, q in zip(rows, qualities)])
    high = np.array([r[4] if r[4] is not None else q for r, q in zip(rows, qualities)]) - qualities
    colours = ["#1a9850" if str(r[0]).startswith("best agent") else "#4575b4" for r in rows]
    ax.bar(range(len(rows)), qualities, yerr=[low, high], color=colours, capsize=4)
    ax.set_xticks(range(len(rows)), [str(r[0])[-40:] for r in rows], rotation=20, ha="right")
    ax.set_ylabel("quality [95% CI]")
    ax.set_title("Models through the identical harness")
    return figure

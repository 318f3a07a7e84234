"""`parity analyze …`: controlled analyses, each saving a table, findings and a plot (PNG + SVG) in
the store, shown on the dashboard's Analyses page and by `parity report`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from parity.cli_common import WorkspaceOpt, console, find_workspace, progress_bar

analyze_app = typer.Typer(no_args_is_help=True, help="Analyses that tell a real gap from judge noise.")

Experiments = Annotated[list[int], typer.Argument(help="Experiment ids.")]
Dimension = Annotated[str, typer.Option("--dimension", help="A rubric dimension.")]


def _context(workspace):
    from parity.ruler import load_ruler
    from parity.store import Store

    ws = find_workspace(workspace)
    return ws, load_ruler(ws), Store.for_workspace(ws)


def _finish(ws, store, analysis) -> None:
    from parity.analysis.record import save

    analysis_id, png, svg = save(store, analysis, ws.state_dir / "analyses")
    table = Table(title=f"analysis #{analysis_id}: {analysis.kind}")
    for column in analysis.columns:
        table.add_column(str(column), overflow="fold")
    for row in analysis.rows:
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else ("–" if v is None else str(v)) for v in row])
    console.print(table)
    for finding in analysis.findings:
        console.print(f"- {finding}")
    console.print(f"plot: {ws.shown(png)}  {ws.shown(svg)}")


@analyze_app.command("blind")
def blind(experiments: Experiments, dimension: Dimension = "coverage", workspace: WorkspaceOpt = None) -> None:
    """Re-judge stored answers with one dimension removed, beside a full-rubric control."""
    from parity.analysis.blind import blind as run

    ws, ruler, store = _context(workspace)
    with progress_bar("re-judging, full and blind") as (progress, bar):
        progress.update(bar, total=sum(len(store.case_rows(e)) for e in experiments))
        analysis = run(ws, ruler, store, experiments, dimension, lambda: progress.advance(bar))
    _finish(ws, store, analysis)


@analyze_app.command("factors")
def factors(workspace: WorkspaceOpt = None) -> None:
    """Correlations of the rubric's dimensions over every judgment, and their first principal factor."""
    from parity.analysis.factors import factors as run

    ws, ruler, store = _context(workspace)
    _finish(ws, store, run(ws, ruler, store))


@analyze_app.command("noise")
def noise(
    experiment: Annotated[int, typer.Argument(help="Experiment whose identical answers are re-judged.")],
    times: Annotated[int, typer.Option("--times", help="How many re-judgments.")] = 5,
    workspace: WorkspaceOpt = None,
) -> None:
    """Re-judge identical answers K times; flag kept experiments whose gain is within that noise."""
    from parity.analysis.noise import noise_analysis
    from parity.judge import make_judge

    ws, ruler, store = _context(workspace)
    with progress_bar("re-judging") as (progress, bar):
        progress.update(bar, total=len(store.case_rows(experiment)) * times)
        analysis = noise_analysis(ws, ruler, store, make_judge(ws), experiment, times, lambda: progress.advance(bar))
    _finish(ws, store, analysis)


@analyze_app.command("ceiling")
def ceiling(
    candidate: Annotated[list[str], typer.Option("--candidate", help="A model spec to run through the identical harness (repeatable).")],
    gate: Annotated[str | None, typer.Option("--gate", help="Gate (default: the loop's decide gate).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Other models through the identical harness (prompt, schema, judge, gate), beside the best agent."""
    from parity.analysis.ceiling import ceiling as run
    from parity.judge import make_judge

    ws, ruler, store = _context(workspace)
    gate = gate or ws.config.loop.decide_gate
    with progress_bar("candidates") as (progress, bar):
        progress.update(bar, total=len(ruler.gate(gate)) * len(candidate))
        analysis = run(
            ws,
            ruler,
            store,
            make_judge(ws),
            candidate,
            gate,
            lambda case: progress.advance(bar),
            on_start=lambda spec: progress.update(bar, description=f"candidate {spec}"),
        )
    _finish(ws, store, analysis)


@analyze_app.command("probe")
def probe(experiments: Experiments, workspace: WorkspaceOpt = None) -> None:
    """Tell teacher answers from the model's by style features only and by content embeddings only (cross-validated AUCs)."""
    from parity.analysis.probe import probe as run

    ws, ruler, store = _context(workspace)
    _finish(ws, store, run(ws, ruler, store, experiments))


@analyze_app.command("critic")
def critic(dimension: Dimension = "coverage", workspace: WorkspaceOpt = None) -> None:
    """Train a critic to predict a judge dimension from the answer; correlations on seen vs unseen tasks."""
    from parity.analysis.critic import critic as run

    ws, ruler, store = _context(workspace)
    _finish(ws, store, run(ws, ruler, store, dimension))

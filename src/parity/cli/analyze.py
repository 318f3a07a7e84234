"""`parity analyze …`: controlled analyses, each saving a table, findings and a plot (PNG + SVG) in
the store, shown on the dashboard's Analyses page and by `parity report`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from parity.cli.common import ID, WorkspaceOpt, console, find_workspace, print_json, progress_bar

if TYPE_CHECKING:
    from parity.analysis.record import Analysis
    from parity.ruler import Ruler
    from parity.store import Store
    from parity.task import Workspace

analyze_app = typer.Typer(no_args_is_help=True, help="Analyses that tell a real gap from judge noise.")

Experiments = Annotated[list[int], typer.Argument(help="Experiment ids.", **ID)]
Dimension = Annotated[str, typer.Option("--dimension", help="A rubric dimension.")]
NoiseOf = Annotated[int, typer.Argument(help="Experiment whose identical answers are re-judged.", **ID)]
Times = Annotated[int, typer.Option("--times", help="How many re-judgments (distinct repeat indices).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Candidates = Annotated[list[str], typer.Option("--candidate", help="A model spec to run through the identical harness (repeatable).")]
Gate = Annotated[str | None, typer.Option("--gate", help="Gate (default: the loop's decide gate).")]


def _context(workspace: Path | None) -> tuple[Workspace, Ruler, Store]:
    from parity.ruler import load_ruler
    from parity.store import Store

    ws = find_workspace(workspace)
    return ws, load_ruler(ws), Store.for_workspace(ws)


def _save(ws: Workspace, store: Store, analysis: Analysis) -> tuple[int, Path, Path]:
    from parity.analysis.record import save

    return save(store, analysis, ws.state_dir / "analyses")


def _finish(ws: Workspace, store: Store, analysis: Analysis, columns: int | None = None) -> None:
    """Save the analysis, then print its table (its first `columns` columns), its findings and where its plot is."""
    from parity.present.terminal import analysis_table

    analysis_id, png, svg = _save(ws, store, analysis)
    console.print(analysis_table(analysis, analysis_id, columns))
    if columns is not None and len(analysis.columns) > columns:
        console.print(f"(the other {len(analysis.columns) - columns} columns are in `parity report` and on the dashboard's Analyses page)")
    for finding in analysis.findings:
        console.print(f"- {finding}")
    console.print(f"plot: {ws.shown(png)}  {ws.shown(svg)}")


@analyze_app.command("blind")
def blind(experiments: Experiments, dimension: Dimension = "coverage", workspace: WorkspaceOpt = None) -> None:
    """Re-judge stored answers with one dimension removed, beside a full-rubric control."""
    from parity.analysis.blind import blind as run

    ws, ruler, store = _context(workspace)
    with progress_bar("re-judging, full and blind", sum(len(store.case_rows(e)) for e in experiments)) as bar:
        analysis = run(ws, ruler, store, experiments, dimension, bar.step)
    _finish(ws, store, analysis)


@analyze_app.command("factors")
def factors(workspace: WorkspaceOpt = None) -> None:
    """Correlations of the rubric's dimensions over every judgment, and their first principal factor."""
    from parity.analysis.factors import factors as run

    ws, ruler, store = _context(workspace)
    _finish(ws, store, run(ws, ruler, store))


@analyze_app.command("noise")
def noise(experiment: NoiseOf, times: Times = 5, as_json: AsJson = False, workspace: WorkspaceOpt = None) -> None:
    """Measure judge noise: re-judge identical answers K times (the experiment keeps the estimate), and flag kept experiments whose gain is within it."""
    from parity.analysis.noise import noise_analysis
    from parity.judge import make_judge
    from parity.present.judging import noise_table

    ws, ruler, store = _context(workspace)
    with progress_bar("re-judging", len(store.case_rows(experiment)) * times) as bar:
        report, analysis = noise_analysis(ws, ruler, store, make_judge(ws), experiment, times, bar.step)
    if as_json:
        analysis_id, _, _ = _save(ws, store, analysis)
        print_json({**report.to_dict(), "analysis_id": analysis_id, "findings": analysis.findings})
        return
    console.print(noise_table(report))
    _finish(ws, store, analysis)


@analyze_app.command("ceiling")
def ceiling(candidate: Candidates, gate: Gate = None, workspace: WorkspaceOpt = None) -> None:
    """Other models through the identical harness (prompt, schema, judge, gate), beside the best agent."""
    from parity.analysis.ceiling import ceiling as run
    from parity.judge import make_judge
    from parity.models.spec import parse_spec

    for spec in candidate:  # a bad spec is refused before the store is opened
        parse_spec(spec, "--candidate")
    ws, ruler, store = _context(workspace)
    gate = gate or ws.config.loop.decide_gate
    with progress_bar("candidates", len(ruler.gate(gate)) * len(candidate)) as bar:
        analysis = run(ws, ruler, store, make_judge(ws), candidate, gate, bar.step, on_start=lambda spec: bar.describe(f"candidate {spec}"))
    _finish(ws, store, analysis)


AdapterName = Annotated[str, typer.Argument(help="A trained adapter.")]
ServingAgent = Annotated[str | None, typer.Option("--agent", help="Agent the adapter serves (default: the loop's base agent).")]
ServingQuants = Annotated[str, typer.Option("--quant", help="GGUF ladder rungs to serve, comma-separated.")]
Endpoints = Annotated[
    list[str], typer.Option("--endpoint", help="A served model to add, e.g. openai:NAME@http://127.0.0.1:8080/v1 (repeatable).")
]


TERMINAL_COLUMNS = 13  # serving: through "prompt as trained"; the per-dimension and per-category Δ follow


@analyze_app.command("serving")
def serving(
    name: AdapterName,
    agent: ServingAgent = None,
    quant: ServingQuants = "f16,q8_0,q6_k,q5_k_m,q4_k_m",
    endpoint: Endpoints = [],  # noqa: B006 (typer reads the default)
    gate: Gate = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """The adapter through every serving variant (on base, merged, each GGUF quant, GGUF LoRA, endpoints) on the identical ruler."""
    from parity.analysis.serving import serving as run
    from parity.analysis.serving import serving_harness, variants
    from parity.judge import make_judge

    ws, ruler, store = _context(workspace)
    gate = gate or ws.config.loop.decide_gate
    agent_name = agent or ws.config.loop.base_agent
    quants = [q.strip() for q in quant.split(",") if q.strip()]
    serving_harness(ws, agent_name)  # a missing or Python agent is refused before anything is exported
    with console.status("exporting") as status:
        found = variants(ws, store, name, quants, endpoint, lambda text: status.update(text))
    with progress_bar("variants", len(ruler.gate(gate)) * len(found)) as bar:
        analysis = run(
            ws, ruler, store, make_judge(ws), name, agent_name, found, gate, bar.step, on_start=lambda label: bar.describe(label)
        )
    _finish(ws, store, analysis, TERMINAL_COLUMNS)


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

"""`parity show` and `parity compare`: what the store recorded, listed, one experiment at a time, or
two side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.cli.common import ID, AsJson, WorkspaceOpt, console, find_workspace, print_json

ExperimentId = Annotated[int | None, typer.Argument(help="Experiment id; omit to list all.", **ID)]
Pipeline = Annotated[Path | None, typer.Option("--pipeline", help="Write the experiment's pipeline diagram (SVG) to this file.")]


def show(experiment_id: ExperimentId = None, as_json: AsJson = False, pipeline: Pipeline = None, workspace: WorkspaceOpt = None) -> None:
    """List experiments, or show one."""
    from parity.experiment import experiment_json
    from parity.present.experiments import adapter_line, experiments_table, summary_tables, training_request_line
    from parity.store import Store

    ws = find_workspace(workspace)
    store = Store.for_workspace(ws)
    if experiment_id is None:
        rows = store.experiments()
        if as_json:
            print_json([experiment_json(r) for r in rows])
            return
        console.print(experiments_table(rows))
        for line in [*map(training_request_line, store.training_requests()), *map(adapter_line, store.adapters())]:
            console.print(line)
        return
    row = store.require_experiment(experiment_id)
    if pipeline is not None:
        from parity.io import atomic_write_text

        atomic_write_text(pipeline, row.pipeline_svg or "")
        console.print(f"wrote the pipeline diagram of #{row.id} to {pipeline}")
    if as_json:
        print_json(experiment_json(row))
        return
    for table in summary_tables(row, row.decision or ""):
        console.print(table)


def compare(
    a: Annotated[int, typer.Argument(help="Experiment A.", **ID)],
    b: Annotated[int, typer.Argument(help="Experiment B.", **ID)],
    as_json: AsJson = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Paired comparison of two experiments on the same cases: A − B with a 95% CI and p-value."""
    from parity.analysis.compare import compare as run_compare
    from parity.present.experiments import comparison_table
    from parity.store import Store

    ws = find_workspace(workspace)
    result = run_compare(ws, Store.for_workspace(ws), a, b)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(comparison_table(result))

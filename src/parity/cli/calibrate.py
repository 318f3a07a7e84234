"""`parity calibrate`: how far to trust a judge — against frontier labels, against a second judge on
stored answers, or fitting reference judge v2 to the labels."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from parity.cli.common import ID, AsJson, WorkspaceOpt, console, find_workspace, print_json, progress_bar
from parity.errors import ParityError

if TYPE_CHECKING:
    from parity.task import Workspace

Labels = Annotated[
    Path | None, typer.Option("--labels", help="A frontier-labelled set (calibration/labels.jsonl): measure a judge against it.")
]
JudgeOpt = Annotated[str, typer.Option("--judge", help="Judge to calibrate: 'reference' or a model spec (default: the workspace's judge).")]
Against = Annotated[
    str | None,
    typer.Option("--against", help="Without --labels: a second judge ('reference' or a model spec) to compare with on stored answers."),
]
SplitOpt = Annotated[
    str,
    typer.Option(
        "--split",
        help="With --labels: heldout (tasks never used to fit a judge), fit, all, or ruler (the tasks that are this workspace's ruler cases).",
    ),
]
Baseline = Annotated[
    str | None,
    typer.Option(
        "--baseline",
        help="With --labels: a source (e.g. agent:baseline) every other source is paired against, under the judge and under the labels.",
    ),
]
Fit = Annotated[
    Path | None,
    typer.Option(
        "--fit",
        help="With --labels: fit reference judge v2 on the fitting tasks, write its parameters here, and check it on the held-out tasks.",
    ),
]
NoDetectors = Annotated[
    bool,
    typer.Option(
        "--no-detectors",
        help="With --labels: the bare judge against the raw labels, without the ruler's critical-failure detectors on either side.",
    ),
]
Experiments = Annotated[
    list[int] | None,
    typer.Option("--experiment", help="Without --labels: experiments whose answers are scored (default: all on this ruler).", **ID),
]
Limit = Annotated[int | None, typer.Option("--limit", help="Without --labels: score at most this many answers.")]


def calibrate(
    labels: Labels = None,
    judge: JudgeOpt = "",
    against: Against = None,
    split: SplitOpt = "heldout",
    baseline: Baseline = None,
    fit: Fit = None,
    no_detectors: NoDetectors = False,
    experiment: Experiments = None,
    limit: Limit = None,
    as_json: AsJson = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """How far to trust a judge: against frontier labels (--labels), or against a second judge on stored answers."""
    ws = find_workspace(workspace)
    if labels is not None and fit is not None:
        _fit(ws, labels, fit, as_json)
    elif labels is not None:
        _on_labels(ws, labels, judge or None, split, baseline, no_detectors, as_json)
    elif fit is not None:
        raise ParityError("--fit needs the labels to fit on", None, "pass --labels calibration/labels.jsonl")
    elif against is None:
        raise ParityError("say what to calibrate against", None, "pass --labels calibration/labels.jsonl, or --against reference|SPEC")
    else:
        _against(ws, judge or None, against, experiment, limit, as_json)


def _against(ws: Workspace, judge: str | None, against: str, experiments: list[int] | None, limit: int | None, as_json: bool) -> None:
    from parity.analysis.calibration import calibrate_judges
    from parity.present.judging import judges_table
    from parity.ruler import load_ruler
    from parity.store import Store

    ruler, store = load_ruler(ws), Store.for_workspace(ws)
    with progress_bar("judging twice") as bar:
        result = calibrate_judges(ws, ruler, store, judge, against, experiments, limit, bar.step)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(judges_table(result, judge or "workspace judge", against))


def _on_labels(ws: Workspace, path: Path, judge: str | None, split: str, baseline: str | None, no_detectors: bool, as_json: bool) -> None:
    from parity.analysis.calibration import agreement_on_labels
    from parity.present.judging import label_agreement_tables

    with progress_bar() as bar:
        result = agreement_on_labels(ws, path, judge, split, baseline, no_detectors, bar.phase, bar.step)
    if as_json:
        print_json(result.to_dict())
        return
    for table in label_agreement_tables(result, judge or ws.config.judge.kind):
        console.print(table)


def _fit(ws: Workspace, path: Path, out: Path, as_json: bool) -> None:
    from parity.analysis.fit_judge import fit_and_check
    from parity.present.judging import label_agreement_tables

    with progress_bar() as bar:
        fitted = fit_and_check(ws, path, out, bar.phase, bar.step)
    params = fitted.params
    if as_json:
        print_json(params.model_dump())
        return
    console.print(f"fitted reference judge v2 on {params.fit.n_items} answers over {params.fit.n_tasks} fitting tasks → {out}")
    if fitted.heldout is not None:
        for table in label_agreement_tables(fitted.heldout, "fitted v2"):
            console.print(table)
    console.print(f'Use it: set fitted = "{out}" under [judge] in parity.toml (relative to the workspace), then parity ruler lock')

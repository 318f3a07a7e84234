"""The `parity` command: parses arguments and calls the modules that do the work."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from parity.cli_common import WorkspaceOpt, budget_option, console
from parity.cli_common import find_workspace as _workspace
from parity.cli_common import progress_bar as _progress
from parity.errors import Interrupted, ParityError
from parity.task import CONFIG_NAME, load_workspace

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Specialize a small local model on one task and prove how close it got.")
ruler_app = typer.Typer(no_args_is_help=True, help="Check or re-lock the frozen ruler.")
app.add_typer(ruler_app, name="ruler")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create.")],
    example: Annotated[
        str, typer.Option("--example", help="Bundled example to start from: discovery (questions) or persona (free text).")
    ] = "discovery",
) -> None:
    """Write a workspace from a bundled example."""
    from parity.examples import write_example

    target = write_example(example, directory)
    console.print(f"Wrote the {example} workspace to {target}")
    console.print(f'Next: cd {directory} && parity run baseline --gate dev --hypothesis "stock model baseline"')


@app.command()
def run(
    agent: Annotated[str | None, typer.Argument(help="Agent name in agents/ (a .yaml or .py file), or a path to one.")] = None,
    gate: Annotated[str, typer.Option("--gate", help="Which gate to score on: dev (screening) or full (decision).")] = "dev",
    hypothesis: Annotated[str, typer.Option("--hypothesis", help="What this experiment tests, in one sentence.")] = "",
    method: Annotated[str | None, typer.Option("--method", help="How the hypothesis is tested, in free text (kept in the record).")] = None,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Screen on the dev gate; only if it beats the running best's dev score, run the full gate.")
    ] = False,
    resume: Annotated[
        int | None, typer.Option("--resume", help="Finish experiment ID: only its missing cases run, with the agent it recorded.")
    ] = None,
    budget_usd: Annotated[
        float | None,
        typer.Option(
            "--budget-usd", help="Refuse to start above this estimated cost, and stop before exceeding it.", callback=budget_option
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ask the model again instead of using cached answers.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Run an agent over a gate of the ruler, judge every answer, and record the experiment."""
    from parity.agent import load_agent
    from parity.experiment import missing_cases, resume_experiment
    from parity.judge import make_judge
    from parity.ruler import load_ruler
    from parity.store import Store

    if (agent is None) == (resume is None):
        raise ParityError(
            "name an agent, or --resume an experiment (not both)", None, "e.g. parity run baseline --gate dev, or parity run --resume 3"
        )
    ws = _workspace(workspace)
    ruler = load_ruler(ws)
    if resume is not None:
        store = Store.for_workspace(ws)
        total = len(missing_cases(store, ruler, resume))
        console.print(f"Resuming experiment #{resume}: {total} missing cases, ruler {ruler.fingerprint[:12]}")
        with _progress() as (progress, bar):
            progress.update(bar, total=total)
            outcome = resume_experiment(
                ws, ruler, make_judge(ws), store, resume, lambda case: progress.advance(bar), budget_usd, not no_cache
            )
        _print_summary(store.experiment(outcome.experiment_id), outcome.decision)
        return
    assert agent is not None
    if confirm and (gate != "dev" or "dev" not in ruler.gates):
        raise ParityError(
            "--confirm screens on the 'dev' gate and decides on 'full'", CONFIG_NAME, "drop --gate, and declare a dev gate in [gates]"
        )
    loaded = load_agent(ws, agent, use_cache=not no_cache)
    ruler.gate(gate)  # an unknown gate fails here, before anything is written
    if not confirm:
        _run_gate(ws, ruler, loaded, gate, hypothesis, method, budget_usd)
        return
    from parity.loop.rules import screen as screen_rule

    store = Store.for_workspace(ws)
    best = store.screen_bar(ruler.fingerprint, "dev", "full")
    screen = _run_gate(ws, ruler, loaded, "dev", hypothesis, method, budget_usd)
    screened = screen_rule(screen.result.quality, best)
    if not screened.passes:
        console.print(f"screen: {screened.reason}; the full gate is not run")
        return
    console.print(f"screen: {screened.reason}; confirming on the full gate")
    _run_gate(ws, ruler, loaded, "full", hypothesis, method, budget_usd, screened_by=screen.experiment_id)


def _run_gate(ws, ruler, agent, gate: str, hypothesis: str, method: str | None, budget_usd: float | None, screened_by: int | None = None):
    from parity.experiment import check_budget, run_experiment
    from parity.judge import make_judge
    from parity.store import Store

    cases = ruler.gate(gate)
    note = check_budget(agent, cases, budget_usd)
    store = Store.for_workspace(ws)  # opened only after everything above validated: bad input writes nothing
    console.print(f"Agent {agent.name} ({agent.spec}) on gate {gate}: {len(cases)} cases, ruler {ruler.fingerprint[:12]}")
    if note:
        console.print(note)
    judge = make_judge(ws)
    with _progress() as (progress, bar):
        progress.update(bar, total=len(cases))
        outcome = run_experiment(
            ws, ruler, agent, judge, store, gate, hypothesis, lambda case: progress.advance(bar), budget_usd, method, screened_by
        )
    _print_summary(store.experiment(outcome.experiment_id), outcome.decision)
    return outcome


@app.command()
def show(
    experiment_id: Annotated[int | None, typer.Argument(help="Experiment id; omit to list all.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    pipeline: Annotated[Path | None, typer.Option("--pipeline", help="Write the experiment's pipeline diagram (SVG) to this file.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """List experiments, or show one."""
    from parity.experiment import experiment_row_summary
    from parity.store import Store

    ws = _workspace(workspace)
    store = Store.for_workspace(ws)
    if experiment_id is None:
        rows = store.experiments()
        requests = store.training_requests()
        if as_json:
            print(json.dumps([experiment_row_summary(r) for r in rows], indent=2))
        else:
            _print_list(rows)
            for t in requests:
                console.print(f"training request (loop trial {t.id}): {t.hypothesis} — {t.reason}")
            for a in store.adapters():
                # the newest point of each curve: loss for every recipe, reward/kl for RL, auc for GAD
                shown = "".join(
                    f", last {key} {a.curves[key][-1][1]:.3f}"
                    for key in ("loss", "reward", "kl", "rewards/margins", "auc")
                    if a.curves.get(key)
                )
                took = f", {a.train_s:.0f} s" if a.train_s else ""
                console.print(
                    f"adapter {a.name}: {a.recipe} on {a.base}, {a.status}, {a.summary.get('steps', 0) if a.summary else 0} steps{took}{shown}"
                )
        return
    row = store.experiment(experiment_id)
    if row is None:
        raise ParityError(f"no experiment #{experiment_id}", store.url, "list them with: parity show")
    if pipeline is not None:
        from parity.io import atomic_write_text

        atomic_write_text(pipeline, row.pipeline_svg or "")
        console.print(f"wrote the pipeline diagram of #{row.id} to {pipeline}")
    if as_json:
        print(json.dumps(experiment_row_summary(row), indent=2))
    else:
        _print_summary(row, row.decision or "")


@app.command()
def rejudge(
    experiment_id: Annotated[int, typer.Argument(help="Experiment whose stored answers are judged again.")],
    times: Annotated[int, typer.Option("--times", help="How many re-judgments (distinct repeat indices).")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Measure judge noise: re-judge identical answers K times; the experiment keeps the estimate."""
    from parity.analysis.noise import rejudge as run_rejudge
    from parity.judge import make_judge
    from parity.ruler import load_ruler
    from parity.store import Store

    ws = _workspace(workspace)
    ruler = load_ruler(ws)
    store = Store.for_workspace(ws)
    row = store.experiment(experiment_id)
    n = len(store.case_rows(experiment_id)) if row else 0
    with _progress("re-judging") as (progress, bar):
        progress.update(bar, total=n * times)
        report = run_rejudge(ws, ruler, store, make_judge(ws), experiment_id, times, lambda: progress.advance(bar))
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    table = _kv_table(f"judge noise on experiment #{experiment_id}: {times} re-judgments of identical answers")
    table.add_row("logged quality", _fmt(report.logged_quality))
    table.add_row("re-judged", ", ".join(_fmt(q) for q in report.qualities))
    table.add_row("SD of quality", _fmt(report.quality_sd, 4))
    table.add_row("mean per-case SD", _fmt(report.case_quality_sd, 4))
    for name, sd in report.dimensions_sd.items():
        table.add_row(f"  SD {name}", _fmt(sd, 4))
    table.add_row("unscored per run", ", ".join(map(str, report.unscored)))
    console.print(table)


@app.command()
def compare(
    a: Annotated[int, typer.Argument(help="Experiment A.")],
    b: Annotated[int, typer.Argument(help="Experiment B.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Paired comparison of two experiments on the same cases: A − B with a 95% CI and p-value."""
    from parity.analysis.compare import compare as run_compare
    from parity.store import Store

    ws = _workspace(workspace)
    result = run_compare(ws, Store.for_workspace(ws), a, b)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    table = _kv_table(f"#{a} vs #{b} over {result.n_paired} paired cases")
    table.add_row("quality A / B", f"{result.quality_a:.3f} / {result.quality_b:.3f}")
    table.add_row("A − B", f"{result.diff:+.3f}  (95% CI {result.ci_low:+.3f} – {result.ci_high:+.3f}, p = {result.p_value:.3f})")
    table.add_row("A better / worse / same", f"{len(result.wins)} / {len(result.regressions)} / {result.ties}")
    for label, rows in (("A better", result.wins[:5]), ("A worse", result.regressions[:5])):
        if rows:
            table.add_row(label, ", ".join(f"{r['case']} {r['delta']:+.2f}" for r in rows))
    console.print(table)


@app.command()
def calibrate(
    labels: Annotated[
        Path | None, typer.Option("--labels", help="A frontier-labelled set (calibration/labels.jsonl): measure a judge against it.")
    ] = None,
    judge: Annotated[
        str, typer.Option("--judge", help="Judge to calibrate: 'reference' or a model spec (default: the workspace's judge).")
    ] = "",
    against: Annotated[
        str | None,
        typer.Option("--against", help="Without --labels: a second judge ('reference' or a model spec) to compare with on stored answers."),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="With --labels: heldout (tasks never used to fit a judge), fit, all, or ruler (the tasks that are this workspace's ruler cases).",
        ),
    ] = "heldout",
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="With --labels: a source (e.g. agent:baseline) every other source is paired against, under the judge and under the labels.",
        ),
    ] = None,
    fit: Annotated[
        Path | None,
        typer.Option(
            "--fit",
            help="With --labels: fit reference judge v2 on the fitting tasks, write its parameters here, and check it on the held-out tasks.",
        ),
    ] = None,
    no_detectors: Annotated[
        bool,
        typer.Option(
            "--no-detectors",
            help="With --labels: the bare judge against the raw labels, without the ruler's critical-failure detectors on either side.",
        ),
    ] = False,
    experiment: Annotated[
        list[int] | None,
        typer.Option("--experiment", help="Without --labels: experiments whose answers are scored (default: all on this ruler)."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Without --labels: score at most this many answers.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """How far to trust a judge: against frontier labels (--labels), or against a second judge on stored answers."""
    from parity.judge import make_judge

    ws = _workspace(workspace)
    if labels is not None:
        if fit is not None:
            _fit_judge(ws, labels, fit, as_json)
            return
        _calibrate_labels(ws, labels, judge or None, split, as_json, baseline, no_detectors)
        return
    if fit is not None:
        raise ParityError("--fit needs the labels to fit on", None, "pass --labels calibration/labels.jsonl")
    if against is None:
        raise ParityError("say what to calibrate against", None, "pass --labels calibration/labels.jsonl, or --against reference|SPEC")
    from parity.analysis.calibration import calibrate as run_calibrate
    from parity.ruler import load_ruler
    from parity.store import Store

    ruler = load_ruler(ws)
    store = Store.for_workspace(ws)
    ids = experiment or [r.id for r in store.experiments() if r.ruler_fingerprint == ruler.fingerprint]
    if not ids:
        raise ParityError("no experiments with stored answers on this ruler", store.url, "run one first: parity run baseline")
    first, second = make_judge(ws, model_spec=judge or None), make_judge(ws, model_spec=against)
    with _progress("judging twice") as (progress, bar):
        result = run_calibrate(ws, ruler, store, first, second, ids, limit, lambda: progress.advance(bar))
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    table = _kv_table(f"{judge or 'workspace judge'} vs {against}: {result.n_both_scored} of {result.n_answers} answers scored by both")
    for name, rho in result.spearman.items():
        table.add_row(f"Spearman {name}", _fmt(rho) if rho is not None else "n/a (a judge gave one constant score)")
    table.add_row("Spearman quality", _fmt(result.quality_spearman))
    table.add_row("pairwise agreement", _fmt(result.pairwise_agreement))
    table.add_row("Cohen's kappa", _fmt(result.cohen_kappa))
    console.print(table)


def _fit_judge(ws, path: Path, out: Path, as_json: bool) -> None:
    """Fit v2 on the fitting tasks only, then measure it on the held-out tasks and keep that with it."""
    from parity.analysis.calibration import agree_with_labels, agreement_record
    from parity.judge import with_detectors
    from parity.judge.detectors import Detector, first_failure
    from parity.judge.fitted import FittedReferenceJudge, fit, save_params
    from parity.labels import Split, load_labels
    from parity.models.embedder import get_embedder

    label_set = load_labels(path, ws)
    embedder = get_embedder(ws.config.judge.embedder)
    items = label_set.where(Split.FIT)
    detectors = [Detector.from_spec(name, spec) for name, spec in ws.config.detectors.items()]
    failed = {i.item for i in items if first_failure(detectors, i.candidate) is not None}
    with _progress("fitting on the fitting tasks (features, then cross-validated trees)") as (progress, bar):
        progress.update(bar, total=len(items))
        params = fit(
            items,
            ws.config.rubric,
            embedder,
            str(path),
            label_set.fingerprint,
            free_text=ws.task.free_text,
            failed=failed,
            on_step=lambda: progress.advance(bar),
        )
    heldout = label_set.where(Split.HELDOUT)
    if heldout:
        judge = with_detectors(ws, FittedReferenceJudge(ws.config.rubric, embedder, params))  # measured as it will judge
        with _progress("checking on the held-out tasks") as (progress, bar):
            progress.update(bar, total=len(heldout))
            result = agree_with_labels(ws, judge, label_set, Split.HELDOUT, lambda: progress.advance(bar))
        params.agreement = agreement_record(result, len({i.case.id for i in heldout}))
    save_params(params, out)
    if as_json:
        print(json.dumps(params.model_dump(), indent=2))
        return
    console.print(f"fitted reference judge v2 on {params.fit.n_items} answers over {params.fit.n_tasks} fitting tasks → {out}")
    if heldout:
        from parity.present import label_agreement_tables

        for table in label_agreement_tables(result, "fitted v2"):
            console.print(table)
    console.print(f'Use it: set fitted = "{out}" under [judge] in parity.toml (relative to the workspace), then parity ruler lock')


def _calibrate_labels(
    ws, path: Path, judge_spec: str | None, split: str, as_json: bool, baseline: str | None, no_detectors: bool = False
) -> None:
    from parity.analysis.calibration import agree_with_labels
    from parity.judge import make_judge
    from parity.judge.detectors import DetectingJudge
    from parity.labels import Split, load_labels

    splits = {"heldout": Split.HELDOUT, "fit": Split.FIT, "all": None, "ruler": None}
    if split not in splits:
        raise ParityError(f"unknown split '{split}'", "--split", "use heldout, fit, all or ruler")
    label_set = load_labels(path, ws)
    if split == "ruler":
        from parity.ruler import load_cases

        label_set = label_set.on_tasks({case.id for case in load_cases(ws)})
    if baseline is not None and baseline not in {i.source for i in label_set.items}:
        raise ParityError(
            f"no source '{baseline}' in the label set", str(path), f"use one of: {', '.join(sorted({i.source for i in label_set.items}))}"
        )
    if not label_set.where(splits[split]):
        raise ParityError(f"no labelled answers in split '{split}'", str(path), "use --split all, or label held-out tasks")
    judge = make_judge(ws, model_spec=judge_spec)
    if no_detectors and isinstance(judge, DetectingJudge):
        judge = judge.inner
    with _progress("judging labelled answers") as (progress, bar):
        progress.update(bar, total=len(label_set.where(splits[split])))
        result = agree_with_labels(ws, judge, label_set, splits[split], lambda: progress.advance(bar), baseline)
    result.split = split
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    from parity.present import label_agreement_tables

    for table in label_agreement_tables(result, judge_spec or ws.config.judge.kind):
        console.print(table)


@ruler_app.command("verify")
def ruler_verify(workspace: WorkspaceOpt = None) -> None:
    """Check that the ruler still matches its LOCK."""
    from parity.ruler import load_ruler

    ws = _workspace(workspace)
    ruler = load_ruler(ws)
    console.print(
        f"ruler OK: {len(ruler.cases)} cases, gates {', '.join(f'{k}={len(v)}' for k, v in ruler.gates.items())}, fingerprint {ruler.fingerprint}"
    )


@ruler_app.command("lock")
def ruler_lock(workspace: WorkspaceOpt = None) -> None:
    """Fingerprint the ruler as it is now. A new fingerprint is a new ruler: old results are never compared with it."""
    from parity.ruler import build_ruler, read_lock, write_lock

    ws = _workspace(workspace)
    ruler = build_ruler(ws)
    previous = read_lock(ws) if ws.lock_path.exists() else None
    write_lock(ws, ruler)
    if previous and previous["fingerprint"] != ruler.fingerprint:
        console.print(
            f"re-locked: {previous['fingerprint'][:12]} → {ruler.fingerprint[:12]} (a new ruler; earlier results stay with the old one)"
        )
    else:
        console.print(f"locked: {ruler.fingerprint}")


@ruler_app.command("restore")
def ruler_restore(
    fingerprint: Annotated[
        str | None, typer.Option("--fingerprint", help="Which stored ruler (a prefix is enough); default: the one ruler/LOCK names.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Rewrite parity.toml, ruler/cases.jsonl and ruler/LOCK from the copy the store kept when the ruler was first used."""
    from parity.ruler import load_ruler, read_lock, restore_files
    from parity.store import RulerCopyRow, Store

    ws = _workspace(workspace)
    store = Store.for_workspace(ws)
    wanted = fingerprint
    if wanted is None:
        try:
            lock = read_lock(ws)
        except ParityError:
            lock = None
        wanted = lock["fingerprint"] if lock else None
    with store.session() as s:
        copies = list(s.query(RulerCopyRow).order_by(RulerCopyRow.created_at.desc()))
    match = [c for c in copies if wanted and c.fingerprint.startswith(wanted)] if wanted else copies[:1]
    if not match:
        raise ParityError(
            f"the store has no copy of ruler {wanted[:12] if wanted else ''}".strip(),
            store.url,
            "pass --fingerprint with one of: " + (", ".join(c.fingerprint[:12] for c in copies) or "none (run an experiment first)"),
        )
    changed = restore_files(ws, match[0].files)
    ruler = load_ruler(load_workspace(ws.root))
    console.print(f"restored ruler {ruler.fingerprint[:12]}: " + (", ".join(changed) + " rewritten" if changed else "nothing had changed"))


@app.command()
def loop(
    proposer: Annotated[str, typer.Option("--proposer", help="Where proposals come from: optuna, llm or grid.")] = "optuna",
    model: Annotated[str | None, typer.Option("--model", help="The LLM proposer's model spec (default: the bundled model).")] = None,
    max_experiments: Annotated[
        int | None, typer.Option("--max-experiments", help="Stop when this loop's log holds this many experiments.")
    ] = None,
    hours: Annotated[float | None, typer.Option("--hours", help="Stop starting new experiments after this many hours.")] = None,
    budget_usd: Annotated[
        float | None, typer.Option("--budget-usd", help="Stop once the loop's experiments have cost this much.", callback=budget_option)
    ] = None,
    allow_training: Annotated[
        bool, typer.Option("--allow-training", help="Train the adapters that weights proposals ask for, and evaluate them.")
    ] = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """The research loop: propose, screen on dev, confirm on full, keep only what beats the running best."""
    from parity.judge import make_judge
    from parity.loop.proposers import make_proposer
    from parity.loop.runner import LoopLimits, loop_name, run_loop
    from parity.ruler import load_ruler
    from parity.store import Store, store_url

    ws = _workspace(workspace)
    ruler = load_ruler(ws)
    if max_experiments is None and hours is None and budget_usd is None and proposer != "grid":
        raise ParityError("the loop needs a limit", "parity loop", "pass --max-experiments N, --hours H or --budget-usd X")
    name = loop_name(ruler, proposer)
    store = Store.for_workspace(ws)  # first: it creates .parity/, where the Optuna study's SQLite file lives
    chosen = make_proposer(ws, proposer, store_url(ws), name, model)
    limits = LoopLimits(max_experiments, hours, budget_usd, allow_training)
    console.print(
        f"loop {name}: proposer {proposer}, base agent {ws.config.loop.base_agent}, screen on {ws.config.loop.screen_gate}, decide on {ws.config.loop.decide_gate}"
    )
    finished = run_loop(ws, ruler, make_judge(ws), store, chosen, limits, lambda line: console.print(line))
    trials = store.trials(name)
    console.print(f"this worker finished {finished} trial(s); the log holds {len(trials)}")
    _print_trials(store, trials)


@app.command()
def program(
    out: Annotated[Path, typer.Option("--out", help="Where to write the instructions.")] = Path("program.md"),
    workspace: WorkspaceOpt = None,
) -> None:
    """Write program.md: how an external coding agent runs the loop by editing agents/ only."""
    from parity.io import atomic_write_text
    from parity.loop.program import program_text

    ws = _workspace(workspace)
    target = out if out.is_absolute() else ws.root / out
    atomic_write_text(target, program_text(ws))
    console.print(f"wrote {ws.shown(target)}")


def _print_trials(store, trials: list) -> None:
    table = Table(title="loop log")
    for column in ("trial", "lever", "patch", "screen", "decide", "verdict", "reason"):
        table.add_column(column, overflow="fold")
    for t in trials:
        screen = store.experiment(t.screen_experiment_id) if t.screen_experiment_id else None
        decide = store.experiment(t.decide_experiment_id) if t.decide_experiment_id else None
        table.add_row(
            str(t.id),
            t.lever,
            ", ".join(f"{k}={v}" for k, v in t.patch.items()),
            f"#{screen.id} {_fmt(screen.quality)}" if screen else "—",
            f"#{decide.id} {_fmt(decide.quality)}" if decide else "—",
            t.verdict or t.status,
            t.reason or "",
        )
    console.print(table)


def _kv_table(title: str) -> Table:
    """The two-column "name: value" table every summary uses."""
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    return table


def _fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _short(value: object, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_list(rows: list) -> None:
    table = Table(title="experiments")
    for column in ("id", "agent", "model", "gate", "quality [95% CI]", "parity", "verdict", "cost $", "hypothesis"):
        table.add_column(column, overflow="fold")
    for r in rows:
        ratio = r.quality / r.ceiling if r.quality is not None and r.ceiling else None
        table.add_row(
            str(r.id),
            r.agent_name,
            str((r.agent_config or {}).get("model")),
            r.gate,
            f"{_fmt(r.quality)} [{_fmt(r.ci_low, 2)}, {_fmt(r.ci_high, 2)}]",
            _fmt(ratio, 2),
            r.verdict or r.status,
            f"{r.cost_usd or 0:.4f}",
            r.hypothesis or "",
        )
    console.print(table)


def _print_summary(row, decision: str) -> None:
    summary = row.summary or {}
    table = _kv_table(f"experiment #{row.id}: {row.agent_name} on {row.gate}")
    ratio = row.quality / row.ceiling if row.quality is not None and row.ceiling else None
    wtl = summary.get("wtl", {})
    table.add_row("quality", f"{_fmt(row.quality)}  (95% CI {_fmt(row.ci_low)} – {_fmt(row.ci_high)})")
    if row.judge_noise:
        table.add_row("judge noise", f"SD {row.judge_noise['quality_sd']:.4f} over {row.judge_noise['times']} re-judgments")
    table.add_row("ceiling", f"{_fmt(row.ceiling)}  (gold_alt scored as a candidate)")
    table.add_row("parity", f"{_fmt(ratio, 2)}  (quality / ceiling)")
    table.add_row("vs gold W/T/L", f"{wtl.get('win', 0)}/{wtl.get('tie', 0)}/{wtl.get('loss', 0)}")
    if summary.get("judge_agreement"):
        table.add_row("judge", summary["judge_agreement"]["text"])
    if "position_consistency" in summary:
        table.add_row("position consistency", f"{summary['position_consistency']:.0%} of pairwise verdicts agree in both orders")
    reasons = ", ".join(f"{k} {v}" for k, v in summary.get("unscored_reasons", {}).items())
    table.add_row(
        "cases",
        f"{summary.get('n_cases', 0)} ({summary.get('n_unscored', 0)} unscored{': ' + reasons if reasons else ''}, {summary.get('n_failed', 0)} agent failures)",
    )
    table.add_row("model", f"{(row.agent_config or {}).get('model')}  cost ${row.cost_usd or 0:.4f}")
    for name, value in summary.get("dimensions", {}).items():
        table.add_row(f"  {name}", f"{value:.2f}")
    if summary.get("detectors"):  # the ruler declares critical-failure detectors
        found = summary.get("critical_failures", {})
        table.add_row(
            "critical failures",
            f"{sum(found.values())} of {summary.get('n_cases', 0)} cases"
            + (f"  ({', '.join(f'{k} {v}' for k, v in found.items())})" if found else ""),
        )
    table.add_row("verdict", f"{row.verdict or row.status}: {decision}")
    for leak in summary.get("leaks", [])[:5]:
        table.add_row(f"  leak {leak['case']}", " | ".join(leak["shared"]))
    if row.hypothesis:
        table.add_row("hypothesis", row.hypothesis)
    if row.method:
        table.add_row("method", row.method)
    diff = (row.config_diff or {}).get("changes")
    if diff is not None:
        shown = "; ".join(f"{k}: {_short(v[0])} → {_short(v[1])}" for k, v in diff.items()) or "identical config"
        table.add_row(f"vs #{row.config_diff['against']}", shown)
    if summary.get("completion_tokens") is not None:
        table.add_row("tokens", f"{summary.get('prompt_tokens', 0)} prompt + {summary['completion_tokens']} completion")
    if row.git_commit:
        table.add_row("git", row.git_commit)
    if row.wall_s is not None:
        table.add_row("wall time", f"{row.wall_s:.1f} s")
    table.add_row("ruler", row.ruler_fingerprint)
    console.print(table)
    _print_groups(summary)


def _print_groups(summary: dict) -> None:
    """Quality per category and per difficulty, when the cases declare more than one."""
    for group, label in (("categories", "category"), ("difficulties", "difficulty")):
        rows = summary.get(group, {})
        if len(rows) < 2:
            continue
        table = Table(title=f"by {label}")
        for column in (label, "quality", "n"):
            table.add_column(column, justify="left" if column == label else "right")
        for name, value in rows.items():
            table.add_row(name, f"{value['quality']:.3f}", str(value["n"]))
        console.print(table)


@app.command()
def export(
    name: Annotated[str | None, typer.Argument(help="Adapter to export (with --gguf).")] = None,
    gguf: Annotated[bool, typer.Option("--gguf", help="Merge the adapter into its base and write a GGUF file for llama.cpp.")] = False,
    quant: Annotated[str, typer.Option("--quant", help="GGUF weight type: f16 or q8_0.")] = "f16",
    out: Annotated[Path | None, typer.Option("--out", help="Output file (default .parity/exports/NAME-QUANT.gguf).")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the dashboard as static pages into this folder.")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Export an adapter as a merged GGUF (NAME --gguf), or the dashboard as static files (--html DIR)."""
    if html is not None:
        from parity.store import Store
        from parity.web.pages import ruler_or_none
        from parity.web.static import export_html

        ws = _workspace(workspace)
        written = export_html(ws, Store.for_workspace(ws), ruler_or_none(ws), html.resolve())
        console.print(f"wrote {written} pages to {html}; open {html / 'index.html'}")
        return
    from parity.cli_train import export_adapter

    if not gguf or name is None:
        raise ParityError(
            "nothing to export", "parity export", "use: parity export NAME --gguf [--quant f16|q8_0], or parity export --html DIR"
        )
    export_adapter(name, quant, out, workspace)


@app.command()
def dashboard(
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to bind; the default serves this machine only.")] = "127.0.0.1",
    workspace: WorkspaceOpt = None,
) -> None:
    """Serve the dashboard: experiments, the running best, each experiment's cases, comparisons, training."""
    from parity.store import Store
    from parity.web.app import LOOPBACK, serve

    ws = _workspace(workspace)
    store = Store.for_workspace(ws)
    console.print(f"parity dashboard for {ws.root.name}: http://{host}:{port}/  (Ctrl-C stops it)")
    if host not in LOOPBACK:
        print(
            f"warning: --host {host} serves every hypothesis, answer and gold in this store to anyone who can reach this machine on port {port}; the dashboard has no login",
            file=sys.stderr,
        )
    serve(ws, store, host, port)


@app.command()
def report(
    out: Annotated[Path | None, typer.Option("--out", help="Markdown file to write (default: print it).")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write the training record (Markdown) from the store: progression, tables, training, datasets, cost, findings."""
    from parity.io import atomic_write_text
    from parity.report import training_record
    from parity.store import Store

    ws = _workspace(workspace)
    text = training_record(ws, Store.for_workspace(ws))
    if out is None:
        print(text)
        return
    atomic_write_text(out, text)
    console.print(f"wrote {out}")


def _add_sub_apps() -> None:
    from parity.cli_analyze import analyze_app
    from parity.cli_train import pairs_app, train_app

    app.add_typer(train_app, name="train")
    app.add_typer(pairs_app, name="pairs")
    app.add_typer(analyze_app, name="analyze")


_add_sub_apps()


def _bundled(module: str, name: str) -> tuple[type, ...]:
    """typer 0.2x bundles its own copy of click: its usage errors and aborts are not click's classes."""
    try:
        return (getattr(__import__(module, fromlist=[name]), name),)
    except (ImportError, AttributeError):
        return ()


_USAGE_ERRORS = (click.exceptions.ClickException, *_bundled("typer._click.exceptions", "ClickException"))
_ABORTS = (click.exceptions.Abort, *_bundled("typer.exceptions", "Abort"))


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except ParityError as exc:
        print(f"error: {exc.line()}", file=sys.stderr)  # one line, never wrapped
        sys.exit(2)
    except _ABORTS:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Interrupted as exc:
        print(f"interrupted: {exc}", file=sys.stderr)
        sys.exit(130)
    except KeyboardInterrupt:
        print("interrupted; finished cases are recorded", file=sys.stderr)
        sys.exit(130)
    except _USAGE_ERRORS as exc:
        message = " ".join(str(exc.format_message()).split())  # one line, whatever click wrapped
        print(f"error: {message} — see parity --help", file=sys.stderr)
        sys.exit(2)
    except SQLAlchemyError as exc:
        print(
            f"error: the store failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}) — check the database, or report a bug",
            file=sys.stderr,
        )
        sys.exit(2)
    except Exception as exc:  # a bug: one line, and the whole traceback in a file for the report
        log = _crash_log(exc)
        first = (str(exc).splitlines() or [""])[0][:200]
        print(f"error: unexpected {type(exc).__name__}: {first} — this is a bug in parity; the full traceback is in {log}", file=sys.stderr)
        sys.exit(1)
    if code == 130:  # typer turns a Ctrl-C outside an experiment into this exit code, silently
        print("interrupted", file=sys.stderr)
    if isinstance(code, int) and code:
        sys.exit(code)


def _crash_log(exc: BaseException) -> str:
    import tempfile
    import traceback
    from datetime import datetime

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(tempfile.gettempdir()) / "parity-crashes"
    try:
        folder.mkdir(exist_ok=True)
        path = folder / f"crash-{stamp}-{os.getpid()}.txt"
        path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        return str(path)
    except OSError:
        return "(no log: the temporary folder is not writable)"


if __name__ == "__main__":
    main()

"""`parity gold` and `parity corpus synth`: the teacher model writes the ruler's missing gold (and, with --alt,
an independent gold_alt), and new corpus rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.cli.common import WorkspaceOpt, console, find_workspace
from parity.errors import ParityError
from parity.io import one_line

TeacherOpt = Annotated[str, typer.Option("--teacher", help="Model spec of the teacher, e.g. litellm:anthropic/claude-sonnet-4-5.")]
AltOpt = Annotated[
    str | None, typer.Option("--alt", help="Model spec that writes gold_alt independently (the same spec answers at another seed).")
]
BudgetOpt = Annotated[float | None, typer.Option("--budget-usd", min=0, help="Stop before the teacher's calls could cost more than this.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Ask the teacher again instead of reusing cached answers.")]


def gold(
    teacher: TeacherOpt, alt: AltOpt = None, budget_usd: BudgetOpt = None, no_cache: NoCacheOpt = False, workspace: WorkspaceOpt = None
) -> None:
    """Fill `gold` for ruler cases that have only an input, and with --alt `gold_alt`, each written as soon as
    it validates. Review the answers, then lock the ruler: parity ruler lock."""
    from parity.models.cost import Budget
    from parity.models.embedder import get_embedder, workspace_cache
    from parity.store import Store
    from parity.teach.gold import fill_gold
    from parity.teach.teacher import Teacher

    ws = find_workspace(workspace)
    budget = Budget(budget_usd)
    main = Teacher(ws, teacher, budget, not no_cache)
    second = None if alt is None else main if alt == teacher else Teacher(ws, alt, budget, not no_cache, option="--alt")
    embedder = get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir))

    def show(case_id: str, which: str, answer) -> None:
        console.print(f"{case_id} {which}:", markup=False, highlight=False)
        for line in answer.render().splitlines():  # the teacher's text, shown as data: no control character reaches the terminal
            console.print("  " + one_line(line), markup=False, highlight=False)

    report = fill_gold(ws, main, second, embedder, Store.for_workspace(ws), show)
    console.print(f"{len(report.written)} answers written to {ws.shown(ws.cases_path)}; cost ${budget.spent:.4f}")
    for case_id in report.flagged:
        console.print(f"flagged: the gold_alt of {case_id} nearly copies its gold even when asked again; rewrite it yourself")
    if report.failed:
        first, reason = next(iter(report.failed.items()))
        raise ParityError(
            f"{len(report.failed)} teacher answer(s) failed validation twice and were not written, e.g. {first}: {reason}",
            report.failed_at[0],
            "run parity gold again with another --teacher, or write those answers yourself",
        )
    if report.written:
        console.print("Review them, then lock the ruler: parity ruler lock")


corpus_app = typer.Typer(no_args_is_help=True, help="Grow the corpus with the teacher model.")

CountOpt = Annotated[int, typer.Option("--n", min=1, max=100_000, help="How many synthesized rows the corpus should hold.")]
SeedsOpt = Annotated[str | None, typer.Option("--seeds", help="JSONL of example inputs to write from (default: the corpus's inputs).")]
CategoriesOpt = Annotated[
    str | None, typer.Option("--categories", help="Comma-separated categories to balance over (default: the seeds').")
]


@corpus_app.command("synth")
def synth(
    teacher: TeacherOpt,
    n: CountOpt,
    seeds: SeedsOpt = None,
    categories: CategoriesOpt = None,
    budget_usd: BudgetOpt = None,
    no_cache: NoCacheOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """New corpus rows: inputs the teacher writes from seed examples, repeats and ruler look-alikes refused,
    each answered by the teacher and validated. Killed or stopped, the same command tops the corpus up."""
    from parity.cli.common import progress_bar
    from parity.models.cost import Budget
    from parity.models.embedder import get_embedder, workspace_cache
    from parity.store import Store
    from parity.teach.synth import SYNTH_PREFIX, SynthReport, ruler_inputs, seed_inputs, synthesize
    from parity.teach.teacher import BudgetStop, Teacher, budget_error, record

    ws = find_workspace(workspace)
    seed_texts, seed_categories = seed_inputs(ws, seeds)
    wanted = [c.strip() for c in categories.split(",") if c.strip()] if categories else seed_categories
    model = Teacher(ws, teacher, Budget(budget_usd), not no_cache)
    embedder = get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir))
    inputs = ruler_inputs(ws)
    report = SynthReport()
    try:
        with progress_bar(f"corpus synth: {n} rows", total=n) as bar:
            synthesize(ws, model, embedder, n, seed_texts, list(wanted) or [None], inputs, report, bar.step)
    except BudgetStop:
        raise budget_error(model.budget, "the rows written so far are kept", "parity corpus synth") from None
    finally:
        if report.written or report.failed:
            details = {"written": report.written, "failed": report.failed, "repeats": report.repeats, "ruler_repeats": report.ruler_repeats}
            record(Store.for_workspace(ws), ws.corpus_path, ws.shown(ws.corpus_path), "corpus-synth", [model], details)
    held = sum(1 for line in ws.corpus_path.read_text(encoding="utf-8").splitlines() if f'"id": "{SYNTH_PREFIX}' in line)
    console.print(
        f"{len(report.written)} rows written to {ws.shown(ws.corpus_path)} ({held} synthesized rows in all); "
        f"{report.repeats} inputs refused as repeats ({report.ruler_repeats} near a ruler input), "
        f"{len(report.failed)} answers refused by validation; cost ${model.budget.spent:.4f}"
    )


FileArg = Annotated[Path, typer.Argument(help="JSONL of logged teacher calls, or of input/answer rows.")]
FormatOpt = Annotated[str, typer.Option("--format", help="openai-chat (chat-completions calls) or jsonl (input, answer).")]


@corpus_app.command("import")
def import_(file: FileArg, fmt: FormatOpt = "openai-chat", workspace: WorkspaceOpt = None) -> None:
    """Logged teacher calls as corpus rows: validated against the task, repeats and ruler look-alikes refused."""
    from parity.models.embedder import get_embedder, workspace_cache
    from parity.teach.importing import FORMATS, import_rows
    from parity.teach.synth import ruler_inputs

    ws = find_workspace(workspace)
    if fmt not in FORMATS:
        raise ParityError(f"unknown format '{fmt}'", "--format", f"use one of: {', '.join(FORMATS)}")
    if not file.is_file():
        raise ParityError("file not found", str(file), "pass a JSONL file")
    embedder = get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir))
    report = import_rows(ws, file, str(file), fmt, embedder, ruler_inputs(ws))
    console.print(
        f"{len(report.written)} rows added to {ws.shown(ws.corpus_path)}; {report.repeats} refused as repeats "
        f"({report.ruler_repeats} near a ruler input); {len(report.skipped)} lines skipped",
        highlight=False,
    )
    if report.skipped:
        where, why = next(iter(report.skipped.items()))
        console.print(f"first skipped: {where}: {one_line(why)}", highlight=False)

"""`parity loop` and `parity program`: the research loop, run here or by an external coding agent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.cli.common import WorkspaceOpt, budget_option, console, find_workspace, hours_option
from parity.errors import ParityError

Proposer = Annotated[str, typer.Option("--proposer", help="Where proposals come from: optuna, llm or grid.")]
Model = Annotated[str | None, typer.Option("--model", help="The LLM proposer's model spec (default: the bundled model).")]
MaxExperiments = Annotated[int | None, typer.Option("--max-experiments", help="Stop when this loop's log holds this many experiments.")]
Hours = Annotated[float | None, typer.Option("--hours", help="Stop starting new experiments after this many hours.", callback=hours_option)]
Budget = Annotated[
    float | None, typer.Option("--budget-usd", help="Stop once the loop's experiments have cost this much.", callback=budget_option)
]
AllowTraining = Annotated[
    bool, typer.Option("--allow-training", help="Train the adapters that weights proposals ask for, and evaluate them.")
]
Out = Annotated[Path, typer.Option("--out", help="Where to write the instructions.")]


def loop(
    proposer: Proposer = "optuna",
    model: Model = None,
    max_experiments: MaxExperiments = None,
    hours: Hours = None,
    budget_usd: Budget = None,
    allow_training: AllowTraining = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """The research loop: propose, screen on dev, confirm on full, keep only what beats the running best."""
    from parity.judge import make_judge
    from parity.loop.proposers import make_proposer
    from parity.loop.runner import LoopLimits, loop_name, run_loop
    from parity.present.experiments import trials_table
    from parity.ruler import admit_lock, load_ruler
    from parity.store import Store, store_url

    ws = find_workspace(workspace)
    ruler = load_ruler(ws)
    if max_experiments is None and hours is None and budget_usd is None and proposer != "grid":
        raise ParityError("the loop needs a limit", "parity loop", "pass --max-experiments N, --hours H or --budget-usd X")
    name = loop_name(ruler, proposer)
    store = Store.for_workspace(ws)  # first: it creates .parity/, where the Optuna study's SQLite file lives
    admit_lock(ws, store, ruler.fingerprint)  # a forged LOCK refuses the loop, not each trial
    chosen = make_proposer(ws, proposer, store_url(ws), name, model)
    limits = LoopLimits(max_experiments, hours, budget_usd, allow_training)
    rule = ws.config.loop
    console.print(
        f"loop {name}: proposer {proposer}, base agent {rule.base_agent}, screen on {rule.screen_gate}, decide on {rule.decide_gate}"
    )
    finished = run_loop(ws, ruler, make_judge(ws), store, chosen, limits, console.print)
    trials = store.trials(name)
    console.print(f"this worker finished {finished} trial(s); the log holds {len(trials)}")
    console.print(trials_table(trials, store.experiment))


def program(out: Out = Path("program.md"), workspace: WorkspaceOpt = None) -> None:
    """Write program.md: how an external coding agent runs the loop by editing agents/ only."""
    from parity.io import atomic_write_text
    from parity.loop.program import program_text

    ws = find_workspace(workspace)
    target = out if out.is_absolute() else ws.root / out
    atomic_write_text(target, program_text(ws))
    console.print(f"wrote {ws.shown(target)}")

"""`parity run`: one agent over one gate, judged and recorded; `--confirm` screens on dev first and
`--resume` finishes an interrupted experiment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from parity.cli.common import ID, WorkspaceOpt, budget_option, console, find_workspace, progress_bar
from parity.errors import ParityError

if TYPE_CHECKING:
    from parity.agent import Agent
    from parity.experiment import Outcome
    from parity.ruler import Ruler
    from parity.store import Store
    from parity.task import Workspace

AgentArg = Annotated[str | None, typer.Argument(help="Agent name in agents/ (a .yaml or .py file), or a path to one.")]
Gate = Annotated[str, typer.Option("--gate", help="Which gate to score on: dev (screening) or full (decision).")]
Hypothesis = Annotated[str, typer.Option("--hypothesis", help="What this experiment tests, in one sentence.")]
Method = Annotated[str | None, typer.Option("--method", help="How the hypothesis is tested, in free text (kept in the record).")]
Confirm = Annotated[
    bool, typer.Option("--confirm", help="Screen on the dev gate; only if it beats the running best's dev score, run the full gate.")
]
Resume = Annotated[
    int | None, typer.Option("--resume", help="Finish experiment ID: only its missing cases run, with the agent it recorded.", **ID)
]
Budget = Annotated[
    float | None,
    typer.Option("--budget-usd", help="Refuse to start above this estimated cost, and stop before exceeding it.", callback=budget_option),
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Ask the model again instead of using cached answers.")]


def run(
    agent: AgentArg = None,
    gate: Gate = "dev",
    hypothesis: Hypothesis = "",
    method: Method = None,
    confirm: Confirm = False,
    resume: Resume = None,
    budget_usd: Budget = None,
    no_cache: NoCache = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Run an agent over a gate of the ruler, judge every answer, and record the experiment."""
    from parity.agent import load_agent
    from parity.loop.confirm import check_confirmable
    from parity.loop.confirm import confirm as run_confirmed
    from parity.ruler import load_ruler
    from parity.store import Store

    if (agent is None) == (resume is None):
        raise ParityError(
            "name an agent, or --resume an experiment (not both)", None, "e.g. parity run baseline --gate dev, or parity run --resume 3"
        )
    ws = find_workspace(workspace)
    ruler = load_ruler(ws)
    if resume is not None:
        _resume(ws, ruler, resume, budget_usd, not no_cache)
        return
    assert agent is not None
    if confirm:
        check_confirmable(ruler, gate)
    loaded = load_agent(ws, agent, use_cache=not no_cache)
    ruler.gate(gate)  # an unknown gate fails here, before anything is written
    if not confirm:
        _run_gate(ws, ruler, loaded, gate, hypothesis, method, budget_usd)
        return
    run_confirmed(
        Store.for_workspace(ws),
        ruler,
        lambda on, screened_by: _run_gate(ws, ruler, loaded, on, hypothesis, method, budget_usd, screened_by),
        on_screen=lambda screened: console.print(
            f"screen: {screened.reason}; " + ("confirming on the full gate" if screened.passes else "the full gate is not run")
        ),
    )


def _run_gate(
    ws: Workspace,
    ruler: Ruler,
    agent: Agent,
    gate: str,
    hypothesis: str,
    method: str | None,
    budget_usd: float | None,
    screened_by: int | None = None,
) -> Outcome:
    from parity.experiment import check_budget, run_experiment
    from parity.experiment.fits import check_fits
    from parity.judge import make_judge
    from parity.loop.rules import keep
    from parity.ruler import admit_lock
    from parity.store import Store

    cases = ruler.gate(gate)
    note = check_budget(agent, cases, budget_usd)
    check_fits(ws, agent, cases)  # run_experiment checks again, but only after the store exists
    store = Store.for_workspace(ws)  # opened only after everything above validated: bad input writes nothing
    admit_lock(ws, store, ruler.fingerprint)  # a forged LOCK is refused before anything is printed
    console.print(f"Agent {agent.name} ({agent.spec}) on gate {gate}: {len(cases)} cases, ruler {ruler.fingerprint[:12]}")
    if note:
        console.print(note)
    judge = make_judge(ws)
    with progress_bar("answering + judging", len(cases)) as bar:
        outcome = run_experiment(ws, ruler, agent, judge, store, gate, hypothesis, keep, bar.step, budget_usd, method, screened_by)
    _print_summary(store, outcome.experiment_id, outcome.decision)
    return outcome


def _resume(ws: Workspace, ruler: Ruler, experiment_id: int, budget_usd: float | None, use_cache: bool) -> None:
    from parity.experiment import missing_cases, resume_experiment
    from parity.judge import make_judge
    from parity.loop.rules import keep
    from parity.store import Store

    store = Store.for_workspace(ws)
    total = len(missing_cases(store, ruler, experiment_id))
    console.print(f"Resuming experiment #{experiment_id}: {total} missing cases, ruler {ruler.fingerprint[:12]}")
    with progress_bar("answering + judging", total) as bar:
        outcome = resume_experiment(ws, ruler, make_judge(ws), store, keep, experiment_id, bar.step, budget_usd, use_cache)
    _print_summary(store, outcome.experiment_id, outcome.decision)


def _print_summary(store: Store, experiment_id: int, decision: str) -> None:
    from parity.present.experiments import summary_tables

    row = store.experiment(experiment_id)
    assert row is not None  # just recorded
    for table in summary_tables(row, decision):
        console.print(table)

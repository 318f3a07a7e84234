"""Experiments in the terminal: one experiment's summary, the list of them, the loop's log, a paired
comparison and the adapters trained."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table

from parity.analysis.compare import Comparison
from parity.experiment import ExperimentSummary
from parity.experiment.summary import GroupQuality
from parity.metrics import parity_ratio
from parity.present.numbers import DASH, percent, short, signed, usd, with_ci
from parity.present.terminal import columns_table, kv_table, num
from parity.store import AdapterRow, ExperimentRow, TrialRow

Rows = list[tuple[str, str]]  # (name, value) rows of a summary table


def summary_tables(row: ExperimentRow, decision: str) -> list[Table]:
    """One experiment: its scores, cases, decision and provenance, then quality per category and per
    difficulty when the cases declare more than one."""
    summary = ExperimentSummary.of(row)
    table = kv_table(f"experiment #{row.id}: {row.agent_name} on {row.gate}")
    for name, value in _scores(row, summary) + _cases(row, summary) + _decision(row, summary, decision) + _provenance(row, summary):
        table.add_row(name, value)
    groups = [_group_table(label, rows) for label, rows in (("category", summary.categories), ("difficulty", summary.difficulties))]
    return [table, *(group for group in groups if group is not None)]


def _scores(row: ExperimentRow, summary: ExperimentSummary) -> Rows:
    wtl = summary.wtl
    rows = [("quality", f"{num(row.quality)}  (95% CI {num(row.ci_low)} – {num(row.ci_high)})")]
    if row.judge_noise:
        rows.append(("judge noise", f"SD {num(row.judge_noise['quality_sd'], 4)} over {row.judge_noise['times']} re-judgments"))
    rows += [
        ("ceiling", f"{num(row.ceiling)}  (gold_alt scored as a candidate)"),
        ("parity", f"{num(parity_ratio(row.quality, row.ceiling), 2)}  (quality / ceiling)"),
        ("vs gold W/T/L", f"{wtl.get('win', 0)}/{wtl.get('tie', 0)}/{wtl.get('loss', 0)}"),
    ]
    if summary.judge_agreement:
        rows.append(("judge", summary.judge_agreement.text))
    if summary.position_consistency is not None:
        rows.append(("position consistency", f"{percent(summary.position_consistency)} of pairwise verdicts agree in both orders"))
    return rows


def _cases(row: ExperimentRow, summary: ExperimentSummary) -> Rows:
    reasons = _counts(summary.unscored_reasons)
    rows = [
        (
            "cases",
            f"{summary.n_cases} ({summary.n_unscored} unscored{': ' + reasons if reasons else ''}, {summary.n_failed} agent failures)",
        ),
        ("model", f"{(row.agent_config or {}).get('model')}  cost ${usd(row.cost_usd)}"),
    ]
    rows += [(f"  {name}", num(value, 2)) for name, value in summary.dimensions.items()]
    if summary.fields:  # a json task: how often each field matches the gold
        rows.append(("fields vs gold", "  ".join(f"{name} {num(value, 3)}" for name, value in summary.fields.items())))
    if summary.detectors:  # the ruler declares critical-failure detectors
        found = summary.critical_failures
        rows.append(("critical failures", f"{summary.n_critical} of {summary.n_cases} cases" + (f"  ({_counts(found)})" if found else "")))
    return rows


def _decision(row: ExperimentRow, summary: ExperimentSummary, decision: str) -> Rows:
    rows = [("verdict", f"{row.verdict or row.status}: {decision}")]
    rows += [(f"  leak {leak.case}", " | ".join(leak.shared)) for leak in summary.leaks[:5]]
    rows += [(name, text) for name, text in (("hypothesis", row.hypothesis), ("method", row.method)) if text]
    return rows


def _provenance(row: ExperimentRow, summary: ExperimentSummary) -> Rows:
    rows = []
    config_diff = row.config_diff or {}
    diff = config_diff.get("changes")
    if diff is not None:
        shown = "; ".join(f"{k}: {short(v[0])} → {short(v[1])}" for k, v in diff.items()) or "identical config"
        rows.append((f"vs #{config_diff['against']}", shown))
    if summary.completion_tokens is not None:
        rows.append(("tokens", f"{summary.prompt_tokens or 0} prompt + {summary.completion_tokens} completion"))
    if row.git_commit:
        rows.append(("git", row.git_commit))
    if row.wall_s is not None:
        rows.append(("wall time", f"{row.wall_s:.1f} s"))
    return [*rows, ("ruler", row.ruler_fingerprint)]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items())


def _group_table(label: str, rows: dict[str, GroupQuality]) -> Table | None:
    """Quality per category (or difficulty): nothing to show for a single group."""
    if len(rows) < 2:
        return None
    table = columns_table(f"by {label}", (label, "quality", "n"), first_left=True)
    for name, value in rows.items():
        table.add_row(name, num(value.quality), str(value.n))
    return table


def experiments_table(rows: list[ExperimentRow]) -> Table:
    table = columns_table("experiments", ("id", "agent", "model", "gate", "quality [95% CI]", "parity", "verdict", "cost $", "hypothesis"))
    for r in rows:
        table.add_row(
            str(r.id),
            r.agent_name,
            str((r.agent_config or {}).get("model")),
            r.gate,
            with_ci(r.quality, r.ci_low, r.ci_high, ci_digits=2, none=DASH),
            num(parity_ratio(r.quality, r.ceiling), 2),
            r.verdict or r.status,
            usd(r.cost_usd),
            r.hypothesis or "",
        )
    return table


def training_request_line(trial: TrialRow) -> str:
    return f"training request (loop trial {trial.id}): {trial.hypothesis} — {trial.reason}"


CURVES = ("loss", "reward", "kl", "rewards/margins", "auc")  # loss for every recipe, reward/kl for RL, auc for GAD


def adapter_line(adapter: AdapterRow) -> str:
    """One adapter: recipe, base, status, steps, time, and the newest point of each curve it drew."""
    shown = "".join(f", last {key} {adapter.curves[key][-1][1]:.3f}" for key in CURVES if adapter.curves.get(key))
    took = f", {adapter.train_s:.0f} s" if adapter.train_s else ""
    steps = adapter.summary.get("steps", 0) if adapter.summary else 0
    return f"adapter {adapter.name}: {adapter.recipe} on {adapter.base}, {adapter.status}, {steps} steps{took}{shown}"


def trials_table(trials: list[TrialRow], experiment: Callable[[int], ExperimentRow | None]) -> Table:
    """The loop's log: each trial's lever and patch, its screen and decide experiments, its verdict."""
    table = columns_table("loop log", ("trial", "lever", "patch", "screen", "decide", "verdict", "reason"))
    for t in trials:
        screen = experiment(t.screen_experiment_id) if t.screen_experiment_id else None
        decide = experiment(t.decide_experiment_id) if t.decide_experiment_id else None
        table.add_row(
            str(t.id),
            t.lever,
            ", ".join(f"{k}={v}" for k, v in t.patch.items()),
            f"#{screen.id} {num(screen.quality)}" if screen else DASH,
            f"#{decide.id} {num(decide.quality)}" if decide else DASH,
            t.verdict or t.status,
            t.reason or "",
        )
    return table


def comparison_table(result: Comparison) -> Table:
    """A − B over the cases both experiments scored, with the five largest wins and regressions."""
    table = kv_table(f"#{result.a} vs #{result.b} over {result.n_paired} paired cases")
    table.add_row("quality A / B", f"{num(result.quality_a)} / {num(result.quality_b)}")
    table.add_row(
        "A − B",
        f"{signed(result.diff)}  (95% CI {signed(result.ci_low)} – {signed(result.ci_high)}, p = {num(result.p_value)})",
    )
    table.add_row("A better / worse / same", f"{len(result.wins)} / {len(result.regressions)} / {result.ties}")
    for label, rows in (("A better", result.wins[:5]), ("A worse", result.regressions[:5])):
        if rows:
            table.add_row(label, ", ".join(f"{r['case']} {signed(r['delta'], 2)}" for r in rows))
    for name, f in result.fields.items():  # a json task: each field against the gold
        table.add_row(
            f"field {name} A / B",
            f"{num(f['a'])} / {num(f['b'])}, A − B {signed(f['diff'])} (95% CI {signed(f['ci_low'])} – {signed(f['ci_high'])})",
        )
    return table

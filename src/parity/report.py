"""`parity report`: the written training record, from the store only.

Every number is read from what experiments, adapters and datasets recorded (the same values
`parity show --json` prints); the findings are rankings and ranges of those numbers, not prose
about them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from parity.experiment import ExperimentSummary
from parity.judge.agreement import judge_agreement
from parity.metrics import parity_ratio
from parity.present.numbers import analysis_cell, fmt, signed, usd, with_ci
from parity.statuses import RunStatus, Verdict
from parity.store import ExperimentRow, Store
from parity.task import Workspace
from parity.web.views import experiments_using, lever_of, trial_levers

STILL = 0.05  # a dimension whose mean moved less than this across all experiments (1–5 scale) "never moved"


# Stored text (hypotheses, names, categories, findings) is data. Escaped here: what would end a table cell
# or the line, open raw HTML, an autolink or a code span (where no escape works), and the `]` of a link
# (`[x](url)`, `[x][ref]`, `[ref]: url`). The report's own text holds none of these, so its numbers and
# brackets, such as a CI `[0.40, 0.61]`, come out as they are; emphasis is left alone: it only restyles.
_ESCAPES = {"\\": "\\\\", "|": "\\|", "`": "\\`", "&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"[\\|`&<>]|\](?=[(\[:])")


def escaped(text: Any) -> str:
    """Text to write into the report as it reads: one line, no Markdown or HTML of its own."""
    flat = " ".join(str(text).splitlines())
    return _SPECIAL.sub(lambda m: _ESCAPES.get(m.group(), "\\]"), flat)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(escaped(h) for h in header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(escaped(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _gates(ws: Workspace, rows: list[ExperimentRow]) -> list[str]:
    present = {r.gate for r in rows}
    ordered = [g for g in (ws.config.loop.decide_gate, ws.config.loop.screen_gate) if g in present]
    return ordered + sorted(present - set(ordered))


def progression(rows: list[ExperimentRow], levers: dict[int, str]) -> tuple[list[list[Any]], list[tuple[float, ExperimentRow, float]]]:
    """One gate's experiments in run order, each with its gain over the running best before it."""
    table: list[list[Any]] = []
    gains: list[tuple[float, ExperimentRow, float]] = []
    before: float | None = None  # the running best quality before this experiment
    for r in rows:
        gain = r.quality - before if r.quality is not None and before is not None else None
        table.append(
            [
                f"#{r.id}",
                r.agent_name,
                lever_of(r, levers),
                with_ci(r.quality, r.ci_low, r.ci_high),
                fmt(parity_ratio(r.quality, r.ceiling), 2),
                signed(gain),
                r.verdict or r.status,
                r.hypothesis or "",
            ]
        )
        if r.verdict == Verdict.KEPT and r.quality is not None:
            if gain is not None and before is not None:
                gains.append((gain, r, before))
            if before is None or r.quality > before:
                before = r.quality
    return table, gains


def _group_tables(rows: list[ExperimentRow], key: str) -> list[str]:
    groups = {r.id: getattr(ExperimentSummary.of(r), key) for r in rows if r.status == RunStatus.DONE}
    shown = [r for r in rows if groups.get(r.id)][-8:]
    if not shown:
        return []
    names = sorted({name for r in shown for name in groups[r.id]})

    def cell(r: ExperimentRow, name: str) -> str:
        group = groups[r.id].get(name)
        return fmt(group.quality if group else None)

    last = groups[shown[-1].id]
    body = [[name, *[cell(r, name) for r in shown], str(last[name].n) if name in last else ""] for name in names]
    return _table([{"categories": "category", "difficulties": "difficulty"}[key], *[f"#{r.id} {r.agent_name}" for r in shown], "n"], body)


def _fields_section(by_gate: dict[str, list[ExperimentRow]]) -> list[str]:
    """A json task's per-field accuracy: for enums, numbers and booleans the share of cases answered as the gold."""
    out = ["## Fields against the gold (the last 8 finished experiments per gate)", ""]
    for gate, gate_rows in by_gate.items():
        fields = {r.id: ExperimentSummary.of(r).fields for r in gate_rows if r.status == RunStatus.DONE}
        shown = [r for r in gate_rows if fields.get(r.id)][-8:]
        if shown:
            names = list(fields[shown[-1].id])
            body = [[name, *[fmt(fields[r.id].get(name)) for r in shown]] for name in names]
            out += [f"### fields on {escaped(gate)}", ""] + _table(["field", *[f"#{r.id} {r.agent_name}" for r in shown]], body)
    return out


def _critical_section(ws: Workspace, by_gate: dict[str, list[ExperimentRow]]) -> list[str]:
    """Cases failed by each detector, per finished experiment: a count the quality average can hide."""
    names = list(ws.config.detectors)
    out = [
        "## Critical failures",
        "",
        "Cases an answer failed outright by matching a detector in parity.toml, whatever the judge said.",
        "",
    ]
    body = []
    for gate, rows in by_gate.items():
        for r in rows:
            if r.status != RunStatus.DONE:
                continue
            summary = ExperimentSummary.of(r)
            found = summary.critical_failures
            body.append(
                [
                    f"#{r.id}",
                    r.agent_name,
                    gate,
                    *[found.get(name, 0) for name in names],
                    sum(found.values()),
                    summary.n_cases,
                ]
            )
    return out + _table(["#", "agent", "gate", *names, "total", "cases"], body)


def _findings(ws: Workspace, by_gate: dict[str, list[ExperimentRow]], gains: dict[str, list]) -> list[str]:
    lines = []
    for gate, found in gains.items():
        for gain, row, before in sorted(found, key=lambda g: -g[0])[:3]:
            lines.append(
                f"Largest gains on {gate}: #{row.id} {row.agent_name} {signed(gain)} ({fmt(before)} → {fmt(row.quality)}): {row.hypothesis or 'no hypothesis'}"
            )
    for gate, rows in by_gate.items():
        done = [dims for dims in (ExperimentSummary.of(r).dimensions for r in rows) if dims]
        if len(done) < 2:
            continue
        for name in ws.config.rubric.dimensions:
            values = [dims[name] for dims in done if name in dims]
            if values and max(values) - min(values) < STILL:
                lines.append(f"{name} never moved on {gate}: {fmt(min(values), 2)}–{fmt(max(values), 2)} across {len(values)} experiments")
            elif values:
                lines.append(f"{name} on {gate} ranged {fmt(min(values), 2)}–{fmt(max(values), 2)} across {len(values)} experiments")
    noisy = [(r.id, r.judge_noise) for rows in by_gate.values() for r in rows if r.judge_noise]
    for experiment_id, noise in noisy:
        lines.append(
            f"Judge noise on #{experiment_id}: quality SD {fmt(noise.get('quality_sd'), 4)} over {noise.get('times')} re-judgments"
        )
    crashed = [r for rows in by_gate.values() for r in rows if r.verdict == Verdict.CRASHED or r.status == RunStatus.CRASHED]
    if crashed:
        lines.append(f"Crashed experiments: {', '.join(f'#{r.id}' for r in crashed)}")
    return (
        [f"- {escaped(line)}" for line in lines] + [""]
        if lines
        else ["Fewer than two finished experiments on every gate: nothing to rank yet.", ""]
    )


def training_record(ws: Workspace, store: Store) -> str:
    rows = store.experiments()
    levers = trial_levers(store)
    fingerprints = sorted({r.ruler_fingerprint[:12] for r in rows})
    out = [
        f"# Training record: {escaped(ws.root.name)}",
        "",
        escaped(
            f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from the store ({len(rows)} experiments, ruler {', '.join(fingerprints) or '–'})."
        ),
        "",
        escaped(f"Judge: {judge_agreement(ws)['text']}."),
        "",
    ]
    by_gate = {gate: [r for r in rows if r.gate == gate] for gate in _gates(ws, rows)}
    gains = {}
    out += ["## Score progression", ""]
    for gate, gate_rows in by_gate.items():
        table, gains[gate] = progression(gate_rows, levers)
        out += [f"### {escaped(gate)} gate", ""]
        out += _table(["#", "agent", "lever", "quality [95% CI]", "parity", "Δ vs best before", "verdict", "hypothesis"], table)
    out += ["## Categories and difficulties (the last 8 finished experiments per gate)", ""]
    for gate, gate_rows in by_gate.items():
        for key in ("categories", "difficulties"):
            tables = _group_tables(gate_rows, key)
            out += ([f"### {key} on {escaped(gate)}", ""] + tables) if tables else []
    if ws.task.is_json:
        out += _fields_section(by_gate)
    if ws.config.detectors:
        out += _critical_section(ws, by_gate)
    out += _training_sections(store, rows)
    out += _cost_section(by_gate)
    out += ["## Findings", ""] + _findings(ws, by_gate, gains)
    out += _analyses_section(store)
    return "\n".join(out)


def _analyses_section(store: Store) -> list[str]:
    analyses = store.analyses()
    if not analyses:
        return []
    out = ["## Analyses", ""]
    for a in analyses:
        out += [f"### #{a.id} {escaped(a.kind)}", ""] + [f"- {escaped(finding)}" for finding in a.findings] + [""]
        out += _table([str(c) for c in a.columns], [[analysis_cell(v) for v in row] for row in a.rows])
    return out


def _training_sections(store: Store, rows: list[ExperimentRow]) -> list[str]:
    adapters = store.adapters()
    out = ["## Training configurations", ""]
    body = []
    for a in adapters:
        train, lora, curves = (a.options or {}).get("train", {}), (a.options or {}).get("lora", {}), a.curves or {}
        last = {k: curves[k][-1][1] for k in ("loss", "reward", "kl", "auc") if curves.get(k)}
        used = [f"#{r.id}" for r in experiments_using(a, rows)]
        body.append(
            [
                a.name,
                a.recipe,
                a.base,
                (a.dataset_fingerprint or "–")[:12],
                (a.summary or {}).get("steps", "–"),
                fmt(a.train_s, 0),
                fmt((a.summary or {}).get("tokens_per_s"), 0),
                "full" if train.get("full") else f"r {lora.get('rank')} α {lora.get('alpha')}",
                train.get("learning_rate", "–"),
                ", ".join(f"{k} {fmt(v)}" for k, v in last.items()) or "–",
                " ".join(used) or "–",
            ]
        )
    header = ["adapter", "recipe", "base", "data", "steps", "train s", "tokens/s", "LoRA", "lr", "last", "evaluated in"]
    out += _table(header, body) if body else ["No adapters trained.", ""]
    out += ["## Datasets", ""]
    datasets = [
        [
            d.name,
            d.kind,
            d.n_rows,
            d.fingerprint[:12],
            ", ".join(f"{k} {v}" for k, v in (d.provenance or {}).items() if k in ("mode", "source", "agent", "skipped", "rejected_from")),
        ]
        for d in store.datasets()
    ]
    return out + (_table(["name", "kind", "rows", "fingerprint", "provenance"], datasets) if datasets else ["No datasets stored.", ""])


def _cost_section(by_gate: dict[str, list[ExperimentRow]]) -> list[str]:
    body, totals = [], [0, 0, 0, 0.0, 0.0]
    for gate, rows in by_gate.items():
        summaries = [ExperimentSummary.of(r) for r in rows]
        line = [
            len(rows),
            sum(s.prompt_tokens or 0 for s in summaries),
            sum(s.completion_tokens or 0 for s in summaries),
            sum(r.cost_usd or 0.0 for r in rows),
            sum(r.wall_s or 0.0 for r in rows),
        ]
        totals = [t + v for t, v in zip(totals, line)]
        body.append([gate, line[0], line[1], line[2], usd(line[3]), fmt(line[4], 0)])
    body.append(["all", totals[0], totals[1], totals[2], usd(totals[3]), fmt(totals[4], 0)])
    return ["## Cost", ""] + _table(["gate", "experiments", "prompt tokens", "completion tokens", "cost $", "wall s"], body)

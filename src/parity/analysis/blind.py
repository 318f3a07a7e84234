"""`parity analyze blind`: does one rubric dimension carry the gap? Re-judge stored answers with
that dimension removed from the rubric (and so from the pairwise instructions, which list the
rubric), beside a full-rubric control that must reproduce the logged quality within the noise."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from parity.analysis.record import Analysis, new_figure
from parity.analysis.stored import check_dimension, experiment_of_ruler, judge_stored, stored_cases
from parity.errors import ParityError
from parity.judge import make_judge
from parity.metrics import summarize
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace

FLOAT_SLACK = 1e-6  # what a stored float may differ by when the judge is deterministic


def blinded_rubric(ws: Workspace, dimension: str):
    check_dimension(ws, dimension)
    rubric = ws.config.rubric
    if len(rubric.dimensions) < 2:
        raise ParityError(
            "the rubric has one dimension: nothing is left when it is removed", "--dimension", "blind a rubric of two or more dimensions"
        )
    return rubric.model_copy(update={"dimensions": {k: v for k, v in rubric.dimensions.items() if k != dimension}})


def blind(
    ws: Workspace, ruler: Ruler, store: Store, experiment_ids: list[int], dimension: str, on_step: Callable[[], None] | None = None
) -> Analysis:
    rubric = blinded_rubric(ws, dimension)
    full_judge, blind_judge = make_judge(ws), make_judge(ws, rubric=rubric)
    rows, labels, full_q, blind_q = [], [], [], []
    for experiment_id in experiment_ids:
        row = experiment_of_ruler(ws, ruler, store, experiment_id)
        pairs = stored_cases(ruler, store, experiment_id)
        cases = [case for case, _ in pairs]
        full_judgments, blind_judgments = [], []
        for case, case_row in pairs:
            full_judgments.append(judge_stored(ws, full_judge, case, case_row))
            blind_judgments.append(judge_stored(ws, blind_judge, case, case_row, rubric=rubric))
            if on_step:
                on_step()
        full = summarize(cases, full_judgments, ws.config.rubric, ws.config.metric)
        blinded = summarize(cases, blind_judgments, rubric, ws.config.metric)
        noise = (row.judge_noise or {}).get("quality_sd")
        tolerance = max(2 * noise, FLOAT_SLACK) if noise is not None else FLOAT_SLACK
        reproduced = row.quality is not None and full.quality is not None and abs(full.quality - row.quality) <= tolerance
        delta = blinded.quality - full.quality if blinded.quality is not None and full.quality is not None else None
        rows.append(
            [
                experiment_id,
                row.agent_name,
                row.quality,
                full.quality,
                blinded.quality,
                delta,
                full.wtl.get("loss", 0),
                blinded.wtl.get("loss", 0),
                "yes" if reproduced else f"NO (tolerance {tolerance:.4f})",
            ]
        )
        labels.append(f"#{experiment_id} {row.agent_name}")
        full_q.append(full.quality or 0.0)
        blind_q.append(blinded.quality or 0.0)
    return Analysis(
        "blind",
        ruler.fingerprint,
        {"dimension": dimension, "experiments": experiment_ids},
        [
            "experiment",
            "agent",
            "logged quality",
            "control (full rubric)",
            f"blind (no {dimension})",
            "Δ blind − full",
            "losses to gold (full)",
            "losses to gold (blind)",
            "control reproduces",
        ],
        rows,
        _findings(rows, dimension),
        _plot(labels, full_q, blind_q, dimension),
    )


def _findings(rows: list[list], dimension: str) -> list[str]:
    findings = []
    failed = [f"#{r[0]}" for r in rows if r[8] != "yes"]
    if failed:
        findings.append(
            f"the full-rubric control did not reproduce the logged quality for {', '.join(failed)}: the judge or its inputs changed since"
        )
    deltas = [r[5] for r in rows if r[5] is not None]
    if deltas:
        findings.append(
            f"removing {dimension} moved quality by {np.mean(deltas):+.3f} on average (from {min(deltas):+.3f} to {max(deltas):+.3f})"
        )
    losses = [(r[6], r[7]) for r in rows]
    findings.append(f"losses to gold: {sum(a for a, _ in losses)} with the full rubric, {sum(b for _, b in losses)} blind")
    judged = [r for r in rows if r[3] is not None and r[4] is not None]
    if len(judged) >= 2:  # the widest gap among the experiments, as each rubric sees it
        top, bottom = max(judged, key=lambda r: r[3]), min(judged, key=lambda r: r[3])
        findings.append(f"gap #{top[0]} − #{bottom[0]}: {top[3] - bottom[3]:+.3f} with the full rubric, {top[4] - bottom[4]:+.3f} blind")
    return findings


def _plot(labels: list[str], full: list[float], blinded: list[float], dimension: str):
    figure = new_figure()
    ax = figure.add_subplot()
    x = np.arange(len(labels))
    ax.bar(x - 0.2, full, 0.4, label="full rubric (control)", color="#4575b4")
    ax.bar(x + 0.2, blinded, 0.4, label=f"blind: no {dimension}", color="#fdae61")
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_ylabel("quality")
    ax.set_title(f"Quality with and without {dimension}")
    ax.legend()
    return figure

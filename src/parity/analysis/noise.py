"""Judge noise: re-judge an experiment's identical stored answers K times (distinct repeat indices)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from parity.analysis.record import Analysis
from parity.analysis.stored import experiment_of_ruler, judge_stored, stored_cases
from parity.errors import ParityError
from parity.judge import Judge, Judgment
from parity.metrics import Result, summarize
from parity.ruler import Ruler
from parity.statuses import Verdict
from parity.store import Store
from parity.task import Workspace


@dataclass
class NoiseReport:
    experiment_id: int
    times: int
    logged_quality: float | None
    qualities: list[float | None]  # experiment quality per re-judgment
    quality_sd: float
    dimensions_sd: dict[str, float]
    case_quality_sd: float  # mean over cases of the per-case SD
    unscored: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rejudge(
    ws: Workspace, ruler: Ruler, store: Store, judge: Judge, experiment_id: int, times: int, on_step: Callable[[], None] | None = None
) -> NoiseReport:
    row = experiment_of_ruler(ws, ruler, store, experiment_id)
    if times < 2:
        raise ParityError("--times must be at least 2 to measure a spread", None, "e.g. --times 3")
    if row.quality is None:
        raise ParityError(
            f"experiment #{experiment_id} has no quality to re-measure ({row.status}, no scored case)",
            None,
            "pick a finished experiment: parity show",
        )
    pairs = stored_cases(ruler, store, experiment_id)
    summaries: list[Result] = []
    per_case: dict[str, list[float]] = {r.case_id: [] for _, r in pairs}
    for repeat in range(1, times + 1):
        judgments: list[Judgment] = []
        for case, r in pairs:
            judgments.append(judge_stored(ws, judge, case, r, repeat))
            if on_step:
                on_step()
        result = summarize([case for case, _ in pairs], judgments, ws.config.rubric, ws.config.metric)
        summaries.append(result)
        for case_id, quality in result.per_case.items():
            per_case[case_id].append(quality)
    qualities = [s.quality for s in summaries]
    dims = {d: float(np.std([s.dimensions.get(d, np.nan) for s in summaries], ddof=1)) for d in ws.config.rubric.dimensions}
    spreads = [float(np.std(v, ddof=1)) for v in per_case.values() if len(v) >= 2]
    report = NoiseReport(
        experiment_id,
        times,
        row.quality,
        qualities,
        float(np.std([q for q in qualities if q is not None], ddof=1)) if sum(q is not None for q in qualities) >= 2 else float("nan"),
        dims,
        float(np.mean(spreads)) if spreads else float("nan"),
        [s.n_unscored for s in summaries],
    )
    store.update_experiment(
        experiment_id, judge_noise={"times": times, "quality_sd": report.quality_sd, "dimensions_sd": dims, "qualities": qualities}
    )
    return report


def noise_analysis(
    ws: Workspace, ruler: Ruler, store: Store, judge: Judge, experiment_id: int, times: int, on_step: Callable[[], None] | None = None
) -> tuple[NoiseReport, Analysis]:
    """`parity analyze noise`: the spread of re-judged quality (the experiment keeps it), and every kept
    experiment on the same gate whose gain over its predecessor (the running best before it) is within
    that noise (at most 2 SD of re-judged quality)."""
    report = rejudge(ws, ruler, store, judge, experiment_id, times, on_step)
    gate = store.require_experiment(experiment_id).gate
    band = 2 * report.quality_sd if np.isfinite(report.quality_sd) else 0.0
    rows: list[list[Any]] = []
    best: float | None = None  # the running best quality before each kept experiment
    for row in store.experiments():
        if row.ruler_fingerprint != ruler.fingerprint or row.gate != gate or row.verdict != Verdict.KEPT or row.quality is None:
            continue
        gain = row.quality - best if best is not None else None
        rows.append([row.id, row.agent_name, row.quality, gain, "–" if gain is None else ("yes" if gain <= band else "no")])
        best = row.quality if best is None or row.quality > best else best
    flagged = [f"#{r[0]}" for r in rows if r[4] == "yes"]
    findings = [
        f"{times} re-judgments of #{experiment_id}'s identical answers: quality SD {report.quality_sd:.4f} (logged {report.logged_quality:.3f}; re-judged {', '.join(f'{q:.3f}' for q in report.qualities if q is not None)})",
        f"kept experiments on {gate} whose gain is within 2 SD ({band:.4f}): {', '.join(flagged) if flagged else 'none'}",
    ]
    return report, Analysis(
        "noise",
        ruler.fingerprint,
        {"experiment": experiment_id, "times": times, "quality_sd": report.quality_sd, "dimensions_sd": report.dimensions_sd},
        ["kept experiment", "agent", "quality", "gain over predecessor", "within noise"],
        rows,
        findings,
        _plot(report),
    )


def _plot(report: NoiseReport):
    from parity.analysis.record import new_figure

    figure = new_figure()
    ax = figure.add_subplot()
    repeats = [i + 1 for i, q in enumerate(report.qualities) if q is not None]
    ax.plot(repeats, [q for q in report.qualities if q is not None], "o", color="#4575b4", label="re-judged quality")
    if report.logged_quality is not None:
        ax.axhline(report.logged_quality, color="#d73027", linestyle="--", label=f"logged {report.logged_quality:.3f}")
    ax.set_xticks(repeats)
    ax.set_xlabel("re-judgment")
    ax.set_ylabel("experiment quality")
    ax.set_title(f"#{report.experiment_id}: {report.times} re-judgments, SD {report.quality_sd:.4f}")
    ax.legend()
    return figure

"""Judge noise: re-judge an experiment's identical stored answers K times (distinct repeat indices)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from parity.errors import ParityError
from parity.experiment import failed_judgment
from parity.judge import Judge, Judgment
from parity.metrics import summarize
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Answer, Workspace


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


def rejudge(ws: Workspace, ruler: Ruler, store: Store, judge: Judge, experiment_id: int, times: int, on_step: Callable[[], None] | None = None) -> NoiseReport:
    row = store.experiment(experiment_id)
    if row is None:
        raise ParityError(f"no experiment #{experiment_id}", store.url, "list them with: parity show")
    if row.ruler_fingerprint != ruler.fingerprint:
        raise ParityError(f"experiment #{experiment_id} ran on another ruler ({row.ruler_fingerprint[:12]})", ws.shown(ws.lock_path), "re-judge experiments of the current ruler only")
    if times < 2:
        raise ParityError("--times must be at least 2 to measure a spread", None, "e.g. --times 3")
    cases = {case.id: case for case in ruler.cases}
    rows = [r for r in store.case_rows(experiment_id) if r.case_id in cases]
    summaries, per_case = [], {r.case_id: [] for r in rows}
    for repeat in range(1, times + 1):
        judgments: list[Judgment] = []
        for r in rows:
            case = cases[r.case_id]
            if r.answer is None:
                judgments.append(failed_judgment(case, r.answer_error or "no answer", ws))
            else:
                judgments.append(judge.judge(case, Answer(r.answer["title"], tuple(r.answer["questions"])), repeat=repeat))
            if on_step:
                on_step()
        result = summarize([cases[r.case_id] for r in rows], judgments, ws.config.rubric, ws.config.metric)
        summaries.append(result)
        for case_id, quality in result.per_case.items():
            per_case[case_id].append(quality)
    qualities = [s.quality for s in summaries]
    dims = {d: float(np.std([s.dimensions.get(d, np.nan) for s in summaries], ddof=1)) for d in ws.config.rubric.dimensions}
    spreads = [float(np.std(v, ddof=1)) for v in per_case.values() if len(v) >= 2]
    report = NoiseReport(
        experiment_id, times, row.quality, qualities,
        float(np.std([q for q in qualities if q is not None], ddof=1)) if sum(q is not None for q in qualities) >= 2 else float("nan"),
        dims, float(np.mean(spreads)) if spreads else float("nan"), [s.n_unscored for s in summaries],
    )
    store.update_experiment(experiment_id, judge_noise={"times": times, "quality_sd": report.quality_sd, "dimensions_sd": dims, "qualities": qualities})
    return report

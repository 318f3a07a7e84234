"""What the dashboard shows, read from the store: plain dicts the templates and the JSON API share.

Nothing here computes a new number: every quality, CI and paired statistic is the one the store
(or analysis.compare) already holds, so the dashboard, `parity show --json` and the report agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parity.analysis.compare import compare
from parity.errors import ParityError
from parity.experiment import ExperimentSummary, experiment_json
from parity.ruler import Case, Ruler
from parity.statuses import RunStatus, Verdict
from parity.store import CaseRow, ExperimentRow, Store
from parity.task import Workspace

VERDICT_COLOURS = {
    Verdict.KEPT: "#1a9850",
    Verdict.DISCARDED: "#f46d43",
    Verdict.INVALID: "#7b3294",
    Verdict.CRASHED: "#d73027",
    "reference": "#4575b4",
    None: "#999999",
}
LEVER_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon", "triangle-down", "pentagon"]


def lever_of(row: ExperimentRow, trial_levers: dict[int, str]) -> str:
    """The loop's own lever for its trials; otherwise the top-level agent fields the config diff changed."""
    if row.id in trial_levers:
        return trial_levers[row.id]
    changes = (row.config_diff or {}).get("changes") or {}
    fields = sorted({name.split(".")[0] for name in changes})
    return "+".join(fields) if fields else "baseline"


def trial_levers(store: Store) -> dict[int, str]:
    """Experiment id -> lever, where the config diff alone would not say it: the loop's trials carry
    their own, and an experiment that ran a trained adapter (on its base or exported) pulled weights."""
    trials = store.trials()
    levers = {}
    for t in trials:
        for experiment_id in (t.screen_experiment_id, t.decide_experiment_id):
            if experiment_id is not None:
                levers[experiment_id] = t.lever
    experiments = store.experiments()
    for adapter in store.adapters():
        for row in experiments_using(adapter, experiments):
            levers.setdefault(row.id, "weights")
    return levers


def metric_value(row: ExperimentRow, metric: str) -> float | None:
    if metric == "quality":
        return row.quality
    return ExperimentSummary.of(row).dimensions.get(metric)


def _critical(row: ExperimentRow) -> int | None:
    """Cases failed by a detector; None when the ruler declares none."""
    summary = ExperimentSummary.of(row)
    return summary.n_critical if summary.detectors else None


def gates_in(rows: list[ExperimentRow]) -> list[str]:
    return sorted({r.gate for r in rows})


def overview(ws: Workspace, store: Store, gate: str | None = None, metric: str = "quality") -> dict[str, Any]:
    """Every experiment on one gate in run order, and the running best as a step line.

    The running best after experiment N is the best metric value among experiments kept up to N
    (the keep rule decides what counts, never the dashboard)."""
    rows = store.experiments()
    gates = gates_in(rows)
    gate = gate or (
        ws.config.loop.decide_gate if ws.config.loop.decide_gate in gates else (gates[0] if gates else ws.config.loop.decide_gate)
    )
    metrics = ["quality", *ws.config.rubric.dimensions]
    if metric not in metrics:
        raise ParityError(f"unknown metric '{metric}'", "dashboard ?metric=", f"use one of: {', '.join(metrics)}")
    levers = trial_levers(store)
    on_gate = [r for r in rows if r.gate == gate]
    points, best_line, best = [], [], None
    for r in on_gate:
        value = metric_value(r, metric)
        if r.verdict == Verdict.KEPT and value is not None and (best is None or value > best):
            best = value
        points.append(
            {
                "id": r.id,
                "agent": r.agent_name,
                "verdict": r.verdict or r.status,
                "lever": lever_of(r, levers),
                "value": value,
                "quality": r.quality,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "hypothesis": r.hypothesis or "",
                "critical": _critical(r),
            }
        )
        best_line.append({"id": r.id, "value": best})
    ceilings = [r.ceiling for r in on_gate if r.ceiling is not None]
    return {
        "gate": gate,
        "gates": gates,
        "metric": metric,
        "metrics": metrics,
        "points": points,
        "running_best": best_line,
        "ceiling": ceilings[-1] if ceilings and metric == "quality" else None,
        "levers": sorted({p["lever"] for p in points}),
        "n_running": sum(1 for r in rows if r.status == RunStatus.RUNNING),
        "detectors": bool(ws.config.detectors),
    }


def _answer_dict(answer: Any) -> dict[str, Any] | None:
    if answer is None:
        return None
    return answer if isinstance(answer, dict) else answer.to_dict()


def case_view(case: Case | None, row: CaseRow, best_quality: float | None) -> dict[str, Any]:
    regression = best_quality is not None and row.quality is not None and row.quality < best_quality - 1e-9
    return {
        "case_id": row.case_id,
        "category": case.category if case else "",
        "difficulty": case.difficulty if case else "",
        "input": case.input if case else "(not in the current ruler)",
        "meta": case.meta if case else None,
        "gold": _answer_dict(case.gold) if case else None,
        "answer": row.answer,
        "raw_text": row.raw_text if row.answer is None else "",
        "answer_error": row.answer_error,
        "scores": row.scores or {},
        "notes": row.notes or {},
        "reason": row.reason,
        "verdict": row.verdict,
        "judgment_status": row.judgment_status,
        "quality": row.quality,
        "best_quality": best_quality,
        "regression": regression,
    }


def experiment_view(ws: Workspace, store: Store, ruler: Ruler | None, experiment_id: int) -> dict[str, Any]:
    row = store.require_experiment(experiment_id)
    best = store.running_best(row.ruler_fingerprint, row.gate, exclude=row.id)
    best_by_case = {c.case_id: c.quality for c in store.case_rows(best.id)} if best is not None else {}
    cases = {c.id: c for c in ruler.cases} if ruler is not None and ruler.fingerprint == row.ruler_fingerprint else {}
    json_row = experiment_json(row)
    return {
        "summary": json_row,
        "categories": json_row["categories"],
        "difficulties": json_row["difficulties"],
        "detectors": ExperimentSummary.of(row).detectors,
        "pipeline_svg": row.pipeline_svg,
        "agent_code": row.agent_code,
        "judge_noise": row.judge_noise,
        "best": experiment_json(best) if best is not None else None,
        "cases": [case_view(cases.get(c.case_id), c, best_by_case.get(c.case_id)) for c in store.case_rows(row.id)],
    }


def compare_view(ws: Workspace, store: Store, ruler: Ruler | None, a: int, b: int) -> dict[str, Any]:
    stats = compare(ws, store, a, b)
    rows_a = {c.case_id: c for c in store.case_rows(a)}
    rows_b = {c.case_id: c for c in store.case_rows(b)}
    cases = {c.id: c for c in ruler.cases} if ruler is not None else {}
    side_by_side = []
    for case_id in [c for c in rows_a if c in rows_b]:
        case = cases.get(case_id)
        side_by_side.append(
            {
                "case_id": case_id,
                "input": case.input if case else "",
                "gold": _answer_dict(case.gold) if case else None,
                "a": case_view(case, rows_a[case_id], None),
                "b": case_view(case, rows_b[case_id], None),
                "delta": (rows_a[case_id].quality or 0.0) - (rows_b[case_id].quality or 0.0)
                if rows_a[case_id].quality is not None and rows_b[case_id].quality is not None
                else None,
            }
        )
    return {
        "stats": stats.to_dict(),
        "a": experiment_json(store.require_experiment(a)),
        "b": experiment_json(store.require_experiment(b)),
        "cases": side_by_side,
    }


def experiments_using(adapter, experiments: list[ExperimentRow]) -> list[ExperimentRow]:
    """Experiments that ran the adapter on its base (`adapter: NAME`), as one of its GGUF exports or
    as its GGUF LoRA (matched by file name: an agent may name a file by a relative or an absolute path)."""
    exports = {Path(p).name for p in (adapter.summary or {}).get("exports", {}).values()}

    def uses(config: dict[str, Any]) -> bool:
        named = str(config.get("adapter") or "")
        return named == adapter.name or Path(named).name in exports or Path(str(config.get("model", "")).split(":", 1)[-1]).name in exports

    return [r for r in experiments if uses(r.agent_config or {})]


def training_view(store: Store) -> dict[str, Any]:
    experiments = store.experiments()
    adapters = []
    for a in store.adapters():
        used_by = [experiment_json(r) for r in experiments_using(a, experiments)]
        dataset = store.dataset(a.dataset_fingerprint) if a.dataset_fingerprint else None
        adapters.append(
            {
                "name": a.name,
                "recipe": a.recipe,
                "base": a.base,
                "base_identity": a.base_identity,
                "status": a.status,
                "train_s": a.train_s,
                "summary": a.summary or {},
                "options": a.options or {},
                "curves": a.curves or {},
                "dataset": {
                    "name": dataset.name,
                    "kind": dataset.kind,
                    "n_rows": dataset.n_rows,
                    "fingerprint": dataset.fingerprint,
                    "provenance": dataset.provenance,
                }
                if dataset is not None
                else None,
                "used_by": used_by,
            }
        )
    return {"adapters": adapters}


def analyses_view(store: Store) -> dict[str, Any]:
    """Newest first: each `parity analyze` result with its findings, table and SVG plot."""
    return {
        "analyses": [
            {
                "id": a.id,
                "kind": a.kind,
                "created_at": a.created_at.strftime("%Y-%m-%d %H:%M") if a.created_at else "",
                "params": a.params,
                "columns": a.columns,
                "rows": a.rows,
                "findings": a.findings,
                "svg": a.svg,
            }
            for a in reversed(store.analyses())
        ]
    }

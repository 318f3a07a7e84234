"""Run one experiment: every case of a gate through the agent and the judge, recorded case by case, then decided."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from parity.agent import Agent
from parity.judge import Judgment, ReferenceJudge
from parity.metrics import Result, case_quality, paired_comparison, summarize
from parity.ruler import Case, Ruler
from parity.store import CaseRow, CeilingRow, ExperimentRow, Store, _now
from parity.task import Answer, Workspace

MAX_UNSCORED_SHARE = 0.10  # more unscored cases than this and the experiment is invalid
KEEP_CONFIDENCE = 0.90  # the paired gain over the running best must have its 90% lower bound above 0

ProgressHook = Callable[[Case], None]


@dataclass
class Outcome:
    experiment_id: int
    result: Result
    ceiling: CeilingRow | None
    verdict: str
    decision: str
    wall_s: float

    @property
    def parity_ratio(self) -> float | None:
        if self.result.quality is None or self.ceiling is None or self.ceiling.quality <= 0:
            return None
        return self.result.quality / self.ceiling.quality


def failed_judgment(case: Case, reason: str, ws: Workspace) -> Judgment:
    """The agent gave no usable answer: the worst outcome on every dimension, and a loss to gold."""
    lowest = float(ws.config.rubric.scale_min)
    scores = {name: lowest for name in ws.config.rubric.dimensions}
    return Judgment(case.id, "scored", scores=scores, overall=lowest, verdict="loss", notes={"agent": reason}, reason=reason, agent_failed=True)


def run_experiment(
    ws: Workspace,
    ruler: Ruler,
    agent: Agent,
    judge: ReferenceJudge,
    store: Store,
    gate: str,
    hypothesis: str,
    on_case: ProgressHook | None = None,
) -> Outcome:
    cases = ruler.gate(gate)
    started = time.perf_counter()
    experiment_id = store.create_experiment(
        ruler_fingerprint=ruler.fingerprint,
        gate=gate,
        agent_name=agent.name,
        agent_config=agent.config.model_dump(),
        model_identity=agent.model.identity,
        hypothesis=hypothesis,
    )
    judgments: list[Judgment] = []
    try:
        for case in cases:
            judgments.append(_run_case(ws, ruler, agent, judge, store, experiment_id, case))
            if on_case:
                on_case(case)
    except BaseException as exc:
        # Finished cases stay recorded; the experiment says how it ended.
        store.update_experiment(experiment_id, status="crashed", verdict="crashed", decision=f"{type(exc).__name__}: {exc}", finished_at=_now())
        raise
    result = summarize(cases, judgments, ws.config.rubric, ws.config.metric)
    ceiling = ensure_ceiling(ws, ruler, judge, store, gate)
    verdict, decision = decide(ws, ruler, store, gate, experiment_id, result)
    wall = time.perf_counter() - started
    store.update_experiment(
        experiment_id,
        status="done",
        verdict=verdict,
        decision=decision,
        quality=result.quality,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        ceiling=ceiling.quality if ceiling else None,
        summary=result.to_dict(),
        wall_s=wall,
        finished_at=_now(),
    )
    return Outcome(experiment_id, result, ceiling, verdict, decision, wall)


def _run_case(ws: Workspace, ruler: Ruler, agent: Agent, judge: ReferenceJudge, store: Store, experiment_id: int, case: Case) -> Judgment:
    output = agent.answer(case.input)
    if output.answer is None:
        judgment = failed_judgment(case, output.error or "no answer", ws)
    else:
        judgment = judge.judge(case, output.answer)
    completion = output.completion
    store.record_case(
        CaseRow(
            experiment_id=experiment_id,
            case_id=case.id,
            ruler_fingerprint=ruler.fingerprint,
            answer=output.answer.to_dict() if output.answer else None,
            raw_text=completion.text,
            answer_error=output.error,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_s=completion.latency_s,
            finish_reason=completion.finish_reason,
            cached=completion.cached,
            cost_usd=completion.cost_usd,
            judge=ws.config.judge.kind,
            judgment_status=judgment.status,
            scores=judgment.scores,
            overall=judgment.overall,
            verdict=judgment.verdict,
            notes=judgment.notes,
            reason=judgment.reason,
            agent_failed=judgment.agent_failed,
            quality=case_quality(judgment, ws.config.rubric, ws.config.metric),
        )
    )
    return judgment


def ensure_ceiling(ws: Workspace, ruler: Ruler, judge: ReferenceJudge, store: Store, gate: str) -> CeilingRow | None:
    """Score gold_alt as a candidate once per ruler and gate; every summary divides by it."""
    existing = store.ceiling(ruler.fingerprint, gate)
    if existing is not None:
        return existing
    cases = [case for case in ruler.gate(gate) if case.gold_alt is not None]
    if not cases:
        return None
    judgments = [judge.judge(case, _as_answer(case.gold_alt)) for case in cases]
    result = summarize(cases, judgments, ws.config.rubric, ws.config.metric)
    if result.quality is None:
        return None
    row = CeilingRow(
        ruler_fingerprint=ruler.fingerprint, gate=gate, quality=result.quality, ci_low=result.ci_low, ci_high=result.ci_high, summary=result.to_dict()
    )
    store.save_ceiling(row)
    return row


def _as_answer(answer: Answer | None) -> Answer:
    assert answer is not None
    return answer


def decide(ws: Workspace, ruler: Ruler, store: Store, gate: str, experiment_id: int, result: Result) -> tuple[str, str]:
    """Keep only what beats the running best by more than resampling noise; never compare across rulers."""
    if result.n_cases and result.n_unscored / result.n_cases > MAX_UNSCORED_SHARE:
        return "invalid", f"{result.n_unscored}/{result.n_cases} cases unscored (limit {MAX_UNSCORED_SHARE:.0%})"
    best = store.running_best(ruler.fingerprint, gate)
    if best is None or best.id == experiment_id:
        return "kept", f"first kept experiment on this ruler ({ruler.fingerprint[:12]}) and gate '{gate}'"
    best_cases = {row.case_id: row.quality for row in store.case_rows(best.id) if row.quality is not None}
    metric = ws.config.metric
    paired = paired_comparison(result.per_case, best_cases, KEEP_CONFIDENCE, metric.bootstrap_samples, metric.seed)
    summary = f"Δ {paired.mean_diff:+.3f} [{paired.ci_low:+.3f}, {paired.ci_high:+.3f}] vs #{best.id} over {paired.n} paired cases"
    if paired.n and paired.ci_low > 0:
        return "kept", f"{summary}: beats the running best"
    return "discarded", f"{summary}: not above the noise"


def experiment_row_summary(row: ExperimentRow) -> dict[str, object]:
    """The JSON shape of one experiment in `parity show --json`."""
    summary = row.summary or {}
    return {
        "id": row.id,
        "agent": row.agent_name,
        "gate": row.gate,
        "quality": row.quality,
        "ci_low": row.ci_low,
        "ci_high": row.ci_high,
        "ceiling": row.ceiling,
        "parity_ratio": (row.quality / row.ceiling) if row.quality is not None and row.ceiling else None,
        "dimensions": summary.get("dimensions", {}),
        "wtl": summary.get("wtl", {}),
        "n_cases": summary.get("n_cases", 0),
        "n_unscored": summary.get("n_unscored", 0),
        "verdict": row.verdict,
        "status": row.status,
        "hypothesis": row.hypothesis,
        "ruler_fingerprint": row.ruler_fingerprint,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }

"""What a summary says about its judge: the agreement with frontier labels it was measured to have."""

from __future__ import annotations

from typing import Any

from parity.task import Workspace


def judge_agreement(ws: Workspace) -> dict[str, Any]:
    """A sentence and its figures for every summary: a number from an unmeasured judge is a screening number."""
    spec = ws.config.judge
    if spec.kind != "reference":
        return {
            "judge": f"llm:{spec.model}",
            "calibrated": False,
            "text": f"LLM judge {spec.model}: agreement with frontier labels not measured (parity calibrate --labels FILE --judge {spec.model})",
        }
    if not spec.fitted:
        return {
            "judge": "reference-v1",
            "calibrated": False,
            "text": "reference judge v1, uncalibrated: no agreement with frontier labels is recorded for it on this workspace; a screening number only",
        }
    from parity.judge.fitted import load_params

    agreement = load_params(ws.root / spec.fitted, spec.fitted).agreement
    if not agreement:
        return {
            "judge": "reference-v2",
            "calibrated": False,
            "text": "reference judge v2, fit without held-out tasks: its agreement on unseen tasks is not measured",
        }
    text = (
        f"reference judge v2 vs frontier labels on {agreement['n_tasks']} unseen tasks: quality Spearman {_f(agreement['quality_spearman'])}, "
        f"system order {_f(agreement['system_pairs_same_order'])} of source pairs ({agreement['system_pairs_clear_wrong']} clearly apart reversed), "
        f"parity-ratio error ≤ {_f(agreement.get('max_ratio_error_models'))} for model sources, ≤ {_f(agreement['max_ratio_error'])} for all"
    )
    keys = (
        "quality_spearman",
        "system_spearman",
        "system_pairs_same_order",
        "system_pairs_clear_wrong",
        "max_ratio_error",
        "max_ratio_error_models",
        "n_tasks",
    )
    return {"judge": "reference-v2", "calibrated": True, "text": text, **{k: agreement.get(k) for k in keys}}


def _f(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"

"""What determines a judge's verdicts, for the ruler's fingerprint: its kind, model and decoding, its
prompts or formulas, its fitted parameters (not how it is reached: retries and concurrency are not here)."""

from __future__ import annotations

from typing import Any

from parity.judge import fitted, prompts, reference, reference_json, reference_text
from parity.task import Workspace


def judge_identity(ws: Workspace) -> dict[str, Any]:
    """What determines the judge's verdicts (not how it is reached: retries and concurrency are not here)."""
    spec = ws.config.judge
    if spec.kind == "reference":
        if spec.fitted:
            params = fitted.load_params(ws.root / spec.fitted, spec.fitted)
            return {"kind": "reference", "embedder": spec.embedder, "fitted": fitted.identity(params)}
        if ws.task.is_json:
            formulas = reference_json.identity(spec.number_tolerance)
        else:
            formulas = reference_text.identity() if ws.task.free_text else reference.identity()
        return {"kind": "reference", "embedder": spec.embedder, "tie_margin": spec.tie_margin, "formulas": formulas}
    return {
        "kind": "llm",
        "model": spec.model,
        "temperature": spec.temperature,
        "seed": spec.seed,
        "max_tokens": spec.max_tokens,
        "prompts": prompts.template_hash(),
    }

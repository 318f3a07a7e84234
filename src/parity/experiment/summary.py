"""What a finished experiment's summary holds, typed: written once by `finalize`, read by the CLI,
the report, the dashboard and the analyses. Stored as JSON in the experiment's row."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parity.errors import ParityError
from parity.metrics import parity_ratio
from parity.store import ExperimentRow


class GroupQuality(BaseModel):
    quality: float
    n: int


class LeakRecord(BaseModel):
    case: str
    shared: list[str]
    near: bool = False


class JudgeAgreement(BaseModel):
    """The agreement with frontier labels the experiment's judge was measured to have (or that it was not)."""

    model_config = ConfigDict(extra="allow")  # the measured figures, when calibrated

    judge: str
    calibrated: bool
    text: str


class ExperimentSummary(BaseModel):
    # Stores written by earlier releases lack newer fields: every field has a default.
    model_config = ConfigDict(extra="ignore")

    quality: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n_cases: int = 0
    n_scored: int = 0
    n_unscored: int = 0
    n_failed: int = 0
    dimensions: dict[str, float] = Field(default_factory=dict)
    categories: dict[str, GroupQuality] = Field(default_factory=dict)
    difficulties: dict[str, GroupQuality] = Field(default_factory=dict)
    wtl: dict[str, int] = Field(default_factory=dict)
    unscored_reasons: dict[str, int] = Field(default_factory=dict)
    per_case: dict[str, float] = Field(default_factory=dict)
    critical_failures: dict[str, int] = Field(default_factory=dict)
    position_consistency: float | None = None  # LLM judges: share of pairwise verdicts agreeing in both orders
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    leaks: list[LeakRecord] = Field(default_factory=list)
    detectors: list[str] = Field(default_factory=list)  # the ruler's critical-failure detectors, if any
    judge_agreement: JudgeAgreement | None = None
    fields: dict[str, float] = Field(
        default_factory=dict
    )  # json tasks: per-field accuracy against the gold (reference_json.field_accuracy)

    @property
    def n_critical(self) -> int:
        return sum(self.critical_failures.values())

    @classmethod
    def of(cls, row: ExperimentRow) -> ExperimentSummary:
        """The summary of a stored experiment (empty while it runs); a damaged one is a one-line error."""
        try:
            return cls.model_validate(row.summary or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ParityError(
                f"experiment #{row.id} has a damaged summary ({where}: {first['msg']})",
                "the store",
                f"re-run it, or resume it: parity run --resume {row.id}",
            ) from None

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def experiment_json(row: ExperimentRow) -> dict[str, object]:
    """The JSON shape of one experiment in `parity show --json` and the dashboard."""
    summary = ExperimentSummary.of(row)
    return {
        "id": row.id,
        "agent": row.agent_name,
        "gate": row.gate,
        "quality": row.quality,
        "ci_low": row.ci_low,
        "ci_high": row.ci_high,
        "ceiling": row.ceiling,
        "parity_ratio": parity_ratio(row.quality, row.ceiling),
        "dimensions": summary.dimensions,
        "wtl": summary.wtl,
        "n_cases": summary.n_cases,
        "n_unscored": summary.n_unscored,
        "verdict": row.verdict,
        "status": row.status,
        "cost_usd": row.cost_usd,
        "model": (row.agent_config or {}).get("model"),
        "hypothesis": row.hypothesis,
        "method": row.method,
        "decision": row.decision,
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
        "wall_s": row.wall_s,
        "leaks": [leak.model_dump() for leak in summary.leaks],
        "judge_agreement": summary.judge_agreement.model_dump() if summary.judge_agreement else None,
        "categories": {k: v.model_dump() for k, v in summary.categories.items()},
        "difficulties": {k: v.model_dump() for k, v in summary.difficulties.items()},
        "fields": summary.fields,
        "critical_failures": summary.critical_failures,
        "n_critical": summary.n_critical,
        "config_diff": row.config_diff,
        "git_commit": row.git_commit,
        "screened_by": row.screened_by,
        "ruler_fingerprint": row.ruler_fingerprint,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }

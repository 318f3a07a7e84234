"""Judges: the offline reference judge and LLM judges, behind the same `judge(case, answer, repeat)`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from parity.errors import ParityError
from parity.judge.base import VERDICT_SCORE, Judgment, Verdict
from parity.judge.detectors import DetectingJudge
from parity.judge.fitted import FittedReferenceJudge, load_params, missing_dimensions
from parity.judge.llm import LLMJudge
from parity.judge.reference import SIGNALS as QUESTION_SIGNALS
from parity.judge.reference import ReferenceJudge
from parity.judge.reference_json import JsonReferenceJudge, check_fields
from parity.judge.reference_text import SIGNALS as FREE_TEXT_SIGNALS
from parity.models.embedder import get_embedder, workspace_cache
from parity.task import RubricSpec, Workspace

__all__ = ["VERDICT_SCORE", "Judge", "Judgment", "LLMJudge", "ReferenceJudge", "Verdict", "check_rubric", "make_judge"]

Judge = ReferenceJudge | FittedReferenceJudge | LLMJudge | DetectingJudge

# What `--judge` may name besides a model spec: the workspace's own reference judge, or one version.
REFERENCE_SPECS = {"reference": "reference", "reference-v1": "v1", "reference-v2": "v2"}


def make_judge(ws: Workspace, use_cache: bool = True, model_spec: str | None = None, rubric: RubricSpec | None = None) -> Judge:
    """The workspace's judge; `model_spec` swaps in another judge ("reference" or a model spec) for
    calibration, `rubric` another rubric (a blinded one, for `parity analyze blind`)."""
    spec = ws.config.judge
    rubric = rubric or ws.config.rubric
    version = REFERENCE_SPECS.get(model_spec or "")
    kind = "reference" if version is not None else ("llm" if model_spec else spec.kind)
    judge: Judge
    if kind == "reference":
        judge = _reference_judge(ws, rubric, version or "reference", workspace_cache(ws.state_dir) if use_cache else None)
    else:
        from parity.models import open_model, parse_spec

        text = model_spec or spec.model or ""
        cache_dir = ws.state_dir / "cache" / "completions" if use_cache else None
        model = open_model(parse_spec(text, "parity.toml [judge] model"), ws.root, cache_dir, spec.backend, where="parity.toml [judge]")
        judge = LLMJudge(model, ws.task, rubric, spec.temperature, spec.seed, spec.max_tokens)
    return with_detectors(ws, judge, rubric)


def check_rubric(ws: Workspace) -> None:
    """Refuse a rubric dimension the workspace's judge cannot score: at `ruler lock` and before every run,
    not as a ruler whose every case comes back unscored. An LLM judge reads any dimension's description."""
    spec, rubric = ws.config.judge, ws.config.rubric
    if spec.kind == "llm":
        return
    if spec.fitted:
        missing_dimensions(rubric, load_params(ws.root / spec.fitted, spec.fitted))
        return
    if ws.task.is_json:
        check_fields(rubric, ws.task)
        return
    check_signals(rubric, FREE_TEXT_SIGNALS if ws.task.free_text else QUESTION_SIGNALS)


def check_signals(rubric: RubricSpec, signals: Iterable[str]) -> None:
    known = list(signals)
    for name, dim in rubric.dimensions.items():
        if (dim.signal or name) not in known:
            raise ParityError(
                f"the reference judge has no signal '{dim.signal or name}' for dimension '{name}'",
                f"parity.toml [rubric.dimensions.{name}]",
                f'set signal = one of {", ".join(known)}, or use an LLM judge ([judge] kind = "llm")',
            )


def with_detectors(ws: Workspace, judge: Judge, rubric: RubricSpec | None = None) -> Judge:
    """The ruler's critical-failure detectors over any judge: they fail a case whatever it says."""
    if ws.config.detectors:
        return DetectingJudge(judge, ws.config.detectors, rubric or ws.config.rubric)
    return judge


def _reference_judge(ws: Workspace, rubric: RubricSpec, version: str, cache_dir: Path | None) -> ReferenceJudge | FittedReferenceJudge:
    spec = ws.config.judge
    if version == "v2" and not spec.fitted:
        raise ParityError(
            "this workspace has no fitted reference judge (v2)",
            "parity.toml [judge]",
            "fit one: parity calibrate --labels calibration/labels.jsonl --fit calibration/judge-fit.json, then set fitted = that file",
        )
    if ws.task.is_json:
        if spec.fitted and version != "v1":
            raise ParityError(
                "a fitted reference judge (v2) is not available for json tasks",
                f"parity.toml [judge] fitted = {spec.fitted!r}",
                'remove fitted (the json reference judge compares fields), or use an LLM judge ([judge] kind = "llm")',
            )
        return JsonReferenceJudge(rubric, ws.task, get_embedder(spec.embedder, cache_dir), spec.tie_margin, spec.number_tolerance)
    if spec.fitted and version != "v1":
        params = load_params(ws.root / spec.fitted, spec.fitted)
        if (params.task_kind == "free_text") != ws.task.free_text:
            raise ParityError(
                f"the fitted judge was fit on a {params.task_kind} task, this task is {ws.task.kind}",
                f"parity.toml [judge] fitted = {spec.fitted!r}",
                "fit it on this workspace's labels: parity calibrate --labels FILE --fit OUT",
            )
        return FittedReferenceJudge(rubric, get_embedder(spec.embedder, cache_dir), params)
    if not ws.task.free_text:
        check_signals(rubric, QUESTION_SIGNALS)
        return ReferenceJudge(rubric, get_embedder(spec.embedder, cache_dir), spec.tie_margin)
    from parity.judge.reference_text import FreeTextReferenceJudge

    check_signals(rubric, FREE_TEXT_SIGNALS)
    return FreeTextReferenceJudge(rubric, get_embedder(spec.embedder, cache_dir), spec.tie_margin)

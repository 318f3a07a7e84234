"""How far to trust one judge against another: both score the same stored answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.cases import load_cases
from parity.errors import ParityError
from parity.io import canonical_json
from parity.judge import Judge, make_judge
from parity.judge.detectors import DetectingJudge
from parity.labels import GENERATED_PREFIXES, GOLD_ALT_SOURCE, LabelledItem, LabelSet, Split, label_quality, load_labels
from parity.metrics import case_quality
from parity.ruler import Ruler
from parity.statuses import JudgmentStatus
from parity.store import Store
from parity.task import Answer, Workspace

VERDICTS = ["win", "tie", "loss"]


@dataclass
class Calibration:
    n_answers: int
    n_both_scored: int
    spearman: dict[str, float | None]  # per dimension; None when either judge gave one constant score
    quality_spearman: float | None
    pairwise_agreement: float | None
    cohen_kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cohen_kappa(a: Sequence[str | None], b: Sequence[str | None]) -> float | None:
    """Agreement on verdicts beyond chance; None when chance agreement is already total."""
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    expected = sum((a.count(v) / n) * (b.count(v) / n) for v in VERDICTS)
    return None if expected >= 1 else (observed - expected) / (1 - expected)


def _spearman(x: list[float], y: list[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(spearmanr(x, y).statistic)


def calibrate(
    ws: Workspace,
    ruler: Ruler,
    store: Store,
    judge: Judge,
    against: Judge,
    experiment_ids: list[int],
    limit: int | None,
    on_step: Callable[[], None] | None = None,
) -> Calibration:
    cases = {case.id: case for case in ruler.cases}
    seen, items = set(), []
    for experiment_id in experiment_ids:
        for r in store.case_rows(experiment_id):
            key = (r.case_id, str(r.answer))
            if r.answer is not None and r.case_id in cases and key not in seen:
                seen.add(key)
                items.append((cases[r.case_id], Answer.from_dict(r.answer)))
    items = items[:limit] if limit else items
    pairs = []
    for case, answer in items:
        pairs.append((judge.judge(case, answer), against.judge(case, answer)))
        if on_step:
            on_step()
    both = [(a, b) for a, b in pairs if a.status == JudgmentStatus.SCORED and b.status == JudgmentStatus.SCORED]
    rubric, metric = ws.config.rubric, ws.config.metric
    qualities = [
        (qa, qb)
        for a, b in both
        if (qa := case_quality(a, rubric, metric)) is not None and (qb := case_quality(b, rubric, metric)) is not None
    ]
    return Calibration(
        n_answers=len(items),
        n_both_scored=len(both),
        spearman={d: _spearman([a.scores[d] for a, _ in both], [b.scores[d] for _, b in both]) for d in rubric.dimensions},
        quality_spearman=_spearman([qa for qa, _ in qualities], [qb for _, qb in qualities]),
        pairwise_agreement=float(np.mean([a.verdict == b.verdict for a, b in both])) if both else None,
        cohen_kappa=cohen_kappa([a.verdict for a, _ in both], [b.verdict for _, b in both]),
    )


@dataclass
class SourceAgreement:
    source: str
    n: int
    judge_quality: float
    label_quality: float
    judge_ratio: float | None  # quality / the set's ceiling (gold_alt), under each
    label_ratio: float | None
    judge_delta: list[float] | None = None  # paired against the baseline source: [Δ, CI low, CI high]
    label_delta: list[float] | None = None


@dataclass
class LabelAgreement:
    """One judge against a frontier-labelled set, beside the labels' own inter-judge agreement."""

    labels: str
    fingerprint: str
    split: str
    n_items: int
    n_scored: int
    n_model_answers: int
    spearman: dict[str, float | None]  # per dimension, over model answers
    quality_spearman: float | None  # per answer, model answers only (gold_alt excluded)
    quality_spearman_all: float | None  # gold_alt included
    quality_spearman_generated: float | None  # only answers a model generated (agent: and adapter: sources)
    verdict_accuracy: float | None
    cohen_kappa: float | None
    system_spearman: float | None  # sources ordered by mean quality
    system_pairs_same_order: float | None  # share of source pairs the two order the same way
    system_pairs_clear: int  # source pairs whose label means differ by more than CLEAR_GAP
    system_pairs_clear_wrong: list[str]  # ... and the ones the judge orders the other way
    ceiling_judge: float | None
    ceiling_labels: float | None
    max_ratio_error: float | None  # max over sources of |judge ratio − label ratio|
    max_ratio_error_models: float | None  # ... over the sources a model generated (agents, adapters)
    n_failed: int  # answers the ruler's detectors fail: the worst outcome under the judge and the labels alike
    sources: list[SourceAgreement]
    inter_judge: dict[str, Any]  # the labels' own agreement on double-judged items

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


CLEAR_GAP = 0.03  # a label gap larger than this between two sources must be ordered the same way


def agree_with_labels(
    ws: Workspace,
    judge: Judge,
    labels: LabelSet,
    split: Split | None,
    on_step: Callable[[], None] | None = None,
    baseline: str | None = None,
) -> LabelAgreement:
    """`judge` against the labels. When it carries the ruler's detectors, the labels get them too: a
    frontier judge run by parity would have its answers failed by the same patterns."""
    rubric, metric = ws.config.rubric, ws.config.metric
    items = labels.where(split)
    rows = []  # (item, judgment, judge quality, label quality)
    for item in items:
        judgment = judge.judge(item.case, item.candidate)
        quality = case_quality(judgment, rubric, metric)
        if quality is not None:
            rows.append((item, judgment, quality, 0.0 if _failed(judgment) else label_quality(item, ws)))
        if on_step:
            on_step()
    distinct = _distinct(rows)  # two sources with one answer count once per case, but in both sources
    model = [r for r in distinct if r[0].is_model_answer]
    generated = [r for r in model if r[0].source.startswith(GENERATED_PREFIXES)]
    label_scores = {d: [_label_score(r, d, rubric.scale_min) for r in model] for d in rubric.dimensions}
    first_verdicts = ["loss" if _failed(r[1]) else r[0].judgings[0].verdict for r in distinct]
    sources = source_agreements([(r[0].source, r[2], r[3]) for r in rows])
    ceiling_j = next((s.judge_quality for s in sources if s.source == GOLD_ALT_SOURCE), None)
    ceiling_l = next((s.label_quality for s in sources if s.source == GOLD_ALT_SOURCE), None)
    if baseline is not None:
        _paired_deltas(ws, rows, sources, baseline)
    pairs, same, clear, wrong = order_pairs(sources)
    return LabelAgreement(
        labels=labels.path,
        fingerprint=labels.fingerprint,
        split=split.value if split else "all",
        n_items=len(items),
        n_scored=len(rows),
        n_model_answers=len(model),
        spearman={d: _spearman([r[1].scores[d] for r in model], label_scores[d]) for d in rubric.dimensions},
        quality_spearman=_spearman([r[2] for r in model], [r[3] for r in model]),
        quality_spearman_all=_spearman([r[2] for r in distinct], [r[3] for r in distinct]),
        quality_spearman_generated=_spearman([r[2] for r in generated], [r[3] for r in generated]),
        verdict_accuracy=float(np.mean([r[1].verdict == v for r, v in zip(distinct, first_verdicts)])) if distinct else None,
        cohen_kappa=cohen_kappa([r[1].verdict for r in distinct], first_verdicts),
        system_spearman=_spearman([s.judge_quality for s in sources], [s.label_quality for s in sources]),
        system_pairs_same_order=same / pairs if pairs else None,
        system_pairs_clear=clear,
        system_pairs_clear_wrong=wrong,
        ceiling_judge=ceiling_j,
        ceiling_labels=ceiling_l,
        max_ratio_error=max_ratio_error(sources),
        max_ratio_error_models=max_ratio_error(sources, GENERATED_PREFIXES),
        n_failed=sum(_failed(r[1]) for r in rows),
        sources=sources,
        inter_judge=inter_judge_agreement(ws, items),
    )


def _distinct(rows: list[tuple]) -> list[tuple]:
    seen, out = set(), []
    for r in rows:
        key = (r[0].case.id, canonical_json(r[0].candidate.to_dict()))  # a JSON answer holds a dict: not hashable
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _failed(judgment) -> bool:
    return judgment.critical is not None


def _label_score(row: tuple, dimension: str, worst: float) -> float:
    if _failed(row[1]):  # failed by a detector: the labels are overridden too
        return worst
    return sum(j.scores[dimension] for j in row[0].judgings) / len(row[0].judgings)


def source_agreements(rows: list[tuple[str, float, float]]) -> list[SourceAgreement]:
    """(source, judge quality, label quality) per answer → each source's means and parity ratios,
    ordered by the labels' quality."""
    grouped: dict[str, list[tuple]] = {}
    for r in rows:
        grouped.setdefault(r[0], []).append(r)
    out = [
        SourceAgreement(name, len(rs), float(np.mean([r[1] for r in rs])), float(np.mean([r[2] for r in rs])), None, None)
        for name, rs in grouped.items()
    ]
    ceiling = next((s for s in out if s.source == GOLD_ALT_SOURCE), None)
    for s in out:
        s.judge_ratio = s.judge_quality / ceiling.judge_quality if ceiling and ceiling.judge_quality else None
        s.label_ratio = s.label_quality / ceiling.label_quality if ceiling and ceiling.label_quality else None
    return sorted(out, key=lambda s: -s.label_quality)


def max_ratio_error(sources: list[SourceAgreement], prefixes: tuple[str, ...] | None = None) -> float | None:
    """Largest |judge ratio − label ratio| over the sources (only those named with `prefixes`, if given)."""
    errors = [
        abs(s.judge_ratio - s.label_ratio)
        for s in sources
        if s.judge_ratio is not None
        and s.label_ratio is not None
        and s.source != GOLD_ALT_SOURCE
        and (prefixes is None or s.source.startswith(prefixes))
    ]
    return max(errors) if errors else None


def _paired_deltas(ws: Workspace, rows: list[tuple], sources: list[SourceAgreement], baseline: str) -> None:
    """Each source's gain over the baseline source on the tasks both answered, under the judge and the labels."""
    from parity.metrics import paired_comparison

    metric = ws.config.metric
    by_source: dict[str, dict[str, tuple[float, float]]] = {}
    for r in rows:
        by_source.setdefault(r[0].source, {})[r[0].case.id] = (r[2], r[3])
    base = by_source.get(baseline, {})
    for s in sources:
        own = by_source[s.source]
        for index, target in ((0, "judge_delta"), (1, "label_delta")):
            c = paired_comparison(
                {k: v[index] for k, v in own.items()},
                {k: v[index] for k, v in base.items()},
                metric.confidence,
                metric.bootstrap_samples,
                metric.seed,
            )
            setattr(s, target, [c.mean_diff, c.ci_low, c.ci_high] if c.n else None)


def order_pairs(sources: list[SourceAgreement]) -> tuple[int, int, int, list[str]]:
    """Source pairs: how many, how many ordered the same way, how many clearly apart, which of those are reversed."""
    pairs = same = clear = 0
    wrong: list[str] = []
    for i, a in enumerate(sources):
        for b in sources[i + 1 :]:
            pairs += 1
            label_gap, judge_gap = a.label_quality - b.label_quality, a.judge_quality - b.judge_quality
            same += (label_gap * judge_gap) > 0 or (label_gap == 0 and judge_gap == 0)
            if abs(label_gap) > CLEAR_GAP:
                clear += 1
                if label_gap * judge_gap <= 0:
                    wrong.append(f"{a.source} > {b.source} by {label_gap:+.3f} (judge: {judge_gap:+.3f})")
    return pairs, same, clear, wrong


def inter_judge_agreement(ws: Workspace, items: list[LabelledItem]) -> dict[str, Any]:
    """The frontier labels' own noise: items judged twice, first judging against second."""
    rubric, metric = ws.config.rubric, ws.config.metric
    twice = [r[0] for r in _distinct([(i,) for i in items]) if len(r[0].judgings) >= 2]
    # a label's judgings are always scored (labels.py builds them so): `or 0.0` never applies, it only types the list
    first = [case_quality(i.judgings[0], rubric, metric) or 0.0 for i in twice]
    second = [case_quality(i.judgings[1], rubric, metric) or 0.0 for i in twice]
    generated = [n for n, i in enumerate(twice) if i.source.startswith(GENERATED_PREFIXES)]
    sources = source_agreements([(i.source, a, b) for i, a, b in zip(twice, first, second)])  # first judging as "judge"
    return {
        "n_double_judged": len(twice),
        "quality_spearman": _spearman(
            [first[n] for n, i in enumerate(twice) if i.is_model_answer], [second[n] for n, i in enumerate(twice) if i.is_model_answer]
        ),
        "quality_spearman_generated": _spearman([first[n] for n in generated], [second[n] for n in generated]),
        "verdict_agreement": float(np.mean([i.judgings[0].verdict == i.judgings[1].verdict for i in twice])) if twice else None,
        "cohen_kappa": cohen_kappa([i.judgings[0].verdict for i in twice], [i.judgings[1].verdict for i in twice]),
        "spearman": {
            d: _spearman([i.judgings[0].scores[d] for i in twice], [i.judgings[1].scores[d] for i in twice]) for d in rubric.dimensions
        },
        "max_ratio_error_models": max_ratio_error(sources, GENERATED_PREFIXES),
        "max_ratio_error": max_ratio_error(sources),
        "mean_abs_quality_diff": float(np.mean([abs(a - b) for a, b in zip(first, second)])) if twice else None,
    }


def agreement_record(result: LabelAgreement, n_tasks: int) -> dict[str, Any]:
    """What a fitted judge keeps of its held-out check, for every summary it judges to show."""
    return {
        "split": result.split,
        "n_items": result.n_scored,
        "n_tasks": n_tasks,
        "quality_spearman": result.quality_spearman,
        "quality_spearman_generated": result.quality_spearman_generated,
        "system_spearman": result.system_spearman,
        "system_pairs_same_order": result.system_pairs_same_order,
        "system_pairs_clear_wrong": len(result.system_pairs_clear_wrong),
        "max_ratio_error": result.max_ratio_error,
        "max_ratio_error_models": result.max_ratio_error_models,
        "n_failed": result.n_failed,
        "verdict_accuracy": result.verdict_accuracy,
        "labels_fingerprint": result.fingerprint,
    }


def calibrate_judges(
    ws: Workspace,
    ruler: Ruler,
    store: Store,
    judge_spec: str | None,
    against_spec: str,
    experiment_ids: list[int] | None,
    limit: int | None,
    on_step: Callable[[], None] | None = None,
) -> Calibration:
    """`parity calibrate --against SPEC`: the workspace's judge (or `judge_spec`) and a second one on the
    answers stored by `experiment_ids` (default: every experiment on this ruler)."""
    ids = experiment_ids or [r.id for r in store.experiments() if r.ruler_fingerprint == ruler.fingerprint]
    if not ids:
        raise ParityError("no experiments with stored answers on this ruler", store.url, "run one first: parity run baseline")
    first, second = make_judge(ws, model_spec=judge_spec), make_judge(ws, model_spec=against_spec)
    return calibrate(ws, ruler, store, first, second, ids, limit, on_step)


SPLITS: dict[str, Split | None] = {"heldout": Split.HELDOUT, "fit": Split.FIT, "all": None, "ruler": None}


def agreement_on_labels(
    ws: Workspace,
    path: Path,
    judge_spec: str | None,
    split: str,
    baseline: str | None = None,
    no_detectors: bool = False,
    on_phase: Callable[[str, int | None], None] | None = None,
    on_step: Callable[[], None] | None = None,
) -> LabelAgreement:
    """`parity calibrate --labels FILE`: a judge against the labelled answers of one split ("ruler": the
    tasks that are this workspace's ruler cases); `no_detectors` takes the ruler's detectors off the
    judge. `on_phase(what, total)` hears when the judging starts, `on_step` each answer."""
    if split not in SPLITS:
        raise ParityError(f"unknown split '{split}'", "--split", "use heldout, fit, all or ruler")
    label_set = load_labels(path, ws)
    if split == "ruler":
        label_set = label_set.on_tasks({case.id for case in load_cases(ws)})
    if baseline is not None and baseline not in {i.source for i in label_set.items}:
        raise ParityError(
            f"no source '{baseline}' in the label set", str(path), f"use one of: {', '.join(sorted({i.source for i in label_set.items}))}"
        )
    items = label_set.where(SPLITS[split])
    if not items:
        raise ParityError(f"no labelled answers in split '{split}'", str(path), "use --split all, or label held-out tasks")
    judge = make_judge(ws, model_spec=judge_spec)
    if no_detectors and isinstance(judge, DetectingJudge):
        judge = judge.inner
    if on_phase:
        on_phase("judging labelled answers", len(items))
    result = agree_with_labels(ws, judge, label_set, SPLITS[split], on_step, baseline)
    result.split = split
    return result

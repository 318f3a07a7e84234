"""Rich tables for results that the CLI prints. The CLI's consoles read no markup, so stored or labelled
text is printed as it is."""

from __future__ import annotations

from rich.table import Table

from parity.analysis.calibration import LabelAgreement


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _delta(value: list[float] | None) -> str:
    return "—" if not value else f"{value[0]:+.3f} [{value[1]:+.3f}, {value[2]:+.3f}]"


def label_agreement_tables(result: LabelAgreement, judge_name: str) -> list[Table]:
    """The judge against the labels, the labels against themselves beside it, then per source."""
    inter = result.inter_judge
    head = Table(
        title=f"{judge_name} judge vs frontier labels — split {result.split}: {result.n_scored} of {result.n_items} answers scored, {result.n_model_answers} model answers"
    )
    head.add_column("measure", style="bold")
    head.add_column("judge vs labels", justify="right")
    head.add_column("labels vs labels (ceiling)", justify="right")
    head.add_row("quality Spearman, model answers", fmt(result.quality_spearman), fmt(inter["quality_spearman"]))
    head.add_row(
        "quality Spearman, generated answers only", fmt(result.quality_spearman_generated), fmt(inter["quality_spearman_generated"])
    )
    head.add_row("quality Spearman, with gold_alt", fmt(result.quality_spearman_all), "")
    for name, rho in result.spearman.items():
        head.add_row(f"Spearman {name}", fmt(rho), fmt(inter["spearman"].get(name)))
    head.add_row("verdict accuracy", fmt(result.verdict_accuracy), fmt(inter["verdict_agreement"]))
    head.add_row("verdict Cohen's κ", fmt(result.cohen_kappa), fmt(inter["cohen_kappa"]))
    head.add_row("system Spearman (sources)", fmt(result.system_spearman), "")
    head.add_row("source pairs ordered the same", fmt(result.system_pairs_same_order), "")
    wrong = len(result.system_pairs_clear_wrong)
    head.add_row("clearly apart pairs reversed", f"{wrong} of {result.system_pairs_clear}", "")
    head.add_row("ceiling (gold_alt quality)", f"{fmt(result.ceiling_judge)} vs {fmt(result.ceiling_labels)}", "")
    head.add_row("max parity-ratio error, model sources", fmt(result.max_ratio_error_models), fmt(inter.get("max_ratio_error_models")))
    head.add_row("max parity-ratio error, all sources", fmt(result.max_ratio_error), fmt(inter.get("max_ratio_error")))
    if result.n_failed:
        head.add_row("failed by the ruler's detectors (worst under both)", str(result.n_failed), "")
    head.add_row("double-judged items", "", str(inter["n_double_judged"]))
    head.caption = f"labels {result.labels} · sha256 {result.fingerprint[:16]}"

    sources = Table(title="by source (ordered by the labels' quality)")
    deltas = any(s.judge_delta for s in result.sources)
    columns = ["source", "n", "judge quality", "label quality", "judge ratio", "label ratio"] + (
        ["judge Δ vs baseline", "label Δ vs baseline"] if deltas else []
    )
    for column in columns:
        sources.add_column(column, justify="left" if column == "source" else "right")
    for s in result.sources:
        extra = [_delta(s.judge_delta), _delta(s.label_delta)] if deltas else []
        sources.add_row(
            s.source, str(s.n), fmt(s.judge_quality), fmt(s.label_quality), fmt(s.judge_ratio, 2), fmt(s.label_ratio, 2), *extra
        )
    tables = [head, sources]
    if result.system_pairs_clear_wrong:
        reversed_pairs = Table(title="source pairs the judge orders against the labels (label gap > 0.03)")
        reversed_pairs.add_column("pair")
        for line in result.system_pairs_clear_wrong:
            reversed_pairs.add_row(line)
        tables.append(reversed_pairs)
    return tables

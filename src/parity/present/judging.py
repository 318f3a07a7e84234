"""How far to trust a judge, in the terminal: its noise when it judges identical answers again, its
agreement with a second judge, and with frontier labels."""

from __future__ import annotations

from rich.table import Table

from parity.analysis.calibration import Calibration, LabelAgreement
from parity.analysis.noise import NoiseReport
from parity.present.numbers import signed_ci
from parity.present.terminal import kv_table, num


def noise_table(report: NoiseReport) -> Table:
    table = kv_table(f"judge noise on experiment #{report.experiment_id}: {report.times} re-judgments of identical answers")
    table.add_row("logged quality", num(report.logged_quality))
    table.add_row("re-judged", ", ".join(num(q) for q in report.qualities))
    table.add_row("SD of quality", num(report.quality_sd, 4))
    table.add_row("mean per-case SD", num(report.case_quality_sd, 4))
    for name, sd in report.dimensions_sd.items():
        table.add_row(f"  SD {name}", num(sd, 4))
    table.add_row("unscored per run", ", ".join(map(str, report.unscored)))
    return table


def judges_table(result: Calibration, judge_name: str, against: str) -> Table:
    """Two judges on the same stored answers."""
    table = kv_table(f"{judge_name} vs {against}: {result.n_both_scored} of {result.n_answers} answers scored by both")
    for name, rho in result.spearman.items():
        table.add_row(f"Spearman {name}", num(rho) if rho is not None else "n/a (a judge gave one constant score)")
    table.add_row("Spearman quality", num(result.quality_spearman))
    table.add_row("pairwise agreement", num(result.pairwise_agreement))
    table.add_row("Cohen's kappa", num(result.cohen_kappa))
    return table


def label_agreement_tables(result: LabelAgreement, judge_name: str) -> list[Table]:
    """The judge against the labels, the labels against themselves beside it, then per source."""
    tables = [_agreement_table(result, judge_name), _sources_table(result)]
    if result.system_pairs_clear_wrong:
        reversed_pairs = Table(title="source pairs the judge orders against the labels (label gap > 0.03)")
        reversed_pairs.add_column("pair")
        for line in result.system_pairs_clear_wrong:
            reversed_pairs.add_row(line)
        tables.append(reversed_pairs)
    return tables


def _agreement_table(result: LabelAgreement, judge_name: str) -> Table:
    inter = result.inter_judge
    head = Table(
        title=f"{judge_name} judge vs frontier labels — split {result.split}: {result.n_scored} of {result.n_items} answers scored, {result.n_model_answers} model answers"
    )
    head.add_column("measure", style="bold")
    head.add_column("judge vs labels", justify="right")
    head.add_column("labels vs labels (ceiling)", justify="right")
    head.add_row("quality Spearman, model answers", num(result.quality_spearman), num(inter["quality_spearman"]))
    head.add_row(
        "quality Spearman, generated answers only", num(result.quality_spearman_generated), num(inter["quality_spearman_generated"])
    )
    head.add_row("quality Spearman, with gold_alt", num(result.quality_spearman_all), "")
    for name, rho in result.spearman.items():
        head.add_row(f"Spearman {name}", num(rho), num(inter["spearman"].get(name)))
    head.add_row("verdict accuracy", num(result.verdict_accuracy), num(inter["verdict_agreement"]))
    head.add_row("verdict Cohen's κ", num(result.cohen_kappa), num(inter["cohen_kappa"]))
    head.add_row("system Spearman (sources)", num(result.system_spearman), "")
    head.add_row("source pairs ordered the same", num(result.system_pairs_same_order), "")
    head.add_row("clearly apart pairs reversed", f"{len(result.system_pairs_clear_wrong)} of {result.system_pairs_clear}", "")
    head.add_row("ceiling (gold_alt quality)", f"{num(result.ceiling_judge)} vs {num(result.ceiling_labels)}", "")
    head.add_row("max parity-ratio error, model sources", num(result.max_ratio_error_models), num(inter.get("max_ratio_error_models")))
    head.add_row("max parity-ratio error, all sources", num(result.max_ratio_error), num(inter.get("max_ratio_error")))
    if result.n_failed:
        head.add_row("failed by the ruler's detectors (worst under both)", str(result.n_failed), "")
    head.add_row("double-judged items", "", str(inter["n_double_judged"]))
    head.caption = f"labels {result.labels} · sha256 {result.fingerprint[:16]}"
    return head


def _sources_table(result: LabelAgreement) -> Table:
    sources = Table(title="by source (ordered by the labels' quality)")
    deltas = any(s.judge_delta for s in result.sources)
    columns = ["source", "n", "judge quality", "label quality", "judge ratio", "label ratio"] + (
        ["judge Δ vs baseline", "label Δ vs baseline"] if deltas else []
    )
    for column in columns:
        sources.add_column(column, justify="left" if column == "source" else "right")
    for s in result.sources:
        extra = [signed_ci(s.judge_delta), signed_ci(s.label_delta)] if deltas else []
        sources.add_row(
            s.source, str(s.n), num(s.judge_quality), num(s.label_quality), num(s.judge_ratio, 2), num(s.label_ratio, 2), *extra
        )
    return sources

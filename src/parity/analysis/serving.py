"""`parity analyze serving NAME`: does what you ship score what you trained? The same agent, the same
ruler and judge, through every way the adapter can be served: on its base in transformers (the
reference: what training measured), merged in transformers, each rung of the GGUF quantization
ladder in llama.cpp, the GGUF LoRA on the f16 base and on the base's own (quantized) file, and any
served endpoint. Each variant's paired difference from the reference, with its CI, says whether it
is within the noise; greedy agreement says how often it writes the very same answer units."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.agent import Agent, build_agent, load_agent
from parity.agent.config import AgentConfig
from parity.analysis.compare import compare
from parity.analysis.prompt_parity import PromptParity, check_engine
from parity.analysis.record import Analysis, new_figure
from parity.errors import ParityError
from parity.experiment import SERVING_METHOD, ExperimentSummary, run_experiment
from parity.judge import Judge
from parity.loop.rules import keep
from parity.models import parse_spec
from parity.models.hf import is_whole_model
from parity.ruler import Ruler
from parity.store import CaseRow, Store
from parity.task import Answer, Workspace
from parity.train.base import BaseWeights, resolve_base, serving_spec
from parity.train.export import QUANTS, export_merged_folder, export_recorded, trained_adapter

REFERENCE = "adapter on base (transformers)"
AGREEMENT_TARGET = 0.90  # greedy answer units a llama.cpp variant should share with the reference


@dataclass(frozen=True)
class Variant:
    label: str
    model: str  # the agent's model spec for this variant
    adapter: str | None  # the agent's adapter: field
    shipped: tuple[Path, ...]  # what a user would ship to serve it (its size is reported)


def variants(
    ws: Workspace, store: Store, name: str, quants: list[str], endpoints: list[str], status: Callable[[str], None]
) -> list[Variant]:
    """Every serving variant of the adapter, exporting the files they need into .parity/exports."""
    unknown = [q for q in quants if q not in QUANTS]
    if unknown:
        raise ParityError(f"unknown quantization '{unknown[0]}'", "--quant", f"use any of: {', '.join(QUANTS)} (comma-separated)")
    for spec in endpoints:
        parse_spec(spec, "--endpoint")
    row = trained_adapter(store, name, "parity analyze serving")
    if is_whole_model(Path(row.path)):
        raise ParityError(
            f"'{name}' was fully fine-tuned (--full): there is no adapter to serve in other ways",
            "parity analyze serving",
            f"export it (parity export gguf {name} --quant f16,q4_k_m) and compare the files with parity run",
        )
    base = resolve_base(row.base, ws.root)
    adapter = Path(row.path)
    exports = ws.state_dir / "exports"
    found: list[Variant] = [Variant(REFERENCE, serving_spec(row.base), name, (base.folder, adapter))]
    status("merging into a transformers folder")
    merged = export_merged_folder(base, adapter, exports / f"{name}-merged")
    found.append(Variant("merged (transformers)", f"hf:{merged}", None, (merged,)))
    status(f"exporting the GGUF ladder ({', '.join(quants)}) and the GGUF LoRA")
    ladder = {q: exports / f"{name}-{q}.gguf" for q in QUANTS if q in quants}
    written = export_recorded(store, row, ws.root, ladder, exports / f"{name}-lora.gguf")
    for quant, (path, _) in written.items():
        if quant != "lora":
            found.append(Variant(f"merged GGUF {quant} (llama.cpp)", f"llamacpp:{path}", None, (path,)))
    lora = written["lora"][0]
    if base.source.suffix == ".gguf":
        base_f16 = _base_f16(base, exports)
        found.append(Variant("GGUF LoRA on f16 base (llama.cpp)", f"llamacpp:{base_f16}", str(lora), (base_f16, lora)))
        found.append(
            Variant(f"GGUF LoRA on {_file_type(base.source)} base (llama.cpp)", f"llamacpp:{base.source}", str(lora), (base.source, lora))
        )
    found += [Variant(f"served {spec}", spec, None, ()) for spec in endpoints]
    return found


def _base_f16(base: BaseWeights, exports: Path) -> Path:
    """The base alone as an f16 GGUF (what a GGUF LoRA is applied to at full precision), once per base."""
    from parity.train.export import export_ladder

    path = exports / f"base-{base.identity.removeprefix('sha256:')[:12]}-f16.gguf"
    if not path.is_file():
        export_ladder(base, None, {"f16": path}, f"base {base.identity}")
    return path


def _file_type(path: Path) -> str:
    import gguf

    reader = gguf.GGUFReader(str(path))
    kind = int(reader.fields["general.file_type"].contents())
    return gguf.LlamaFileType(kind).name.removeprefix("MOSTLY_").lower()


def serving(
    ws: Workspace,
    ruler: Ruler,
    store: Store,
    judge: Judge,
    name: str,
    agent_name: str,
    found: list[Variant],
    gate: str,
    on_case: Callable[..., None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> Analysis:
    harness = serving_harness(ws, agent_name)
    adapter = store.adapter(name)
    assert adapter is not None  # variants() checked it
    base_folder = resolve_base(adapter.base, ws.root).folder
    first_input = ruler.gate(gate)[0].input
    runs: dict[str, int] = {}
    prompts: dict[str, PromptParity] = {}
    for variant in found:
        agent = _variant_agent(ws, harness, variant, name)
        if on_start:
            on_start(variant.label)
        prompts[variant.label] = check_engine(variant.label, _engine(agent), agent.request(first_input), base_folder)
        outcome = run_experiment(
            ws, ruler, agent, judge, store, gate, f"serving {name}: {variant.label}", keep, on_case, method=SERVING_METHOD
        )
        runs[variant.label] = outcome.experiment_id
    return _analysis(ws, ruler, store, name, agent_name, gate, found, runs, prompts)


def serving_harness(ws: Workspace, agent_name: str) -> Agent:
    """The agent every variant runs: a YAML agent, whose model and adapter each variant replaces."""
    harness = load_agent(ws, agent_name)
    if harness.python is not None:
        raise ParityError(
            f"agent '{agent_name}' is a Python agent; serving variants swap a YAML agent's model and adapter",
            "--agent",
            "name a YAML agent (agents/NAME.yaml) that the adapter was trained for",
        )
    return harness


def _variant_agent(ws: Workspace, harness: Agent, variant: Variant, name: str) -> Agent:
    config = AgentConfig.model_validate(
        {**harness.config.model_dump(), "model": variant.model, "adapter": variant.adapter, "name": f"serving {name}: {variant.label}"}
    )
    return build_agent(ws, config, parse_spec(config.model, "--endpoint"), harness.source, use_cache=True)


def _engine(agent: Agent) -> Any:
    return getattr(agent.model, "inner", agent.model)  # past the completion cache: the engine itself


def answer_units(answer: dict[str, Any] | None) -> list[str]:
    """What greedy agreement compares: the title and each question, each JSON field, or the text."""
    if not answer:
        return []
    parsed = Answer.from_dict(answer)
    if parsed.data is not None:
        return (
            [f"{key}={json.dumps(value, sort_keys=True)}" for key, value in sorted(parsed.data.items())]
            if isinstance(parsed.data, dict)
            else [json.dumps(parsed.data)]
        )
    if parsed.text is not None:
        return [parsed.text.strip()]
    return [parsed.title.strip(), *(q.strip() for q in parsed.questions)]


def greedy_agreement(reference: list[CaseRow], other: list[CaseRow]) -> float | None:
    """Share of the reference's answer units the other variant wrote identically, in the same place
    (a unit either side lacks counts as a disagreement)."""
    theirs = {r.case_id: answer_units(r.answer) for r in other}
    same = total = 0
    for row in reference:
        if row.case_id not in theirs:
            continue
        mine, its = answer_units(row.answer), theirs[row.case_id]
        same += sum(1 for a, b in zip(mine, its) if a == b)
        total += max(len(mine), len(its), 1)
    return same / total if total else None


def tokens_per_s(rows: list[CaseRow]) -> float | None:
    timed = [r for r in rows if r.latency_s > 0 and r.completion_tokens > 0]
    seconds = sum(r.latency_s for r in timed)
    return sum(r.completion_tokens for r in timed) / seconds if seconds else None


def shipped_mb(paths: tuple[Path, ...]) -> float | None:
    if not paths:
        return None
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()]
    return sum(f.stat().st_size for f in files) / 1e6


def _analysis(
    ws: Workspace,
    ruler: Ruler,
    store: Store,
    name: str,
    agent_name: str,
    gate: str,
    found: list[Variant],
    runs: dict[str, int],
    prompts: dict[str, PromptParity],
) -> Analysis:
    reference_id = runs[REFERENCE]
    reference_rows = store.case_rows(reference_id)
    reference = ExperimentSummary.of(store.require_experiment(reference_id))
    dimensions = list(ws.config.rubric.dimensions)
    categories = sorted(reference.categories)
    rows: list[list[Any]] = []
    for variant in found:
        experiment_id = runs[variant.label]
        row = store.require_experiment(experiment_id)
        summary = ExperimentSummary.of(row)
        case_rows = store.case_rows(experiment_id)
        paired = compare(ws, store, experiment_id, reference_id) if experiment_id != reference_id else None
        prompt = prompts[variant.label]
        rows.append(
            [
                variant.label,
                experiment_id,
                row.quality,
                row.ci_low,
                row.ci_high,
                paired.diff if paired else None,
                paired.ci_low if paired else None,
                paired.ci_high if paired else None,
                greedy_agreement(reference_rows, case_rows),
                summary.n_critical if summary.detectors else None,
                tokens_per_s(case_rows),
                shipped_mb(variant.shipped),
                "same" if prompt.same else ("count only" if prompt.same is None else f"differs at {prompt.first_difference}"),
                *[_delta(summary.dimensions.get(d), reference.dimensions.get(d)) for d in dimensions],
                *[_delta(_group(summary, c), _group(reference, c)) for c in categories],
            ]
        )
    columns = [
        "variant",
        "experiment",
        "quality",
        "CI low",
        "CI high",
        "Δ vs adapter on base",
        "Δ CI low",
        "Δ CI high",
        "greedy agreement",
        "critical failures",
        "tokens/s",
        "size MB",
        "prompt as trained",
        *[f"Δ {d}" for d in dimensions],
        *[f"Δ {c}" for c in categories],
    ]
    return Analysis(
        "serving",
        ruler.fingerprint,
        {
            "adapter": name,
            "agent": agent_name,
            "gate": gate,
            "experiments": runs,
            "prompt_parity": {k: v.detail for k, v in prompts.items()},
        },
        columns,
        rows,
        findings(rows, prompts),
        _plot(rows),
    )


def _delta(value: float | None, reference: float | None) -> float | None:
    return value - reference if value is not None and reference is not None else None


def _group(summary: ExperimentSummary, category: str) -> float | None:
    group = summary.categories.get(category)
    return group.quality if group else None


def findings(rows: list[list[Any]], prompts: dict[str, PromptParity]) -> list[str]:
    """Which variants are within the noise of the reference (the paired CI of Δ reaches 0 or above),
    the cheapest of them, what each loses otherwise, and every prompt that is not training's."""
    out: list[str] = []
    within = [r for r in rows[1:] if r[7] is not None and r[7] >= 0]
    below = [r for r in rows[1:] if r[7] is not None and r[7] < 0]
    for r in below:
        out.append(f"{r[0]} loses {-r[5]:.3f} [{-r[7]:.3f}, {-r[6]:.3f}] quality against {REFERENCE}: beyond the noise")
    sized = [r for r in within if r[11] is not None]
    if sized:
        cheapest = min(sized, key=lambda r: r[11])
        out.append(
            f"cheapest variant within the noise of {REFERENCE}: {cheapest[0]} ({cheapest[11]:.0f} MB, Δ {cheapest[5]:+.3f} "
            f"[{cheapest[6]:+.3f}, {cheapest[7]:+.3f}])"
        )
    elif rows[1:]:
        out.append(f"no shipped variant is within the noise of {REFERENCE}")
    q4 = next((r for r in rows if "q4_k_m" in str(r[0]) and r[5] is not None), None)
    if q4 is not None:
        out.append(f"what Q4_K_M costs: Δ {q4[5]:+.3f} [{q4[6]:+.3f}, {q4[7]:+.3f}] quality, greedy agreement {_share(q4[8])}")
    for r in rows[1:]:
        if r[8] is not None and "llama.cpp" in str(r[0]) and r[8] < AGREEMENT_TARGET:
            out.append(f"{r[0]}: greedy agreement with {REFERENCE} {_share(r[8])}, under {AGREEMENT_TARGET:.0%}")
    for label, prompt in prompts.items():
        if prompt.same is False:
            out.append(f"{label}: the prompt {prompt.detail}")
    return out


def _share(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "—"


def _plot(rows: list[list[Any]]):
    figure = new_figure(8.0, 4.4)
    ax = figure.add_subplot()
    qualities = np.array([r[2] or 0.0 for r in rows])
    low = qualities - np.array([r[3] if r[3] is not None else q for r, q in zip(rows, qualities)])
    high = np.array([r[4] if r[4] is not None else q for r, q in zip(rows, qualities)]) - qualities
    colours = ["#1a9850" if i == 0 else ("#d73027" if r[7] is not None and r[7] < 0 else "#4575b4") for i, r in enumerate(rows)]
    ax.bar(range(len(rows)), qualities, yerr=[low, high], color=colours, capsize=4)
    ax.set_xticks(range(len(rows)), [str(r[0])[:34] for r in rows], rotation=25, ha="right", fontsize=7)
    ax.set_ylabel("quality [95% CI]")
    ax.set_title("One adapter through every serving variant (red: loses beyond the noise)")
    return figure

"""`parity train RECIPE`: build the recipe's data from the corpus, train a LoRA adapter, register it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from parity.cli_common import WorkspaceOpt, console, find_workspace
from parity.errors import ParityError

train_app = typer.Typer(no_args_is_help=True, help="Train LoRA adapters on the corpus (never the ruler).")
pairs_app = typer.Typer(no_args_is_help=True, help="Build preference pairs from the corpus for DPO and ORPO.")

Base = Annotated[str, typer.Option("--base", help="Model to adapt: smollm2-135m (bundled), hf:FOLDER or a .gguf file.")]
Name = Annotated[str | None, typer.Option("--name", help="Adapter name (agents use it as `adapter: NAME`); default RECIPE-DATE.")]
AgentOpt = Annotated[
    str | None, typer.Option("--agent", help="Agent whose prompt the adapter learns to answer (default: the loop's base agent).")
]
Data = Annotated[
    Path | None, typer.Option("--data", help="A JSONL file in the corpus format (input, answer) instead of corpus/train.jsonl.")
]
Epochs = Annotated[float, typer.Option("--epochs", help="Passes over the data.")]
MaxSteps = Annotated[int, typer.Option("--max-steps", help="Optimizer steps; overrides --epochs when > 0.")]
LR = Annotated[float, typer.Option("--lr", help="Learning rate.")]
Batch = Annotated[int, typer.Option("--batch-size", help="Examples per device step.")]
Accum = Annotated[int, typer.Option("--grad-accum", help="Steps accumulated per optimizer step.")]
MaxLength = Annotated[int, typer.Option("--max-length", help="Tokens per example (longer ones are truncated).")]
Rank = Annotated[int, typer.Option("--rank", help="LoRA rank.")]
Alpha = Annotated[int, typer.Option("--alpha", help="LoRA alpha.")]
Targets = Annotated[str, typer.Option("--targets", help="Comma-separated module names LoRA adapts.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed for data order and LoRA init.")]
SaveSteps = Annotated[int, typer.Option("--save-steps", help="Checkpoint every this many optimizer steps.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run of --name from its last checkpoint.")]


Pairs = Annotated[str | None, typer.Option("--pairs", help="Preference pairs built by `parity pairs build` (name or fingerprint).")]
Beta = Annotated[float, typer.Option("--beta", help="Strength of the preference term (DPO: KL to the base; ORPO: odds-ratio weight).")]
TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


@train_app.command("sft")
def sft(
    base: Base = "smollm2-135m",
    name: Name = None,
    agent: AgentOpt = None,
    data: Data = None,
    epochs: Epochs = 1.0,
    max_steps: MaxSteps = -1,
    lr: LR = 2e-4,
    batch_size: Batch = 4,
    grad_accum: Accum = 2,
    max_length: MaxLength = 768,
    rank: Rank = 16,
    alpha: Alpha = 32,
    targets: Targets = TARGETS,
    seed: Seed = 0,
    save_steps: SaveSteps = 25,
    resume: Resume = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Supervised fine-tuning on the teacher's answers to corpus inputs."""
    _train("sft", locals())


def _pair_recipe(recipe: str, default_lr: float, doc: str) -> None:
    """DPO and ORPO take the same options; only the default learning rate and the help differ."""

    def command(
        pairs: Pairs = None,
        base: Base = "smollm2-135m",
        name: Name = None,
        agent: AgentOpt = None,
        beta: Beta = 0.1,
        epochs: Epochs = 1.0,
        max_steps: MaxSteps = -1,
        lr: LR = default_lr,
        batch_size: Batch = 2,
        grad_accum: Accum = 4,
        max_length: MaxLength = 768,
        rank: Rank = 16,
        alpha: Alpha = 32,
        targets: Targets = TARGETS,
        seed: Seed = 0,
        save_steps: SaveSteps = 25,
        resume: Resume = False,
        workspace: WorkspaceOpt = None,
    ) -> None:
        _train(recipe, locals())

    command.__doc__ = doc
    train_app.command(recipe)(command)


_pair_recipe("dpo", 5e-5, "Direct preference optimization on pairs (chosen = teacher, rejected = the agent's draft).")
_pair_recipe("orpo", 1e-4, "ORPO on pairs: SFT on chosen with an odds-ratio penalty on rejected, no reference model.")


Generations = Annotated[int, typer.Option("--num-generations", help="Drafts sampled per prompt (the group for relative advantages).")]
CompletionLength = Annotated[int, typer.Option("--max-completion-length", help="Tokens per sampled draft.")]


@train_app.command("grpo")
def grpo(
    base: Base = "smollm2-135m",
    name: Name = None,
    agent: AgentOpt = None,
    beta: Annotated[float, typer.Option("--beta", help="KL anchor to the base (0 = none).")] = 0.04,
    num_generations: Generations = 4,
    max_completion_length: CompletionLength = 256,
    epochs: Epochs = 1.0,
    max_steps: MaxSteps = 20,
    lr: LR = 1e-5,
    batch_size: Batch = 4,
    grad_accum: Accum = 1,
    max_length: MaxLength = 768,
    rank: Rank = 16,
    alpha: Alpha = 32,
    targets: Targets = TARGETS,
    seed: Seed = 0,
    save_steps: SaveSteps = 5,
    resume: Resume = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """GRPO with the workspace's judge as the reward, scoring drafts for corpus inputs against the teacher."""
    _train("grpo", locals())


@train_app.command("gad")
def gad(
    base: Base = "smollm2-135m",
    name: Name = None,
    agent: AgentOpt = None,
    beta: Annotated[float, typer.Option("--beta", help="KL anchor to the base (0 = none).")] = 0.04,
    num_generations: Generations = 4,
    max_completion_length: CompletionLength = 256,
    discriminator_drafts: Annotated[
        int, typer.Option("--discriminator-drafts", help="Agent drafts the discriminator first learns from.")
    ] = 48,
    epochs: Epochs = 1.0,
    max_steps: MaxSteps = 20,
    lr: LR = 1e-5,
    batch_size: Batch = 4,
    grad_accum: Accum = 1,
    max_length: MaxLength = 768,
    rank: Rank = 16,
    alpha: Alpha = 32,
    targets: Targets = TARGETS,
    seed: Seed = 0,
    save_steps: SaveSteps = 5,
    resume: Resume = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Adversarial distillation: reward = a MiniLM discriminator's P(teacher-like), refit as the policy moves."""
    _train("gad", locals())


def _train(recipe: str, opts: dict) -> None:
    from parity.ruler import load_ruler
    from parity.store import Store
    from parity.train.base import serving_spec
    from parity.train.recipes import LoraOptions, TrainOptions
    from parity.train.run import train_from_corpus

    ws = find_workspace(opts["workspace"])
    lora = LoraOptions(opts["rank"], opts["alpha"], targets=tuple(t.strip() for t in opts["targets"].split(",") if t.strip()))
    extra = {key: opts[key] for key in ("beta", "num_generations", "max_completion_length", "discriminator_drafts") if key in opts}
    options = TrainOptions(
        opts["epochs"],
        opts["max_steps"],
        opts["lr"],
        opts["batch_size"],
        opts["grad_accum"],
        opts["max_length"],
        opts["seed"],
        opts["save_steps"],
        extra=extra,
    )
    adapter = opts["name"] or f"{recipe}-{datetime.now():%Y%m%d-%H%M}"
    data = opts.get("data")
    path = None if data is None else (data if data.is_absolute() else Path.cwd() / data)
    result = train_from_corpus(
        ws,
        load_ruler(ws),
        Store.for_workspace(ws),
        recipe,
        adapter,
        opts["base"],
        opts["agent"],
        lora,
        options,
        opts["resume"],
        path,
        announce=console.print,
        pairs=opts.get("pairs"),
    )
    _report(result, serving_spec(opts["base"]))


def _report(result, spec: str) -> None:
    s = result.summary
    rate = f", {s['tokens_per_s']:.0f} tokens/s" if s.get("tokens_per_s") else ""
    loss = f", final train loss {s['train_loss']:.3f}" if s.get("train_loss") is not None else ""
    console.print(f"adapter {result.name}: {s['steps']} steps in {result.train_s:.0f} s{rate}{loss}")
    console.print(f"use it in an agent file:  model: {spec}   adapter: {result.name}")


def export_adapter(name: str, quant: str, out: Path | None, workspace: Path | None) -> None:
    """`parity export NAME --gguf`: merge the adapter into its base and write a GGUF llama.cpp runs."""
    from parity.store import Store
    from parity.train.base import resolve_base
    from parity.train.export import export_gguf

    ws = find_workspace(workspace)
    store = Store.for_workspace(ws)
    row = store.adapter(name)
    if row is None or row.status != "done":
        known = ", ".join(a.name for a in store.adapters() if a.status == "done") or "none yet"
        raise ParityError(f"no trained adapter named '{name}'", "parity export", f"trained adapters: {known}")
    target = out or ws.state_dir / "exports" / f"{name}-{quant}.gguf"
    target = target if target.is_absolute() else Path.cwd() / target
    with console.status(f"merging {name} into {row.base} and writing {quant} GGUF"):
        path = export_gguf(resolve_base(row.base, ws.root), Path(row.path), target, quant)
    exports = {**row.summary.get("exports", {}), quant: str(path)}
    store.update_adapter(name, summary={**row.summary, "exports": exports})
    console.print(f"wrote {ws.shown(path)} ({path.stat().st_size / 1e6:.0f} MB)")
    console.print(f"use it in an agent file:  model: llamacpp:{path}")


@pairs_app.command("build")
def pairs_build(
    mode: Annotated[
        str, typer.Option("--mode", help="onpolicy: rejected = the agent's own draft; style: rejected from --rejected.")
    ] = "onpolicy",
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (train with --pairs NAME).")] = None,
    agent: AgentOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N corpus inputs.")] = None,
    rejected: Annotated[
        Path | None, typer.Option("--rejected", help="style mode: JSONL of {id, answer} in the style to move away from.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Build and store preference pairs (fingerprinted, with provenance)."""
    from parity.agent import load_agent
    from parity.ruler import load_ruler
    from parity.store import Store
    from parity.train.pairs import onpolicy_pairs, style_pairs
    from parity.train.recipes import register_dataset

    ws = find_workspace(workspace)
    ruler = load_ruler(ws)
    chosen = load_agent(ws, agent or ws.config.loop.base_agent)
    dataset_name = name or f"pairs-{mode}-{datetime.now():%Y%m%d-%H%M}"
    if mode == "onpolicy":
        data = onpolicy_pairs(ws, ruler, chosen, dataset_name, limit)
    elif mode == "style":
        if rejected is None:
            raise ParityError("style pairs need the other style's answers", "--rejected", "pass --rejected FILE (JSONL of {id, answer})")
        data = style_pairs(ws, ruler, chosen, dataset_name, rejected)
    else:
        raise ParityError(f"unknown mode '{mode}'", "--mode", "use onpolicy or style")
    register_dataset(Store.for_workspace(ws), data, ws.state_dir / "datasets")
    skipped = data.provenance.get("skipped")
    console.print(
        f"pairs {dataset_name}: {len(data.rows)} pairs (fingerprint {data.fingerprint[:12]})" + (f", skipped {skipped}" if skipped else "")
    )
    console.print(f"train on them:  parity train dpo --pairs {dataset_name}   or   parity train orpo --pairs {dataset_name}")

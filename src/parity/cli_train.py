"""`parity train RECIPE`: build the recipe's data from the corpus, train a LoRA adapter, register it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from parity.cli_common import WorkspaceOpt, console, find_workspace
from parity.errors import ParityError

train_app = typer.Typer(no_args_is_help=True, help="Train LoRA adapters on the corpus (never the ruler).")

Base = Annotated[str, typer.Option("--base", help="Model to adapt: smollm2-135m (bundled), hf:FOLDER or a .gguf file.")]
Name = Annotated[Optional[str], typer.Option("--name", help="Adapter name (agents use it as `adapter: NAME`); default RECIPE-DATE.")]
AgentOpt = Annotated[Optional[str], typer.Option("--agent", help="Agent whose prompt the adapter learns to answer (default: the loop's base agent).")]
Data = Annotated[Optional[Path], typer.Option("--data", help="A JSONL file in the corpus format (input, answer) instead of corpus/train.jsonl.")]
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


@train_app.command("sft")
def sft(
    base: Base = "smollm2-135m", name: Name = None, agent: AgentOpt = None, data: Data = None,
    epochs: Epochs = 1.0, max_steps: MaxSteps = -1, lr: LR = 2e-4, batch_size: Batch = 4, grad_accum: Accum = 2,
    max_length: MaxLength = 768, rank: Rank = 16, alpha: Alpha = 32, targets: Targets = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
    seed: Seed = 0, save_steps: SaveSteps = 25, resume: Resume = False, workspace: WorkspaceOpt = None,
) -> None:
    """Supervised fine-tuning on the teacher's answers to corpus inputs."""
    from parity.ruler import load_ruler
    from parity.store import Store
    from parity.train.base import serving_spec
    from parity.train.recipes import LoraOptions, TrainOptions
    from parity.train.run import train_from_corpus

    ws = find_workspace(workspace)
    lora = LoraOptions(rank, alpha, targets=tuple(t.strip() for t in targets.split(",") if t.strip()))
    options = TrainOptions(epochs, max_steps, lr, batch_size, grad_accum, max_length, seed, save_steps)
    adapter = name or f"sft-{datetime.now():%Y%m%d-%H%M}"
    path = None if data is None else (data if data.is_absolute() else Path.cwd() / data)
    result = train_from_corpus(
        ws, load_ruler(ws), Store.for_workspace(ws), "sft", adapter, base, agent, lora, options, resume, path, announce=console.print,
    )
    _report(result, serving_spec(base))


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

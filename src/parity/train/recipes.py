"""The recipes, thin over TRL + PEFT: each builds its trainer; `train_adapter` does the rest the same
way for all of them (CPU-sane defaults, checkpoints and resume, curves, registration, atomic save)."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.errors import ParityError
from parity.store import AdapterRow, DatasetRow, Store
from parity.train.base import BaseModel
from parity.train.data import TrainingData
from parity.train.progress import RecordCurves

# All of a llama-architecture block's linear layers: the usual LoRA targets for small models.
LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class LoraOptions:
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    targets: tuple[str, ...] = LLAMA_TARGETS


@dataclass
class TrainOptions:
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    learning_rate: float = 2e-4
    batch_size: int = 4
    grad_accum: int = 2
    max_length: int = 768
    seed: int = 0
    save_steps: int = 25
    logging_steps: int = 1  # every optimizer step: a step takes seconds on a CPU, a store write milliseconds
    extra: dict[str, Any] = field(default_factory=dict)  # recipe-specific (beta, num_generations, ...)


@dataclass
class TrainResult:
    name: str
    path: Path
    train_s: float
    summary: dict[str, Any]


def adapter_dir(state_dir: Path, name: str) -> Path:
    return state_dir / "adapters" / name


def bf16_supported() -> bool:
    """bf16 only where the CPU has native bf16 (AVX512-BF16 or AMX); emulated bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def common_args(out: Path, options: TrainOptions) -> dict[str, Any]:
    """TrainingArguments shared by every recipe: the CPU, no gradient checkpointing (a 135M model
    fits; recomputation only costs time), checkpoints we can resume from, no external reporting."""
    return {
        "output_dir": str(out / "checkpoints"),
        "use_cpu": True,
        "bf16": bf16_supported(),
        "gradient_checkpointing": False,
        "num_train_epochs": options.epochs,
        "max_steps": options.max_steps,
        "learning_rate": options.learning_rate,
        "per_device_train_batch_size": options.batch_size,
        "gradient_accumulation_steps": options.grad_accum,
        "seed": options.seed,
        "logging_steps": options.logging_steps,
        "save_strategy": "steps",
        "save_steps": options.save_steps,
        "save_total_limit": 2,
        "report_to": [],
        "disable_tqdm": True,  # our Rich bar instead
        "dataloader_num_workers": 0,
    }


def lora_config(lora: LoraOptions) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=list(lora.targets), task_type="CAUSAL_LM"
    )


def load_for_training(base: BaseModel) -> tuple[Any, Any]:
    import os

    import datasets
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    hf_logging.set_verbosity_error()
    datasets.disable_progress_bars()  # our Rich bar is the one progress display
    tokenizer = AutoTokenizer.from_pretrained(str(base.folder))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(base.folder), dtype=torch.float32)
    return tokenizer, model


def sft_trainer(base: BaseModel, data: TrainingData, out: Path, lora: LoraOptions, options: TrainOptions, callbacks: list[Any]) -> Any:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    tokenizer, model = load_for_training(base)
    rows = [{"prompt": r["prompt"], "completion": r["completion"]} for r in data.rows]
    args = SFTConfig(**common_args(out, options), max_length=options.max_length, completion_only_loss=True, packing=False)
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora_config(lora),
        callbacks=callbacks,
    )


def _pair_rows(data: TrainingData) -> Any:
    from datasets import Dataset

    if not data.kind.startswith("pairs"):
        raise ParityError(
            f"{data.name} holds {data.kind} data; preference recipes need pairs",
            "--pairs",
            "build them with: parity pairs build --mode onpolicy",
        )
    return Dataset.from_list([{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in data.rows])


def dpo_trainer(base: BaseModel, data: TrainingData, out: Path, lora: LoraOptions, options: TrainOptions, callbacks: list[Any]) -> Any:
    """DPO with the adapter as the policy; the reference is the same base with the adapter disabled."""
    from trl import DPOConfig, DPOTrainer

    tokenizer, model = load_for_training(base)
    args = DPOConfig(**common_args(out, options), max_length=options.max_length, beta=float(options.extra.get("beta", 0.1)))
    return DPOTrainer(
        model=model,
        args=args,
        train_dataset=_pair_rows(data),
        processing_class=tokenizer,
        peft_config=lora_config(lora),
        callbacks=callbacks,
    )


def orpo_trainer(base: BaseModel, data: TrainingData, out: Path, lora: LoraOptions, options: TrainOptions, callbacks: list[Any]) -> Any:
    """ORPO: SFT on chosen plus an odds-ratio penalty on rejected; no reference model."""
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    tokenizer, model = load_for_training(base)
    args = ORPOConfig(**common_args(out, options), max_length=options.max_length, beta=float(options.extra.get("beta", 0.1)))
    return ORPOTrainer(
        model=model,
        args=args,
        train_dataset=_pair_rows(data),
        processing_class=tokenizer,
        peft_config=lora_config(lora),
        callbacks=callbacks,
    )


def grpo_trainer(base: BaseModel, data: TrainingData, out: Path, lora: LoraOptions, options: TrainOptions, callbacks: list[Any]) -> Any:
    """GRPO: groups of sampled drafts per corpus prompt, advantages relative to the group's mean
    reward, and `beta` as the KL anchor to the base (the adapter disabled)."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    tokenizer, model = load_for_training(base)
    extra = options.extra
    args = GRPOConfig(
        **common_args(out, options),
        beta=float(extra.get("beta", 0.04)),
        num_generations=int(extra.get("num_generations", 4)),
        max_completion_length=int(extra.get("max_completion_length", 256)),
        temperature=float(extra.get("temperature", 0.9)),
    )
    rows = Dataset.from_list([{k: r[k] for k in ("prompt", "id", "input", "teacher")} for r in data.rows])
    return GRPOTrainer(
        model=model,
        reward_funcs=[extra["reward"]],
        args=args,
        train_dataset=rows,
        processing_class=tokenizer,
        peft_config=lora_config(lora),
        callbacks=callbacks,
    )


TRAINERS: dict[str, Callable[..., Any]] = {
    "sft": sft_trainer,
    "dpo": dpo_trainer,
    "orpo": orpo_trainer,
    "grpo": grpo_trainer,
    "gad": grpo_trainer,
}


def register_dataset(store: Store, data: TrainingData, folder: Path) -> None:
    if store.dataset(data.fingerprint) is None:
        path = data.write(folder)
        store.save_dataset(
            DatasetRow(
                name=data.name,
                kind=data.kind,
                fingerprint=data.fingerprint,
                n_rows=len(data.rows),
                path=str(path),
                provenance=data.provenance,
            )
        )


def train_adapter(
    recipe: str,
    state_dir: Path,
    store: Store,
    base: BaseModel,
    data: TrainingData,
    name: str,
    lora: LoraOptions,
    options: TrainOptions,
    resume: bool,
) -> TrainResult:
    out = adapter_dir(state_dir, name)
    existing = store.adapter(name)
    if existing is not None and existing.status == "done":
        raise ParityError(
            f"adapter '{name}' already exists ({existing.recipe}, trained {existing.finished_at:%Y-%m-%d %H:%M})",
            "--name",
            "choose another --name",
        )
    if existing is not None and not resume:
        raise ParityError(
            f"adapter '{name}' has an unfinished run ({existing.status})", "--name", "add --resume to continue it, or choose another --name"
        )
    if resume and (existing is None or existing.options.get("dataset") != data.fingerprint):
        raise ParityError(f"nothing to resume for adapter '{name}' on this data", "--resume", "run without --resume to start it")
    register_dataset(store, data, state_dir / "datasets")
    plain_extra = {k: v for k, v in options.extra.items() if isinstance(v, (int, float, str, bool))}  # not the reward object
    options_record = {
        "lora": asdict(lora),
        "train": {**asdict(replace(options, extra={})), "extra": plain_extra},
        "dataset": data.fingerprint,
    }
    curves = existing.curves if existing is not None else {}
    store.save_adapter(
        AdapterRow(
            name=name,
            recipe=recipe,
            base=base.spec,
            base_identity=base.identity,
            dataset_fingerprint=data.fingerprint,
            options=options_record,
            curves=curves,
            status="running",
            path=str(out / "adapter"),
            created_at=existing.created_at if existing is not None else datetime.now(UTC),
        )
    )
    from transformers import PrinterCallback

    earlier_s = (existing.train_s or 0.0) if existing is not None else 0.0
    callback = RecordCurves(store, name, f"{recipe} {name}", curves, earlier_s, probes=options.extra.get("probes"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' renames (gradient -> activation checkpointing)
        trainer = TRAINERS[recipe](base, data, out, lora, options, [callback])
    trainer.remove_callback(PrinterCallback)  # it prints raw log dicts over the progress bar
    checkpoints = sorted((out / "checkpoints").glob("checkpoint-*"))
    try:
        output = trainer.train(resume_from_checkpoint=bool(resume and checkpoints) or None)
    except BaseException:
        store.update_adapter(name, status="failed")
        raise
    train_s = callback.train_s
    _save_atomically(trainer.model, out / "adapter")
    summary = _summary(trainer, output)
    store.update_adapter(name, status="done", finished_at=datetime.now(UTC), train_s=train_s, summary=summary, curves=callback.curves)
    return TrainResult(name, out / "adapter", train_s, summary)


def _save_atomically(model: Any, final: Path) -> None:
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=".adapter."))
    try:
        model.save_pretrained(str(staging))
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _summary(trainer: Any, output: Any) -> dict[str, Any]:
    metrics = dict(output.metrics)
    logged = [entry for entry in trainer.state.log_history if "num_tokens" in entry]
    tokens = logged[-1]["num_tokens"] if logged else None
    runtime = metrics.get("train_runtime")
    return {
        "steps": trainer.state.global_step,
        "train_loss": metrics.get("train_loss"),
        "runtime_s": runtime,
        "tokens": tokens,
        "tokens_per_s": tokens / runtime if tokens and runtime else None,
    }

"""The TRL + PEFT plumbing every recipe shares: a recipe builds its trainer from these parts, and
`train_adapter` does the rest the same way for all of them (CPU-sane defaults, checkpoints and resume,
curves, registration, atomic save). torch, transformers, TRL and PEFT are imported only when training."""

from __future__ import annotations

import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.errors import ParityError
from parity.statuses import RunStatus
from parity.store import AdapterRow, Store, now
from parity.train.base import BaseWeights
from parity.train.data import register_dataset
from parity.train.launch import is_main_process
from parity.train.placement import Placement, Quantize, checkpointing, place, probe_machine, weights_params, world_size
from parity.train.recipes.options import ALL_LINEAR, LoraOptions, TrainOptions, with_targets
from parity.train.recipes.recipe import Prepared, Recipe, TrainerSetup


@dataclass
class TrainResult:
    name: str
    path: Path
    train_s: float
    summary: dict[str, Any]


def adapter_dir(state_dir: Path, name: str) -> Path:
    return state_dir / "adapters" / name


def common_args(setup: TrainerSetup[Any]) -> dict[str, Any]:
    """TrainingArguments shared by every recipe: the placement's device, precision and checkpointing,
    checkpoints we can resume from, no external reporting."""
    options = setup.options
    return {
        "output_dir": str(setup.out / "checkpoints"),
        **setup.placement.training_args(),
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
        # LoRA leaves no parameter unused; DDP's search for unused ones is an extra graph walk each step.
        **({"ddp_find_unused_parameters": False} if world_size() > 1 else {}),
    }


def peft_config(setup: TrainerSetup[Any]) -> Any:
    """The LoRA adapter the trainer wraps the base in; None for full fine-tuning (every weight trains)."""
    return None if setup.options.full else lora_config(setup.lora)


def lora_config(lora: LoraOptions) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules="all-linear" if lora.targets == ALL_LINEAR else list(lora.targets),
        task_type="CAUSAL_LM",
    )


def load_for_training(setup: TrainerSetup[Any]) -> tuple[Any, Any]:
    """The tokenizer and the base as the placement asks: fp32 master weights, or 4/8-bit for QLoRA
    (then prepared for k-bit training as PEFT prescribes)."""
    import os

    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    hf_logging.set_verbosity_error()
    datasets.disable_progress_bars()  # our Rich bar is the one progress display
    folder = str(setup.base.folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, **setup.placement.load_kwargs())
    if setup.placement.quantize != Quantize.NONE:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=setup.placement.gradient_checkpointing)
    return tokenizer, model


def decide_placement(options: TrainOptions, base: BaseWeights) -> Placement:
    """Where this run trains (see placement.py), from its options, the base's size and this machine."""
    return place(options.device, options.quantize, weights_params(base.folder), probe_machine(), checkpointing(options))


def train_adapter(
    recipe: Recipe[Any],
    state_dir: Path,
    store: Store,
    base: BaseWeights,
    prepared: Prepared,
    name: str,
    lora: LoraOptions,
    options: TrainOptions,
    resume: bool,
    placement: Placement,
) -> TrainResult:
    data = prepared.data
    out = adapter_dir(state_dir, name)
    lora = with_targets(lora, base.folder)
    if not is_main_process():
        return _train_quietly(recipe, base, prepared, out, lora, options, placement, resume)
    existing = store.adapter(name)
    if existing is not None and existing.status == RunStatus.DONE:
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
    curves = existing.curves if existing is not None else {}
    store.save_adapter(
        AdapterRow(
            name=name,
            recipe=recipe.name,
            base=base.spec,
            base_identity=base.identity,
            dataset_fingerprint=data.fingerprint,
            options={
                "lora": lora.model_dump(),
                "train": options.record(),
                "dataset": data.fingerprint,
                "placement": {**placement.record(), "effective_batch": options.batch_size * options.grad_accum * world_size()},
            },
            curves=curves,
            status=RunStatus.RUNNING,
            path=str(out / "adapter"),
            created_at=existing.created_at if existing is not None else now(),
        )
    )
    from transformers import PrinterCallback

    from parity.train.progress import RecordCurves  # a transformers callback: imported only when training

    earlier_s = (existing.train_s or 0.0) if existing is not None else 0.0
    callback = RecordCurves(store, name, f"{recipe.name} {name}", curves, earlier_s, probes=prepared.probes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' renames (gradient -> activation checkpointing)
        trainer = recipe.trainer(TrainerSetup(base, prepared, out, lora, options, [callback], placement))
    trainer.remove_callback(PrinterCallback)  # it prints raw log dicts over the progress bar
    checkpoints = sorted((out / "checkpoints").glob("checkpoint-*"))
    try:
        output = trainer.train(resume_from_checkpoint=bool(resume and checkpoints) or None)
    except BaseException:
        store.update_adapter(name, status=RunStatus.FAILED)
        raise
    train_s = callback.train_s
    # A whole model is a transformers folder an hf: spec opens, so it carries its tokenizer; an adapter has its base's.
    _save_atomically(trainer.model, out / "adapter", trainer.processing_class if options.full else None)
    summary = {**_summary(trainer, output), "placement": placement.record()}
    store.update_adapter(name, status=RunStatus.DONE, finished_at=now(), train_s=train_s, summary=summary, curves=callback.curves)
    return TrainResult(name, out / "adapter", train_s, summary)


def _train_quietly(
    recipe: Recipe[Any],
    base: BaseWeights,
    prepared: Prepared,
    out: Path,
    lora: LoraOptions,
    options: TrainOptions,
    placement: Placement,
    resume: bool,
) -> TrainResult:
    """A launched run's other processes: the same training step for step (the gradients are averaged
    across them), and nothing written: the store, the curves and the adapter are the main process's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # as the main process: transformers' renames
        trainer = recipe.trainer(TrainerSetup(base, prepared, out, lora, options, [], placement))
    checkpoints = sorted((out / "checkpoints").glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=bool(resume and checkpoints) or None)
    return TrainResult(prepared.data.name, out / "adapter", 0.0, {})


def _save_atomically(model: Any, final: Path, tokenizer: Any = None) -> None:
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=".adapter."))
    try:
        model.save_pretrained(str(staging))
        if tokenizer is not None:
            tokenizer.save_pretrained(str(staging))
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

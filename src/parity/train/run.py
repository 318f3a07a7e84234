"""Training as the CLI and the loop both ask for it: base + agent prompt + corpus → registered adapter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.agent import load_agent
from parity.agent.corpus import Corpus
from parity.errors import ParityError
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace
from parity.train.base import resolve_base
from parity.train.recipes.options import LoraOptions, TrainOptions
from parity.train.recipes.recipe import DataInputs, Recipe
from parity.train.trainer import TrainResult, decide_placement, train_adapter

DEFAULT_BASE = "smollm2-135m"


@dataclass
class TrainJob:
    """One adapter to train: which recipe, on what, with which options."""

    recipe: Recipe[Any]
    name: str
    options: TrainOptions  # the recipe's own options model
    lora: LoraOptions = field(default_factory=LoraOptions)
    base: str = DEFAULT_BASE
    agent: str | None = None  # whose prompt the adapter learns; default: the loop's base agent
    data: Path | None = None  # a corpus file instead of the workspace's
    pairs: str | None = None  # a stored dataset, for recipes that train on one
    resume: bool = False


def train_from_corpus(
    ws: Workspace, ruler: Ruler, store: Store, job: TrainJob, announce: Callable[[str], Any] | None = None
) -> TrainResult:
    model = resolve_base(job.base, ws.root)
    placement = decide_placement(job.options, model)  # a device or quantization this machine lacks: refused before any work
    options = job.recipe.check(job.options, placement)
    if job.resume and store.adapter(job.name) is None:
        raise ParityError(f"nothing to resume for adapter '{job.name}'", "--resume", "run without --resume to start it")
    chosen = load_agent(ws, job.agent or ws.config.loop.base_agent)
    if job.data is not None:
        if not job.data.is_file():
            raise ParityError(f"no data file at {job.data}", "--data", "pass a JSONL file with input and answer per line")
        chosen.corpus = Corpus.load(job.data, chosen.corpus.cache_dir, str(job.data), ws.task)
    source = None if job.data is None else str(job.data)
    prepared = job.recipe.prepare(DataInputs(ws, ruler, store, chosen, job.name, source, job.pairs), options)
    dataset, lora = prepared.data, job.lora
    if announce is not None:
        announce(
            f"{job.recipe.name} {job.name}: {len(dataset.rows)} examples (data {dataset.fingerprint[:12]}), base {job.base}, "
            f"LoRA r={lora.rank} α={lora.alpha}"
        )
    return train_adapter(job.recipe, ws.state_dir, store, model, prepared, job.name, lora, options, job.resume, placement)

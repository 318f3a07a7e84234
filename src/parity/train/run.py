"""Training as the CLI and the loop both ask for it: base + agent prompt + corpus → registered adapter."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.agent import load_agent
from parity.agent.corpus import Corpus, Demo
from parity.errors import ParityError
from parity.ruler import Ruler
from parity.statuses import RunStatus
from parity.store import AdapterRow, Store
from parity.task import Workspace
from parity.train.base import BaseWeights, resolve_base
from parity.train.recipes.options import LoraOptions, TrainOptions, with_targets
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
    data: tuple[Path, ...] = ()  # corpus files, read as one, instead of the workspace's
    pairs: str | None = None  # a stored dataset, for recipes that train on one
    resume: bool = False
    reuse: bool = False  # return a finished adapter trained the same way (recipe, base, data, options) instead of training


# Shared options added after adapters were first stored, at the value those adapters were trained with:
# an adapter stored before a field existed is still found as trained the same way.
FIELDS_ADDED_SINCE: dict[str, Any] = {"full": False}


def trained_alike(
    store: Store, recipe: Recipe[Any], base: BaseWeights, data_fingerprint: str, options: TrainOptions, lora: LoraOptions
) -> AdapterRow | None:
    """A finished adapter this job would reproduce: the same recipe on the same base weights, data, optimizer
    run and LoRA shape. Where it ran (device, processes) is not compared: it changes the speed, not the result."""
    for row in store.adapters():
        if (
            row.status == RunStatus.DONE
            and row.recipe == recipe.name
            and row.base_identity == base.identity
            and row.dataset_fingerprint == data_fingerprint
            and {**FIELDS_ADDED_SINCE, **row.options.get("train", {})} == _as_stored(options.record())
            and row.options.get("lora") == _as_stored(lora.model_dump())
        ):
            return row
    return None


def _as_stored(values: dict[str, Any]) -> Any:
    """The values as they come back from the store's JSON column (tuples become lists)."""
    return json.loads(json.dumps(values))


def _corpus_of(files: tuple[Path, ...], cache_dir: Path | None, ws: Workspace) -> Corpus:
    """Several corpus files read as one, in order; an id two of them give is refused, since every dataset
    row and every leak report names its entry by id."""
    demos: list[Demo] = []
    seen: dict[str, Path] = {}
    for path in files:
        if not path.is_file():
            raise ParityError(f"no data file at {path}", "--data", "pass a JSONL file with input and answer per line")
        for demo in Corpus.load(path, cache_dir, str(path), ws.task).demos:
            if demo.id in seen:
                raise ParityError(f"corpus id '{demo.id}' is in both {seen[demo.id]} and {path}", "--data", "give every entry its own id")
            seen[demo.id] = path
            demos.append(demo)
    return Corpus(demos, cache_dir)


def train_from_corpus(
    ws: Workspace, ruler: Ruler, store: Store, job: TrainJob, announce: Callable[[str], Any] | None = None
) -> TrainResult:
    model = resolve_base(job.base, ws.root)
    placement = decide_placement(job.options, model)  # a device or quantization this machine lacks: refused before any work
    options = job.recipe.check(job.options, placement)
    if job.resume and store.adapter(job.name) is None:
        raise ParityError(f"nothing to resume for adapter '{job.name}'", "--resume", "run without --resume to start it")
    chosen = load_agent(ws, job.agent or ws.config.loop.base_agent)
    if job.data:
        chosen.corpus = _corpus_of(job.data, chosen.corpus.cache_dir, ws)
    source = ", ".join(str(path) for path in job.data) or None
    prepared = job.recipe.prepare(DataInputs(ws, ruler, store, chosen, job.name, source, job.pairs), options)
    dataset, lora = prepared.data, job.lora
    same = trained_alike(store, job.recipe, model, dataset.fingerprint, options, with_targets(lora, model.folder)) if job.reuse else None
    if same is not None:
        return TrainResult(same.name, Path(same.path), same.train_s or 0.0, same.summary)
    if announce is not None:  # only once it is sure to train: a reused adapter is announced by the caller
        announce(
            f"{job.recipe.name} {job.name}: {len(dataset.rows)} examples (data {dataset.fingerprint[:12]}), base {job.base}, "
            + ("every weight (full fine-tuning)" if options.full else f"LoRA r={lora.rank} α={lora.alpha}")
        )
    return train_adapter(job.recipe, ws.state_dir, store, model, prepared, job.name, lora, options, job.resume, placement)

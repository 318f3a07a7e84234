"""Training as the CLI and the loop both ask for it: base + agent prompt + corpus → registered adapter."""

from __future__ import annotations

from pathlib import Path

from parity.agent import load_agent
from parity.agent.corpus import Corpus
from parity.errors import ParityError
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace
from parity.train.base import resolve_base
from parity.train.data import sft_data
from parity.train.recipes import LoraOptions, TrainOptions, TrainResult, train_adapter

AVAILABLE_RECIPES = ("sft",)


def train_from_corpus(
    ws: Workspace, ruler: Ruler, store: Store, recipe: str, name: str, base: str = "smollm2-135m", agent: str | None = None,
    lora: LoraOptions | None = None, options: TrainOptions | None = None, resume: bool = False, data: Path | None = None,
    announce=None,
) -> TrainResult:
    if recipe not in AVAILABLE_RECIPES:
        raise ParityError(f"the {recipe} recipe is not available yet", f"train {recipe}", f"use one of: {', '.join(AVAILABLE_RECIPES)}")
    model = resolve_base(base, ws.root)
    if resume and store.adapter(name) is None:
        raise ParityError(f"nothing to resume for adapter '{name}'", "--resume", "run without --resume to start it")
    chosen = load_agent(ws, agent or ws.config.loop.base_agent)
    if data is not None:
        if not data.is_file():
            raise ParityError(f"no data file at {data}", "--data", "pass a JSONL file with input and answer per line")
        chosen.corpus = Corpus.load(data, chosen.corpus.cache_dir, str(data))
    dataset = sft_data(ws, ruler, chosen, name, source=None if data is None else str(data))
    lora = lora or LoraOptions()
    if announce is not None:
        announce(f"{recipe} {name}: {len(dataset.rows)} examples (data {dataset.fingerprint[:12]}), base {base}, LoRA r={lora.rank} α={lora.alpha}")
    return train_adapter(recipe, ws.state_dir, store, model, dataset, name, lora, options or TrainOptions(), resume)

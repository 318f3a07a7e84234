"""A proposal is a hypothesis plus a patch on the loop's base agent; this module applies and names it."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any

from parity.io import canonical_json
from parity.train.recipes import default_recipe, recipe_names

LEVERS = ("prompt", "fewshot", "decoding", "strategy", "adapter", "model", "weights")
TRAINING_RECIPES = recipe_names()  # what `train.recipe` may name: every registered recipe


@dataclass
class Proposal:
    hypothesis: str
    lever: str
    patch: dict[str, Any]  # dotted agent field -> value ("fewshot.k" = 0 removes few-shot)
    optuna_trial: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. why earlier proposals were refused


def lever_of(patch: dict[str, Any]) -> str:
    """The lever a patch pulls: the top-level field of its first key (weights for training requests)."""
    for key in patch:
        head = key.split(".")[0]
        if head == "train":
            return "weights"
        if head in LEVERS:
            return head
    return "prompt"


def requested_recipe(patch: dict[str, Any]) -> str:
    """The recipe a weights patch asks for: its train.recipe, else the registry's default."""
    return str(patch.get("train.recipe", default_recipe().name))


def apply_patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The base agent config with the patch applied. Changing strategy.kind starts that strategy from its
    defaults (other strategies' fields do not carry over); fewshot.k = 0 means no few-shot."""
    config = copy.deepcopy(base)
    kind = patch.get("strategy.kind")
    if kind is not None and (config.get("strategy") or {}).get("kind") != kind:
        config["strategy"] = {"kind": kind}
    for key, value in patch.items():
        if key.startswith("train."):
            continue
        node = config
        *parents, leaf = key.split(".")
        for name in parents:
            if not isinstance(node.get(name), dict):
                node[name] = {}
            node = node[name]
        node[leaf] = value
    fewshot = config.get("fewshot")
    if isinstance(fewshot, dict) and fewshot.get("k") == 0:
        config["fewshot"] = None
    return config


def config_hash(config: dict[str, Any]) -> str:
    """Identity of an agent config for "tried before?": everything but its name."""
    return hashlib.sha256(canonical_json({k: v for k, v in config.items() if k != "name"}).encode()).hexdigest()

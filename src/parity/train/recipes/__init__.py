"""The training recipes, one module each, found by looking: every module of this package that sets
`RECIPE` (a `Recipe`) is registered under the recipe's name. Adding a recipe is adding its file; the
CLI's `parity train NAME` and the loop's `train.recipe` read this registry.

Nothing here imports torch, transformers, TRL or PEFT: a recipe imports them when it trains."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from parity.errors import ParityError
from parity.train.recipes.recipe import Recipe


@cache
def registry() -> dict[str, Recipe[Any]]:
    """Every recipe, in their declared order."""
    found: dict[str, Recipe[Any]] = {}
    for module in pkgutil.iter_modules(__path__):
        recipe = getattr(importlib.import_module(f"{__name__}.{module.name}"), "RECIPE", None)
        if not isinstance(recipe, Recipe):
            continue  # shared code, not a recipe
        if recipe.name in found:
            raise ParityError(f"two recipe modules declare the recipe '{recipe.name}'", f"parity.train.recipes.{module.name}", "rename one")
        found[recipe.name] = recipe
    return dict(sorted(found.items(), key=lambda item: (item[1].order, item[0])))


def recipe_names() -> tuple[str, ...]:
    return tuple(registry())


def default_recipe() -> Recipe[Any]:
    """The recipe a loop proposal trains when it names none: the first declared."""
    return next(iter(registry().values()))


def find_recipe(name: str) -> Recipe[Any] | None:
    return registry().get(name)

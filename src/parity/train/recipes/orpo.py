"""ORPO: SFT on the chosen answer plus an odds-ratio penalty on the rejected one; no reference model."""

from __future__ import annotations

from typing import Any

from parity.train.recipes.options import LearningRate
from parity.train.recipes.preference import PreferenceOptions, TrlPreferenceRecipe


class OrpoOptions(PreferenceOptions):  # beta: the odds-ratio weight
    learning_rate: LearningRate = 1e-4


class Orpo(TrlPreferenceRecipe[OrpoOptions]):
    name = "orpo"
    help = "ORPO on pairs: SFT on chosen with an odds-ratio penalty on rejected, no reference model."
    order = 30
    options_model = OrpoOptions

    def trl_classes(self) -> tuple[Any, Any]:
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        return ORPOConfig, ORPOTrainer


RECIPE = Orpo()

"""DPO: direct preference optimization on stored pairs, with the adapter as the policy and the same
base with the adapter disabled as the reference."""

from __future__ import annotations

from typing import Any

from parity.train.recipes.options import LearningRate
from parity.train.recipes.preference import PreferenceOptions, TrlPreferenceRecipe


class DpoOptions(PreferenceOptions):  # beta: the KL anchor to the reference
    learning_rate: LearningRate = 5e-5


class Dpo(TrlPreferenceRecipe[DpoOptions]):
    name = "dpo"
    help = "Direct preference optimization on pairs (chosen = teacher, rejected = the agent's draft)."
    order = 20
    options_model = DpoOptions

    def trl_classes(self) -> tuple[Any, Any]:
        from trl import DPOConfig, DPOTrainer

        return DPOConfig, DPOTrainer


RECIPE = Dpo()

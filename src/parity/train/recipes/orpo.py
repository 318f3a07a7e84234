"""ORPO: SFT on the chosen answer plus an odds-ratio penalty on the rejected one; no reference model."""

from __future__ import annotations

from typing import Any

from parity.train.recipes.options import BatchSize, GradAccum, LearningRate, TrainOptions
from parity.train.recipes.preference import Beta, PreferenceRecipe, preference_rows
from parity.train.recipes.recipe import TrainerSetup


class OrpoOptions(TrainOptions):
    beta: Beta = 0.1  # the odds-ratio weight
    learning_rate: LearningRate = 1e-4
    batch_size: BatchSize = 2
    grad_accum: GradAccum = 4


class Orpo(PreferenceRecipe[OrpoOptions]):
    name = "orpo"
    help = "ORPO on pairs: SFT on chosen with an odds-ratio penalty on rejected, no reference model."
    order = 30
    options_model = OrpoOptions

    def trainer(self, setup: TrainerSetup[OrpoOptions]) -> Any:
        from trl.experimental.orpo import ORPOConfig, ORPOTrainer

        from parity.train.trainer import common_args, load_for_training, lora_config

        tokenizer, model = load_for_training(setup.base)
        options = setup.options
        args = ORPOConfig(**common_args(setup.out, options), max_length=options.max_length, beta=options.beta)
        return ORPOTrainer(
            model=model,
            args=args,
            train_dataset=preference_rows(setup.prepared.data),
            processing_class=tokenizer,
            peft_config=lora_config(setup.lora),
            callbacks=setup.callbacks,
        )


RECIPE = Orpo()

"""DPO: direct preference optimization on stored pairs, with the adapter as the policy and the same
base with the adapter disabled as the reference."""

from __future__ import annotations

from typing import Any

from parity.train.recipes.options import BatchSize, GradAccum, LearningRate, TrainOptions
from parity.train.recipes.preference import Beta, PreferenceRecipe, preference_rows
from parity.train.recipes.recipe import TrainerSetup


class DpoOptions(TrainOptions):
    beta: Beta = 0.1  # the KL anchor to the reference
    learning_rate: LearningRate = 5e-5
    batch_size: BatchSize = 2
    grad_accum: GradAccum = 4


class Dpo(PreferenceRecipe[DpoOptions]):
    name = "dpo"
    help = "Direct preference optimization on pairs (chosen = teacher, rejected = the agent's draft)."
    order = 20
    options_model = DpoOptions

    def trainer(self, setup: TrainerSetup[DpoOptions]) -> Any:
        from trl import DPOConfig, DPOTrainer

        from parity.train.trainer import common_args, load_for_training, lora_config

        tokenizer, model = load_for_training(setup.base)
        options = setup.options
        args = DPOConfig(**common_args(setup.out, options), max_length=options.max_length, beta=options.beta)
        return DPOTrainer(
            model=model,
            args=args,
            train_dataset=preference_rows(setup.prepared.data),
            processing_class=tokenizer,
            peft_config=lora_config(setup.lora),
            callbacks=setup.callbacks,
        )


RECIPE = Dpo()

"""What the preference recipes share: pairs stored by `parity pairs build` as their data, the rows
TRL reads, and the on-policy pairs the loop drafts with the trial's own agent before training."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field

from parity.errors import ParityError
from parity.train.recipes.options import BatchSize, GradAccum, TrainOptions, option
from parity.train.recipes.recipe import DataInputs, LoopInputs, OptionsT, Recipe, TrainerSetup, TrainsOn

if TYPE_CHECKING:
    from parity.train.data import TrainingData

PAIRS_FOR_LOOP = 160  # corpus inputs a loop trial drafts for its pairs unless the proposal sets train.pairs

Beta = Annotated[
    float, option("Strength of the preference term (DPO: KL to the base; ORPO: odds-ratio weight)."), Field(gt=0, allow_inf_nan=False)
]


class PreferenceRecipe(Recipe[OptionsT]):
    trains_on = TrainsOn.PAIRS

    def build_data(self, inputs: DataInputs) -> TrainingData:
        from parity.train.data import stored_data

        if inputs.pairs is None:
            raise ParityError(
                f"{self.name} trains on preference pairs",
                f"train {self.name}",
                "build them with `parity pairs build --mode onpolicy --name P`, then pass --pairs P",
            )
        data = stored_data(inputs.store, inputs.pairs)  # checked against the ruler when it was built
        if not data.kind.startswith("pairs"):
            raise ParityError(
                f"{data.name} holds {data.kind} data; preference recipes need pairs",
                "--pairs",
                "build them with: parity pairs build --mode onpolicy",
            )
        return data

    def loop_dataset(self, loop: LoopInputs) -> str | None:
        from parity.train.data import register_dataset
        from parity.train.pairs import onpolicy_pairs

        name = f"loop{loop.trial_id}-pairs"
        if any(d.name == name for d in loop.store.datasets()):
            return name  # built before the loop was interrupted
        limit = int(loop.settings.get("pairs", PAIRS_FOR_LOOP))
        loop.say(f"trial {loop.trial_id}: drafting {limit} corpus inputs for on-policy pairs")
        data = onpolicy_pairs(loop.ws, loop.ruler, loop.drafter(), name, limit)
        register_dataset(loop.store, data, loop.ws.state_dir / "datasets")
        return name


def preference_rows(data: TrainingData) -> Any:
    """The pairs as the `datasets.Dataset` TRL's preference trainers read."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"]} for r in data.rows])


class PreferenceOptions(TrainOptions):
    """The preference recipes' defaults: small batches of pairs, accumulated."""

    beta: Beta = 0.1
    batch_size: BatchSize = 2
    grad_accum: GradAccum = 4


PreferenceOptionsT = TypeVar("PreferenceOptionsT", bound=PreferenceOptions)


class TrlPreferenceRecipe(PreferenceRecipe[PreferenceOptionsT]):
    """A preference recipe that is one TRL trainer over the pairs: only the trainer differs."""

    def trl_classes(self) -> tuple[Any, Any]:
        """(config class, trainer class), imported when training starts."""
        raise NotImplementedError

    def trainer(self, setup: TrainerSetup[PreferenceOptionsT]) -> Any:
        from parity.train.trainer import common_args, load_for_training, peft_config

        config_class, trainer_class = self.trl_classes()
        tokenizer, model = load_for_training(setup)
        options = setup.options
        args = config_class(**common_args(setup), max_length=options.max_length, beta=options.beta)
        return trainer_class(
            model=model,
            args=args,
            train_dataset=preference_rows(setup.prepared.data),
            processing_class=tokenizer,
            peft_config=peft_config(setup),
            callbacks=setup.callbacks,
        )

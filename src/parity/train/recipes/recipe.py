"""What a recipe is: a name and a line of help, the data it trains on, its typed options, how it builds
that data, the TRL trainer it wraps, and what the loop must build for it first. A recipe module
subclasses `Recipe` and sets `RECIPE = TheRecipe()`; the registry finds it.

Every `parity` start reads the registry (the `parity train` commands are made from it), so a recipe
module imports at its top only what declaring it takes: this module and its options. What building
the data and training take is imported in the methods that do it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import ValidationError

from parity.errors import ParityError
from parity.train.placement import Placement
from parity.train.recipes.options import LoraOptions, TrainOptions, flag

if TYPE_CHECKING:  # annotations only: importing them would cost every start of `parity`
    from parity.agent import Agent
    from parity.ruler import Ruler
    from parity.store import Store
    from parity.task import Workspace
    from parity.train.base import BaseWeights
    from parity.train.data import TrainingData


class TrainsOn(StrEnum):
    """The data a recipe learns from; always built from the corpus, never the ruler."""

    CORPUS = "corpus"  # the agent's prompt for a corpus input, the teacher's answer as the completion
    PAIRS = "pairs"  # preference pairs stored by `parity pairs build` (chosen = the teacher's answer)
    PROMPTS = "prompts"  # the agent's prompts for corpus inputs; sampled drafts are scored by a reward


@dataclass
class DataInputs:
    """What a recipe builds its data from. The ruler is there only to check the data against it."""

    ws: Workspace
    ruler: Ruler
    store: Store
    agent: Agent  # whose prompt the adapter learns to answer; its corpus is the one trained on
    name: str  # the adapter's, and its dataset's
    source: str | None = None  # where the agent's corpus came from when it is not the workspace's own (--data)
    pairs: str | None = None  # a stored dataset, by name or fingerprint prefix (--pairs)


@dataclass
class Prepared:
    """A recipe's data, and for RL recipes the reward that scores its drafts."""

    data: TrainingData
    reward: Any = None  # a TRL reward function
    probes: dict[str, Callable[[], float | None]] = field(default_factory=dict)  # curves the trainer does not log


OptionsT = TypeVar("OptionsT", bound=TrainOptions)


@dataclass
class TrainerSetup(Generic[OptionsT]):
    base: BaseWeights
    prepared: Prepared
    out: Path  # the adapter's folder: checkpoints go under it
    lora: LoraOptions
    options: OptionsT
    callbacks: list[Any]
    placement: Placement  # the device, precision, quantization and checkpointing decided for the run


@dataclass
class LoopInputs:
    """What the loop offers a recipe that needs a dataset built before it trains."""

    ws: Workspace
    ruler: Ruler
    store: Store
    trial_id: int
    settings: dict[str, Any]  # the proposal's train.* values, without the prefix
    drafter: Callable[[], Agent]  # the trial's own agent, built on demand
    say: Callable[[str], None]


class Recipe(ABC, Generic[OptionsT]):
    name: ClassVar[str]  # `parity train NAME`, `train.recipe = NAME` in the loop
    help: ClassVar[str]  # one line, the command's help
    trains_on: ClassVar[TrainsOn]
    order: ClassVar[int]  # place in `parity train --help` and the loop's search space; the first is the loop's default
    options_model: type[OptionsT]  # the typed options, with this recipe's defaults

    @abstractmethod
    def build_data(self, inputs: DataInputs) -> TrainingData:
        """The rows this recipe trains on, checked against the ruler."""

    def check(self, options: OptionsT, placement: Placement) -> OptionsT:
        """The options with every `auto` this recipe decides resolved for the placement, or a one-line
        refusal of what cannot run there; called before any work."""
        return options

    def prepare(self, inputs: DataInputs, options: OptionsT) -> Prepared:
        """The data and whatever else training needs (RL recipes add their reward)."""
        return Prepared(self.build_data(inputs))

    @abstractmethod
    def trainer(self, setup: TrainerSetup[OptionsT]) -> Any:
        """The TRL trainer, ready to `train()`. Heavy libraries are imported here, never at module level."""

    def loop_dataset(self, loop: LoopInputs) -> str | None:
        """A stored dataset the loop builds before training (its name, passed as `pairs`), or None."""
        return None

    def options_from(self, values: dict[str, Any]) -> tuple[OptionsT, LoraOptions]:
        """Typed options from loose values (the command line's, a loop proposal's train.*) over this recipe's defaults;
        other keys are left out."""
        try:
            options = self.options_model.model_validate({k: v for k, v in values.items() if k in self.options_model.model_fields})
            lora = LoraOptions.model_validate({k: v for k, v in values.items() if k in LoraOptions.model_fields})
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else "?"
            fields = {**LoraOptions.model_fields, **self.options_model.model_fields}
            shown = flag(name, fields[name]) if name in fields else name
            raise ParityError(
                f"{shown} = {error.get('input')!r}: {error['msg']}", f"train {self.name}", f"give {shown} a value that satisfies it"
            ) from None
        return options, lora

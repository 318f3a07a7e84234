"""GAD, adversarial distillation: GRPO whose reward is a MiniLM discriminator's P(teacher-like), first
fit on teacher answers against the agent's own drafts, refit as the policy moves; its held-out AUC
is recorded as a curve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from parity.train.recipes.grpo import GrpoOptions, RewardRecipe
from parity.train.recipes.options import option
from parity.train.recipes.recipe import DataInputs, Prepared

if TYPE_CHECKING:
    from parity.agent import Agent
    from parity.train.data import TrainingData
    from parity.train.rewards import DiscriminatorReward


class GadOptions(GrpoOptions):
    discriminator_drafts: Annotated[int, option("Agent drafts the discriminator first learns from."), Field(ge=1)] = 48


class Gad(RewardRecipe[GadOptions]):
    name = "gad"
    help = "Adversarial distillation: reward = a MiniLM discriminator's P(teacher-like), refit as the policy moves."
    order = 50
    options_model = GadOptions

    def prepare(self, inputs: DataInputs, options: GadOptions) -> Prepared:
        data = self.build_data(inputs)
        reward = discriminator(inputs.agent, data, options.discriminator_drafts)
        return Prepared(data, reward=reward, probes={"auc": lambda: reward.auc_history[-1]})


def discriminator(agent: Agent, data: TrainingData, n_first: int) -> DiscriminatorReward:
    """The discriminator, first fit on teacher answers against the agent's drafts for the first corpus inputs."""
    from parity.train.rewards import DiscriminatorReward

    drafts = []
    for row in data.rows[:n_first]:
        output = agent.answer(row["input"])
        if output.answer is not None:
            drafts.append(output.answer.as_output())
    teacher = [row["teacher"] for row in data.rows]
    return DiscriminatorReward(agent.corpus.embed, teacher, drafts)


RECIPE = Gad()

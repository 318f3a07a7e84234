"""GRPO: groups of sampled drafts per corpus prompt, advantages relative to the group's mean reward,
`beta` as the KL anchor to the base (the adapter disabled). The reward is the workspace's judge,
scoring each draft against the corpus teacher's answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field

from parity.train.placement import Placement
from parity.train.recipes.options import GradAccum, LearningRate, MaxSteps, SaveSteps, TrainOptions, option
from parity.train.recipes.recipe import DataInputs, Prepared, Recipe, TrainerSetup, TrainsOn
from parity.train.rollouts import RolloutEngine, Rollouts, choose_rollouts, vllm_installed

if TYPE_CHECKING:
    from parity.train.data import TrainingData


class GrpoOptions(TrainOptions):
    beta: Annotated[float, option("KL anchor to the base (0 = none)."), Field(ge=0, allow_inf_nan=False)] = 0.04
    num_generations: Annotated[int, option("Drafts sampled per prompt (the group for relative advantages)."), Field(ge=2)] = 4
    max_completion_length: Annotated[int, option("Tokens per sampled draft."), Field(ge=1)] = 256
    temperature: float = 0.9
    rollouts: Annotated[
        str,
        option(
            "Where drafts are sampled: auto (vLLM on a CUDA GPU where vLLM is installed, else transformers), "
            "transformers, vllm-colocate or vllm-server.",
            "--rollouts",
        ),
    ] = "auto"
    vllm_server: Annotated[str, option("A `trl vllm-serve` server's http://HOST:PORT, for --rollouts vllm-server.", "--vllm-server")] = ""
    # Every step samples: an epoch over the corpus would take hours on a CPU.
    max_steps: MaxSteps = 20
    learning_rate: LearningRate = 1e-5
    grad_accum: GradAccum = 1
    save_steps: SaveSteps = 5


R = TypeVar("R", bound=GrpoOptions)


class RewardRecipe(Recipe[R]):
    """A GRPO trainer on the agent's prompts for corpus inputs; subclasses choose the reward."""

    trains_on = TrainsOn.PROMPTS

    def check(self, options: R, placement: Placement) -> R:
        """`--rollouts auto` resolved (and recorded as resolved); vLLM refused where it cannot run."""
        engine = choose_rollouts(options.rollouts, options.vllm_server, placement.device, vllm_installed())
        return options.model_copy(update={"rollouts": str(engine.kind)})

    def build_data(self, inputs: DataInputs) -> TrainingData:
        """The agent's prompt for each corpus input, with the input and the teacher's answer alongside
        for the reward (the policy never sees the teacher's answer)."""
        from parity.train.data import TrainingData, prompt_messages, training_corpus

        ws, agent = inputs.ws, inputs.agent
        corpus = training_corpus(ws, agent.corpus, inputs.ruler, "RL recipes need")
        rows = [{"id": d.id, "input": d.input, "teacher": d.answer_text(), "prompt": prompt_messages(agent, d.input)} for d in corpus.demos]
        provenance = {"source": ws.shown(ws.corpus_path), "corpus_fingerprint": corpus.fingerprint, "agent": agent.name, "n": len(rows)}
        return TrainingData(inputs.name, "prompts", rows, provenance)

    def trainer(self, setup: TrainerSetup[R]) -> Any:
        from datasets import Dataset
        from trl import GRPOConfig, GRPOTrainer

        from parity.train.trainer import common_args, load_for_training, peft_config

        tokenizer, model = load_for_training(setup)
        options = setup.options
        args = GRPOConfig(
            **common_args(setup),
            beta=options.beta,
            num_generations=options.num_generations,
            max_completion_length=options.max_completion_length,
            temperature=options.temperature,
            # check() resolved --rollouts for this placement before any work: the options hold the engine itself.
            **RolloutEngine(Rollouts(options.rollouts), options.vllm_server).grpo_args(),
        )
        rows = Dataset.from_list([{k: r[k] for k in ("prompt", "id", "input", "teacher")} for r in setup.prepared.data.rows])
        return GRPOTrainer(
            model=model,
            reward_funcs=[setup.prepared.reward],
            args=args,
            train_dataset=rows,
            processing_class=tokenizer,
            peft_config=peft_config(setup),
            callbacks=setup.callbacks,
        )


class Grpo(RewardRecipe[GrpoOptions]):
    name = "grpo"
    help = "GRPO with the workspace's judge as the reward, scoring drafts for corpus inputs against the teacher."
    order = 40
    options_model = GrpoOptions

    def prepare(self, inputs: DataInputs, options: GrpoOptions) -> Prepared:
        from parity.judge import make_judge
        from parity.train.rewards import JudgeReward

        return Prepared(self.build_data(inputs), reward=JudgeReward(inputs.ws, make_judge(inputs.ws)))


RECIPE = Grpo()

"""SFT: supervised fine-tuning on the teacher's answers to corpus inputs, the loss on the completion only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parity.train.recipes.options import TrainOptions
from parity.train.recipes.recipe import DataInputs, Recipe, TrainerSetup, TrainsOn

if TYPE_CHECKING:
    from parity.train.data import TrainingData


class SftOptions(TrainOptions):
    pass  # the shared defaults


class Sft(Recipe[SftOptions]):
    name = "sft"
    help = "Supervised fine-tuning on the teacher's answers to corpus inputs."
    trains_on = TrainsOn.CORPUS
    order = 10
    options_model = SftOptions

    def build_data(self, inputs: DataInputs) -> TrainingData:
        """Prompt = the agent's prompt for a corpus input; completion = the teacher's answer as JSON."""
        from parity.train.data import TrainingData, prompt_messages, training_corpus

        ws, agent = inputs.ws, inputs.agent
        corpus = training_corpus(ws, agent.corpus, inputs.ruler, "SFT needs")
        rows = [
            {"id": d.id, "prompt": prompt_messages(agent, d.input), "completion": [{"role": "assistant", "content": d.answer_text()}]}
            for d in corpus.demos
        ]
        provenance = {
            "source": inputs.source or ws.shown(ws.corpus_path),
            "corpus_fingerprint": corpus.fingerprint,
            "agent": agent.name,
            "n": len(rows),
        }
        return TrainingData(inputs.name, self.name, rows, provenance)

    def trainer(self, setup: TrainerSetup[SftOptions]) -> Any:
        return completion_only_trainer(setup)


def completion_only_trainer(setup: TrainerSetup[Any]) -> Any:
    """TRL's SFT trainer with the loss on the completion only; RFT trains the same way on its kept drafts."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from parity.train.trainer import common_args, load_for_training, peft_config

    tokenizer, model = load_for_training(setup)
    rows = [{"prompt": r["prompt"], "completion": r["completion"]} for r in setup.prepared.data.rows]
    args = SFTConfig(**common_args(setup), max_length=setup.options.max_length, completion_only_loss=True, packing=False)
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config(setup),
        callbacks=setup.callbacks,
    )


RECIPE = Sft()

"""RFT: rejection-sampling fine-tuning. The agent samples several drafts for each corpus input, the
workspace's judge scores each against the teacher's answer, and SFT trains on the best one. The
model learns from its own best answers: text it can already write, where plain SFT asks a small
model to imitate a frontier teacher it cannot reach."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from parity.errors import ParityError
from parity.train.recipes.options import TrainOptions, option
from parity.train.recipes.recipe import DataInputs, Prepared, Recipe, TrainerSetup, TrainsOn
from parity.train.recipes.sft import completion_only_trainer

if TYPE_CHECKING:
    from parity.train.data import TrainingData


class RftOptions(TrainOptions):
    drafts: Annotated[int, option("Drafts sampled per corpus input; the judge keeps the best."), Field(ge=2, le=16)] = 4
    temperature: Annotated[float, option("Sampling temperature of the drafts."), Field(gt=0, le=2)] = 0.8
    inputs: Annotated[int, option("Corpus inputs drafted, from the first (0 = all)."), Field(ge=0)] = 0
    min_quality: Annotated[
        float, option("Leave out an input whose best draft scores below this quality against the teacher."), Field(ge=0, le=1)
    ] = 0.0


class Rft(Recipe[RftOptions]):
    name = "rft"
    help = "Rejection-sampling fine-tuning: SFT on the agent's own best-judged draft for each corpus input."
    trains_on = TrainsOn.CORPUS
    order = 15
    options_model = RftOptions

    def build_data(self, inputs: DataInputs) -> TrainingData:
        return self.drafted(inputs, self.options_model())

    def prepare(self, inputs: DataInputs, options: RftOptions) -> Prepared:
        return Prepared(self.drafted(inputs, options))

    def drafted(self, inputs: DataInputs, options: RftOptions) -> TrainingData:
        """Prompt = the agent's prompt for a corpus input; completion = its best draft. The drafts go
        through the agent's completion cache, so the same command drafts again at no cost."""
        from parity.agent.context import Draw
        from parity.judge import make_judge
        from parity.judge.identity import judge_identity
        from parity.progress import Progress
        from parity.train.data import TrainingData, prompt_messages, training_corpus
        from parity.train.rewards import JudgeReward

        ws, agent = inputs.ws, inputs.agent
        corpus = training_corpus(ws, agent.corpus, inputs.ruler, "RFT needs")
        demos = corpus.demos[: options.inputs] if options.inputs else corpus.demos
        reward = JudgeReward(ws, make_judge(ws))
        draws = [Draw(options.temperature, i, f"rft:{i}") for i in range(options.drafts)]
        rows, best_scores, all_scores = [], [], []
        skipped = {"no_valid_draft": 0, "below_min_quality": 0}
        with Progress(transient=True) as progress:
            task = progress.add_task(f"drafting {options.drafts} per input with {agent.name}", total=len(demos))
            for demo in demos:
                ctx = agent.context(demo.input)
                texts = [a.as_output() for a in ctx.ask_each(demo.input, ctx.fewshot(demo.input), draws) if a is not None]
                progress.advance(task)
                if not texts:
                    skipped["no_valid_draft"] += 1
                    continue
                k = len(texts)
                scores = reward([None] * k, texts, id=[demo.id] * k, input=[demo.input] * k, teacher=[demo.answer_text()] * k)
                all_scores.extend(scores)
                best = max(range(k), key=lambda i: scores[i])  # ties: the earlier draw
                if scores[best] < options.min_quality:
                    skipped["below_min_quality"] += 1
                    continue
                best_scores.append(scores[best])
                rows.append(
                    {
                        "id": demo.id,
                        "prompt": prompt_messages(agent, demo.input),
                        "completion": [{"role": "assistant", "content": texts[best]}],
                    }
                )
        if not rows:
            raise ParityError(
                f"no draft of {len(demos)} corpus inputs was kept (skipped: {skipped})",
                f"train {self.name}",
                "lower --min-quality, raise --drafts, or check the agent answers at all with `parity run`",
            )
        provenance = {
            "source": inputs.source or ws.shown(ws.corpus_path),
            "corpus_fingerprint": corpus.fingerprint,
            "agent": agent.name,
            "agent_config": agent.config.model_dump(),
            "judge": judge_identity(ws),
            "drafts": options.drafts,
            "temperature": options.temperature,
            "inputs_drafted": len(demos),
            "skipped": skipped,
            "mean_best_quality": sum(best_scores) / len(best_scores),
            "mean_draft_quality": sum(all_scores) / len(all_scores),
            "n": len(rows),
        }
        return TrainingData(inputs.name, self.name, rows, provenance)

    def trainer(self, setup: TrainerSetup[RftOptions]) -> Any:
        return completion_only_trainer(setup)  # the same completion-only SFT, on the kept drafts


RECIPE = Rft()

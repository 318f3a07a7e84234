"""The loop's weights trials, on a scripted model and judge: the requested recipe from the registry, its
typed options with the proposal's train.* values over the recipe's own defaults, the pairs a preference
recipe needs drafted first, then the adapter screened like any other trial. Training itself is replaced:
what reaches it is the subject."""

from __future__ import annotations

import json

import pytest

from parity.loop.proposers import GridProposer
from parity.loop.runner import LoopLimits, loop_name, run_loop
from parity.task import ParamSpec
from parity.train.recipes import registry
from parity.train.run import TrainJob
from parity.train.trainer import TrainResult
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, by_word, strong_when_hot, use_model
from tests.helpers.training import SmallWorkspace


@pytest.fixture
def jobs(small: SmallWorkspace, monkeypatch: pytest.MonkeyPatch) -> list[TrainJob]:
    """Training replaced by a record of the job and an adapter folder the trial's agent can load."""
    seen: list[TrainJob] = []

    def train(ws, ruler, store, job: TrainJob, announce=None) -> TrainResult:
        seen.append(job)
        folder = ws.state_dir / "adapters" / job.name / "adapter"
        folder.mkdir(parents=True)
        # --full leaves a whole model (its config.json), LoRA a PEFT adapter
        (folder / ("config.json" if job.options.full else "adapter_config.json")).write_text(json.dumps({"r": job.lora.rank}))
        return TrainResult(job.name, folder, 1.0, {})

    monkeypatch.setattr("parity.loop.runner.train_from_corpus", train)
    return seen


def _loop(small: SmallWorkspace, monkeypatch: pytest.MonkeyPatch, space: dict[str, ParamSpec], allow: bool = True) -> tuple[list, list]:
    model = use_model(monkeypatch, ScriptedModel(strong_when_hot))
    judge = ScriptedJudge(small.ws.config.rubric, by_word)
    said: list[str] = []
    run_loop(small.ws, small.ruler, judge, small.store, GridProposer(space), LoopLimits(allow_training=allow), said.append)
    return small.store.trials(loop_name(small.ruler, "grid")), model.requests


def test_a_preference_trial_drafts_pairs_then_trains_with_the_proposal_over_the_recipes_defaults(
    small: SmallWorkspace, jobs: list[TrainJob], monkeypatch: pytest.MonkeyPatch
) -> None:
    space = {
        "train.recipe": ParamSpec(choice=["dpo"]),
        "train.learning_rate": ParamSpec(choice=[0.001]),
        "train.rank": ParamSpec(choice=[4]),
        "train.pairs": ParamSpec(choice=[3]),
    }
    [trial], requests = _loop(small, monkeypatch, space)
    [job] = jobs
    assert (job.recipe, job.name, job.pairs, job.base, job.resume) == (registry()["dpo"], "loop1-dpo", "loop1-pairs", "smollm2-135m", False)
    assert job.options == registry()["dpo"].options_model(learning_rate=1e-3)  # batch 2, grad accum 4: DPO's own
    assert job.lora.rank == 4
    [pairs] = small.store.datasets()
    assert (pairs.name, pairs.kind, pairs.n_rows) == ("loop1-pairs", "pairs-onpolicy", 3)
    assert trial.status == "done" and trial.verdict == "kept", trial.reason
    assert trial.config["model"] == "hf:smollm2-135m" and trial.config["adapter"] == "loop1-dpo"
    assert len(requests) == 3 + len(small.ruler.gate("dev")) + len(small.ruler.cases)  # drafts, screen, decide


def test_rl_and_sft_trials_take_their_recipes_defaults_and_build_no_dataset(
    small: SmallWorkspace, jobs: list[TrainJob], monkeypatch: pytest.MonkeyPatch
) -> None:
    trials, _ = _loop(small, monkeypatch, {"train.recipe": ParamSpec(choice=["grpo", "sft"])})
    assert [t.verdict for t in trials] == ["kept", "screened_out"]  # the same scripted answers: the second only ties
    assert [(j.recipe.name, j.pairs, j.options.max_steps, j.options.learning_rate) for j in jobs] == [
        ("grpo", None, 20, 1e-5),
        ("sft", None, -1, 2e-4),
    ]
    assert small.store.datasets() == []


def test_an_unknown_recipe_is_recorded_as_not_available(
    small: SmallWorkspace, jobs: list[TrainJob], monkeypatch: pytest.MonkeyPatch
) -> None:
    [trial], requests = _loop(small, monkeypatch, {"train.recipe": ParamSpec(choice=["ppo"])})
    assert trial.verdict == "training_request" and "the ppo recipe is not available yet" in trial.reason
    assert jobs == [] and requests == []


def test_a_weights_trial_crossed_with_few_shot_evaluates_the_adapter_training_returned(
    small: SmallWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner asks for reuse and evaluates whichever adapter training hands back: here the second
    trial's training answers with the first trial's adapter, as `train_from_corpus` does for a job
    trained the same way."""
    seen: list[TrainJob] = []

    def train(ws, ruler, store, job: TrainJob, announce=None) -> TrainResult:
        seen.append(job)
        name = seen[0].name
        folder = ws.state_dir / "adapters" / name / "adapter"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "adapter_config.json").write_text(json.dumps({"r": job.lora.rank}))
        return TrainResult(name, folder, 1.0, {})

    monkeypatch.setattr("parity.loop.runner.train_from_corpus", train)
    trials, _ = _loop(small, monkeypatch, {"train.recipe": ParamSpec(choice=["sft"]), "fewshot.k": ParamSpec(choice=[0, 2])})
    assert [j.reuse for j in seen] == [True, True]
    assert [t.config["adapter"] for t in trials] == ["loop1-sft", "loop1-sft"]
    assert trials[1].config["fewshot"]["k"] == 2


def test_a_full_fine_tuning_trial_serves_the_whole_model_it_trained_with_no_adapter(
    small: SmallWorkspace, jobs: list[TrainJob], monkeypatch: pytest.MonkeyPatch
) -> None:
    [trial], _ = _loop(small, monkeypatch, {"train.recipe": ParamSpec(choice=["sft"]), "train.full": ParamSpec(choice=[True])})
    [job] = jobs
    assert job.options.full is True and trial.status == "done", trial.reason
    assert trial.config["model"] == f"hf:{small.ws.state_dir / 'adapters' / 'loop1-sft' / 'adapter'}" and trial.config["adapter"] is None

"""`parity train`: one command per registered recipe, its options generated from the recipe's options
model (names, defaults and help as they always were), and the values typed before anything trains."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parity.train.recipes import registry
from parity.train.run import TrainJob
from parity.train.trainer import TrainResult
from tests.helpers.cli import invoke_parity

COMMON = ["--base", "--name", "--agent"]
SHARED = [
    "--epochs",
    "--max-steps",
    "--lr",
    "--batch-size",
    "--grad-accum",
    "--max-length",
    "--seed",
    "--save-steps",
    "--device",
    "--quantize",
    "--gradient-checkpointing",
    "--full",
]
LORA = ["--rank", "--alpha", "--targets"]
ROLLOUTS = ["--rollouts", "--vllm-server"]
LAST = ["--resume", "--launcher", "--num-processes", "--accelerate-config", "--workspace", "--help"]
FLAGS = {
    "sft": ["--data", *COMMON, *SHARED, *LORA, *LAST],
    "rft": ["--data", *COMMON, "--drafts", "--temperature", "--inputs", "--min-quality", *SHARED, *LORA, *LAST],
    "dpo": ["--pairs", *COMMON, "--beta", *SHARED, *LORA, *LAST],
    "orpo": ["--pairs", *COMMON, "--beta", *SHARED, *LORA, *LAST],
    "grpo": [*COMMON, "--beta", "--num-generations", "--max-completion-length", *ROLLOUTS, *SHARED, *LORA, *LAST],
    "gad": [*COMMON, "--beta", "--num-generations", "--max-completion-length", *ROLLOUTS, "--discriminator-drafts", *SHARED, *LORA, *LAST],
}


def _help(tmp_path: Path, *args: str) -> str:
    shown = invoke_parity(*args, "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def _options(text: str) -> dict[str, str]:
    """Each option's help line, by flag, in the order shown."""
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"│ (--[a-z-]+)\s+(?:-\w\s+)?<\w+>\s+(.*?)\s*│", text)}


def test_train_lists_one_command_per_recipe_with_its_help(tmp_path: Path) -> None:
    text = _help(tmp_path, "train")
    listed = re.findall(r"│ (\w+)\s+(.+?)\s*│", text.split("Commands")[1])
    assert listed == [(name, recipe.help) for name, recipe in registry().items()]


@pytest.mark.parametrize("name", list(FLAGS))
def test_each_recipe_command_shows_its_options_with_the_recipes_defaults(tmp_path: Path, name: str) -> None:
    options = _options(_help(tmp_path, "train", name))
    assert list(options) == FLAGS[name]
    defaults = registry()[name].options_model()
    assert options["--lr"] == f"Learning rate. [default: {defaults.learning_rate}]"
    assert options["--max-steps"].endswith(f"[default: {defaults.max_steps}]")
    assert options["--batch-size"] == f"Examples per device step. [default: {defaults.batch_size}]"
    assert options["--save-steps"].endswith(f"[default: {defaults.save_steps}]")
    assert options["--targets"].endswith("(default: by architecture).")  # resolved from the base's config.json when training
    assert options["--base"].endswith("[default: smollm2-135m]")


def test_the_recipe_specific_help_is_the_recipes_own(tmp_path: Path) -> None:
    dpo = _options(_help(tmp_path, "train", "dpo"))
    assert dpo["--beta"] == "Strength of the preference term (DPO: KL to the base; ORPO: odds-ratio weight). [default: 0.1]"
    assert dpo["--lr"] == "Learning rate. [default: 5e-05]" and dpo["--grad-accum"].endswith("[default: 4]")
    assert dpo["--pairs"] == "Preference pairs built by `parity pairs build` (name or fingerprint)."
    gad = _options(_help(tmp_path, "train", "gad"))
    assert gad["--beta"] == "KL anchor to the base (0 = none). [default: 0.04]"
    assert gad["--discriminator-drafts"] == "Agent drafts the discriminator first learns from. [default: 48]"
    assert gad["--max-steps"] == "Optimizer steps; overrides --epochs when > 0. [default: 20]"


def test_the_command_line_reaches_training_as_typed_options(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: list[TrainJob] = []

    def train(ws, ruler, store, job: TrainJob, announce=None) -> TrainResult:
        jobs.append(job)
        return TrainResult(job.name, ws.state_dir / "adapters" / job.name, 1.0, {"steps": 2, "train_loss": 0.5, "tokens_per_s": None})

    monkeypatch.setattr("parity.train.run.train_from_corpus", train)
    args = ["train", "dpo", "--pairs", "p1", "--name", "d1", "--lr", "0.001", "--beta", "0.3", "--rank", "4", "--targets", "q_proj,v_proj"]
    done = invoke_parity(*args, cwd=ws_dir)
    assert done.returncode == 0, done.stderr
    assert "adapter d1: 2 steps in 1 s, final train loss 0.500" in done.stdout
    [job] = jobs
    assert (job.recipe, job.name, job.pairs, job.data, job.resume, job.base) == (registry()["dpo"], "d1", "p1", (), False, "smollm2-135m")
    assert job.options == registry()["dpo"].options_model(learning_rate=1e-3, beta=0.3)
    assert (job.lora.rank, job.lora.alpha, job.lora.targets) == (4, 32, ("q_proj", "v_proj"))

    done = invoke_parity("train", "sft", "--data", "slice.jsonl", "--data", "/abs/more.jsonl", "--epochs", "2", cwd=ws_dir)
    assert done.returncode == 0, done.stderr
    assert jobs[1].data == (ws_dir / "slice.jsonl", Path("/abs/more.jsonl"))
    assert jobs[1].options.epochs == 2.0 and jobs[1].name.startswith("sft-")

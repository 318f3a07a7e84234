"""Adding a recipe is adding its file: a module dropped into a copy of parity's recipes package gets its
`parity train` command with its options, is offered by the loop's search space, and is trained by a
loop weights trial, with no other edit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import parity
from parity.examples import write_example
from parity.train.recipes import recipe_names

TOY = '''
"""A toy recipe: its data is nothing, its trainer is never built here."""

from __future__ import annotations

from typing import Annotated, Any

from parity.train.data import TrainingData
from parity.train.recipes.options import LearningRate, TrainOptions, option
from parity.train.recipes.recipe import DataInputs, Recipe, TrainerSetup, TrainsOn


class ToyOptions(TrainOptions):
    knob: Annotated[int, option("How far the knob turns.")] = 3
    learning_rate: LearningRate = 0.5


class Toy(Recipe[ToyOptions]):
    name = "toy"
    help = "A toy recipe, for the registry's test."
    trains_on = TrainsOn.PROMPTS
    order = 99
    options_model = ToyOptions

    def build_data(self, inputs: DataInputs) -> TrainingData:
        return TrainingData(inputs.name, "toy", [], {})

    def trainer(self, setup: TrainerSetup[ToyOptions]) -> Any:
        raise NotImplementedError


RECIPE = Toy()
'''

PROBE = """
import json, sys
from pathlib import Path

from typer.testing import CliRunner

import parity
import parity.agent
import parity.loop.runner as runner
from parity.cli import app
from parity.loop.proposal import TRAINING_RECIPES
from parity.loop.proposers import DEFAULT_FIELDS, GridProposer
from parity.ruler import load_ruler
from parity.store import Store
from parity.task import ParamSpec, load_workspace
from parity.train.trainer import TrainResult
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, by_word, strong_when_hot

cli = CliRunner()
listing = cli.invoke(app, ["train", "--help"], terminal_width=200).output
command = cli.invoke(app, ["train", "toy", "--help"], terminal_width=200).output

jobs = []
def train(ws, ruler, store, job, announce=None):
    jobs.append(job)
    folder = ws.state_dir / "adapters" / job.name / "adapter"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    return TrainResult(job.name, folder, 1.0, {})

runner.train_from_corpus = train
parity.agent.open_model = lambda *args, **kwargs: ScriptedModel(strong_when_hot)
ws = load_workspace(Path(sys.argv[1]))
ruler, store = load_ruler(ws), Store.for_workspace(ws)
space = {"train.recipe": ParamSpec(choice=["toy"]), "train.knob": ParamSpec(choice=[5])}
limits = runner.LoopLimits(allow_training=True)
runner.run_loop(ws, ruler, ScriptedJudge(ws.config.rubric, by_word), store, GridProposer(space), limits, lambda line: None)
[trial] = store.trials(runner.loop_name(ruler, "grid"))
print(json.dumps({
    "package": parity.__file__,
    "listing": listing,
    "command": command,
    "recipes": list(TRAINING_RECIPES),
    "space": DEFAULT_FIELDS["train.recipe"].choice,
    "jobs": [(job.recipe.name, job.name, job.options.knob, job.options.learning_rate) for job in jobs],
    "trial": [trial.verdict, trial.config["adapter"]],
}))
"""


def _copy_with(tmp_path: Path, modules: dict[str, str]) -> Path:
    """A copy of the parity package with extra modules in train/recipes/, and nothing else changed."""
    root = tmp_path / "src"
    shutil.copytree(Path(parity.__file__).parent, root / "parity", ignore=shutil.ignore_patterns("__pycache__", "examples"))
    for name, code in modules.items():
        (root / "parity" / "train" / "recipes" / f"{name}.py").write_text(textwrap.dedent(code))
    return root


def _python(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(Path(__file__).parents[3])]), "COLUMNS": "200"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def test_a_recipe_module_dropped_into_the_package_is_picked_up_by_the_cli_and_the_loop(tmp_path: Path) -> None:
    root = _copy_with(tmp_path, {"toy": TOY})
    ws_dir = write_example("discovery", tmp_path / "ws")
    done = _python(root, "-c", PROBE, str(ws_dir))
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["package"].startswith(str(root))  # the copy, not the installed tree
    assert "toy   A toy recipe, for the registry's test." in seen["listing"]
    assert "--knob" in seen["command"] and "How far the knob turns. [default: 3]" in seen["command"]
    assert "Learning rate. [default: 0.5]" in seen["command"] and "--data" not in seen["command"]
    assert seen["recipes"] == seen["space"] == [*recipe_names(), "toy"]
    assert seen["jobs"] == [["toy", "loop1-toy", 5, 0.5]]
    assert seen["trial"] == ["kept", "loop1-toy"]


def test_two_modules_declaring_one_recipe_stop_the_registry(tmp_path: Path) -> None:
    root = _copy_with(tmp_path, {"toy": TOY, "toy_again": TOY})
    done = _python(root, "-c", "from parity.train.recipes import registry; registry()")
    assert done.returncode != 0
    assert "two recipe modules declare the recipe 'toy'" in done.stderr

"""The recipe registry: the six recipes in their order, what each trains on, each typed options model's
defaults, how loose values (the command line's, a loop proposal's) become typed options, what an
adapter records of them, and a registry that imports no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from parity.errors import ParityError
from parity.loop.proposal import TRAINING_RECIPES, requested_recipe
from parity.loop.proposers import DEFAULT_FIELDS
from parity.train.recipes import default_recipe, find_recipe, recipe_names, registry
from parity.train.recipes.options import LoraOptions
from parity.train.recipes.recipe import TrainsOn

SHARED = {
    "epochs": 1.0,
    "max_steps": -1,
    "learning_rate": 2e-4,
    "batch_size": 4,
    "grad_accum": 2,
    "max_length": 768,
    "seed": 0,
    "save_steps": 25,
    "device": "auto",
    "quantize": "none",
    "gradient_checkpointing": "auto",
    "full": False,
    "logging_steps": 1,
}
PREFERENCE = {**SHARED, "batch_size": 2, "grad_accum": 4, "beta": 0.1}
RL = {**SHARED, "max_steps": 20, "learning_rate": 1e-5, "grad_accum": 1, "save_steps": 5}
RL_OWN = {"beta": 0.04, "num_generations": 4, "max_completion_length": 256, "temperature": 0.9, "rollouts": "auto", "vllm_server": ""}
DEFAULTS = {
    "sft": SHARED,
    "rft": {**SHARED, "drafts": 4, "temperature": 0.8, "inputs": 0, "min_quality": 0.0},
    "dpo": {**PREFERENCE, "learning_rate": 5e-5},
    "orpo": {**PREFERENCE, "learning_rate": 1e-4},
    "grpo": {**RL, **RL_OWN},
    "gad": {**RL, **RL_OWN, "discriminator_drafts": 48},
}


def test_the_registry_lists_the_six_recipes_in_order_with_what_each_trains_on() -> None:
    assert recipe_names() == ("sft", "rft", "dpo", "orpo", "grpo", "gad")
    assert {name: recipe.trains_on for name, recipe in registry().items()} == {
        "sft": TrainsOn.CORPUS,
        "rft": TrainsOn.CORPUS,
        "dpo": TrainsOn.PAIRS,
        "orpo": TrainsOn.PAIRS,
        "grpo": TrainsOn.PROMPTS,
        "gad": TrainsOn.PROMPTS,
    }
    assert all(recipe.help and "\n" not in recipe.help for recipe in registry().values())
    assert default_recipe().name == "sft" and requested_recipe({"train.epochs": 2}) == "sft"
    assert requested_recipe({"train.recipe": "gad"}) == "gad" and find_recipe("gad") is registry()["gad"]
    assert find_recipe("ppo") is None


def test_the_loop_offers_every_registered_recipe() -> None:
    assert recipe_names() == TRAINING_RECIPES
    assert DEFAULT_FIELDS["train.recipe"].choice == list(recipe_names())


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_each_recipes_options_have_the_defaults_it_always_had(name: str) -> None:
    assert registry()[name].options_model().model_dump() == DEFAULTS[name]


def test_lora_defaults_and_targets_from_a_comma_separated_list() -> None:
    assert LoraOptions().model_dump() == {"rank": 16, "alpha": 32, "dropout": 0.05, "targets": ()}  # () = by architecture
    assert LoraOptions(targets=" q_proj, v_proj ,").targets == ("q_proj", "v_proj")


def test_loose_values_become_typed_options_over_the_recipes_defaults() -> None:
    proposal = {"recipe": "dpo", "pairs": 40, "learning_rate": 1e-3, "max_steps": "3", "rank": 4, "unknown": 1}
    options, lora = registry()["dpo"].options_from(proposal)
    assert options.model_dump() == {**DEFAULTS["dpo"], "learning_rate": 1e-3, "max_steps": 3}
    assert (lora.rank, lora.alpha) == (4, 32)
    gad, _ = registry()["gad"].options_from({"discriminator_drafts": 6, "num_generations": 2})
    assert (gad.discriminator_drafts, gad.num_generations, gad.max_steps) == (6, 2, 20)


@pytest.mark.parametrize(
    ("recipe", "values", "line"),
    [
        ("sft", {"batch_size": "many"}, "train sft: --batch-size = 'many': Input should be a valid integer"),
        ("rft", {"drafts": 1}, "train rft: --drafts = 1: Input should be greater than or equal to 2"),
        ("rft", {"temperature": 0}, "train rft: --temperature = 0: Input should be greater than 0"),
        ("rft", {"rank": "wide"}, "train rft: --rank = 'wide': Input should be a valid integer"),
    ],
)
def test_a_value_an_option_refuses_is_one_line_naming_its_flag(recipe: str, values: dict, line: str) -> None:
    with pytest.raises(ParityError) as refused:
        registry()[recipe].options_from(values)
    flag = line.split(": ")[1].split(" = ")[0]
    assert refused.value.line().startswith(line) and refused.value.line().endswith(f"— give {flag} a value that satisfies it")


def test_an_adapter_records_the_shared_options_and_the_recipes_own_under_extra() -> None:
    options, _ = registry()["gad"].options_from({"beta": 0.2})
    record = options.record()
    assert list(record) == [*SHARED, "extra"]
    assert record["extra"] == {**RL_OWN, "beta": 0.2, "discriminator_drafts": 48}
    assert registry()["sft"].options_model().record()["extra"] == {}


def test_the_registry_and_the_train_commands_import_no_heavy_library() -> None:
    probe = (
        "import sys; import parity.cli, parity.cli.train, parity.loop.runner; from parity.train.recipes import registry; registry();"
        "import json; print(json.dumps([m for m in ('torch', 'transformers', 'trl', 'peft', 'sklearn', 'datasets') if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []

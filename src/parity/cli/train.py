"""`parity train RECIPE`: one command per registered recipe, its options generated from the recipe's
options model; `parity pairs build`."""

from __future__ import annotations

import inspect
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from parity.cli.common import WorkspaceOpt, console, find_workspace, stored_name
from parity.errors import ParityError
from parity.train.recipes import registry
from parity.train.recipes.options import LoraOptions, TrainOptions, flag
from parity.train.recipes.recipe import Recipe, TrainsOn

Base = Annotated[str, typer.Option("--base", help="Model to adapt: smollm2-135m (bundled), hf:FOLDER or a .gguf file.")]
Name = Annotated[
    str | None, typer.Option("--name", help="Adapter name (agents use it as `adapter: NAME`); default RECIPE-DATE.", callback=stored_name)
]
AgentOpt = Annotated[
    str | None, typer.Option("--agent", help="Agent whose prompt the adapter learns to answer (default: the loop's base agent).")
]
Data = Annotated[
    list[Path] | None,
    typer.Option(
        "--data",
        metavar="<path>",
        help="A JSONL file in the corpus format (input, answer) instead of corpus/train.jsonl; repeat it to train on several.",
    ),
]
Pairs = Annotated[str | None, typer.Option("--pairs", help="Preference pairs built by `parity pairs build` (name or fingerprint).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue an interrupted run of --name from its last checkpoint.")]
Launcher = Annotated[
    str, typer.Option("--launcher", help="none, or accelerate: run data-parallel through `accelerate launch` (DDP, FSDP, DeepSpeed).")
]
NumProcesses = Annotated[int, typer.Option("--num-processes", help="With --launcher accelerate: processes (GPUs) to train on.")]
AccelerateConfig = Annotated[
    Path | None,
    typer.Option("--accelerate-config", help="With --launcher accelerate: an accelerate config file (FSDP, DeepSpeed, machines)."),
]


def _parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


# The option naming what a recipe trains on, by the kind of data.
DATA_OPTIONS: dict[TrainsOn, list[inspect.Parameter]] = {
    TrainsOn.CORPUS: [_parameter("data", Data, None)],
    TrainsOn.PAIRS: [_parameter("pairs", Pairs, None)],
    TrainsOn.PROMPTS: [],
}
FIRST = [_parameter("base", Base, "smollm2-135m"), _parameter("name", Name, None), _parameter("agent", AgentOpt, None)]
LAST = [
    _parameter("resume", Resume, False),
    _parameter("launcher", Launcher, "none"),
    _parameter("num_processes", NumProcesses, 1),
    _parameter("accelerate_config", AccelerateConfig, None),
    _parameter("workspace", WorkspaceOpt, None),
]


def _options(model: type[TrainOptions] | type[LoraOptions], names: list[str]) -> list[inspect.Parameter]:
    """Command-line parameters for the model's fields that have a help text; a tuple is comma-separated."""
    parameters = []
    for name in names:
        field = model.model_fields[name]
        if not field.description:
            continue
        annotation, default = field.annotation, field.default
        if isinstance(default, tuple):
            annotation, default = str, ",".join(default)
        parameters.append(_parameter(name, Annotated[annotation, typer.Option(flag(name, field), help=field.description)], default))
    return parameters


def recipe_parameters(recipe: Recipe[Any]) -> list[inspect.Parameter]:
    """What it trains on, the base and the agent, the recipe's own options, the run's, LoRA's, then resume."""
    model = recipe.options_model
    own = [name for name in model.model_fields if name not in TrainOptions.model_fields]
    return [
        *DATA_OPTIONS[recipe.trains_on],
        *FIRST,
        *_options(model, own),
        *_options(model, list(TrainOptions.model_fields)),
        *_options(LoraOptions, list(LoraOptions.model_fields)),
        *LAST,
    ]


def recipe_command(recipe: Recipe[Any]) -> Any:
    def command(**values: Any) -> None:
        train(recipe, values)

    command.__signature__ = inspect.Signature(recipe_parameters(recipe))  # type: ignore[attr-defined]
    return command


def build_train_app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, help="Train LoRA adapters on the corpus (never the ruler).")
    for recipe in registry().values():
        app.command(recipe.name, help=recipe.help)(recipe_command(recipe))
    return app


def pair_recipes() -> list[str]:
    return [recipe.name for recipe in registry().values() if recipe.trains_on == TrainsOn.PAIRS]


train_app = build_train_app()
pairs_app = typer.Typer(
    no_args_is_help=True, help=f"Build preference pairs from the corpus for {' and '.join(n.upper() for n in pair_recipes())}."
)


def train(recipe: Recipe[Any], values: dict[str, Any]) -> None:
    """Train an adapter with the command line's values: typed by the recipe's options models first.
    With --launcher, the same command runs again under the launcher's processes instead."""
    import sys

    from parity.ruler import load_ruler
    from parity.store import Store
    from parity.train.base import serving_spec
    from parity.train.launch import is_main_process, launched, relaunch
    from parity.train.run import TrainJob, train_from_corpus

    if values["launcher"] != "none" and not launched():
        code = relaunch(sys.argv[1:], values["launcher"], values["num_processes"], values["accelerate_config"])
        if code != 0:
            raise typer.Exit(code)  # the launched processes said what went wrong
        return
    ws = find_workspace(values["workspace"])
    options, lora = recipe.options_from(values)
    data: list[Path] = values.get("data") or []
    job = TrainJob(
        recipe,
        values["name"] or f"{recipe.name}-{datetime.now():%Y%m%d-%H%M}",
        options,
        lora,
        base=values["base"],
        agent=values["agent"],
        data=tuple(path if path.is_absolute() else Path.cwd() / path for path in data),
        pairs=values.get("pairs"),
        resume=values["resume"],
    )
    main = is_main_process()  # launched: the other processes train without a word
    result = train_from_corpus(ws, load_ruler(ws), Store.for_workspace(ws), job, announce=console.print if main else None)
    if main:
        _report(result, serving_spec(job.base), ws.shown(result.path) if options.full else None)


def _report(result, spec: str, whole_model: str | None) -> None:
    s = result.summary
    rate = f", {s['tokens_per_s']:.0f} tokens/s" if s.get("tokens_per_s") else ""
    loss = f", final train loss {s['train_loss']:.3f}" if s.get("train_loss") is not None else ""
    placed = s.get("placement") or {}
    where = (
        f" on {placed['device']} ({placed['precision']}{', ' + placed['quantize'] if placed.get('quantize') not in (None, 'none') else ''})"
        if placed
        else ""
    )
    console.print(f"adapter {result.name}: {s['steps']} steps in {result.train_s:.0f} s{where}{rate}{loss}")
    if whole_model is not None:
        console.print(f"use it in an agent file:  model: hf:{whole_model}   (a whole model: no adapter: line)")
    else:
        console.print(f"use it in an agent file:  model: {spec}   adapter: {result.name}")


@pairs_app.command("build")
def pairs_build(
    mode: Annotated[
        str, typer.Option("--mode", help="onpolicy: rejected = the agent's own draft; style: rejected from --rejected.")
    ] = "onpolicy",
    name: Annotated[str | None, typer.Option("--name", help="Dataset name (train with --pairs NAME).", callback=stored_name)] = None,
    agent: AgentOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N corpus inputs.", min=1)] = None,
    rejected: Annotated[
        Path | None, typer.Option("--rejected", help="style mode: JSONL of {id, answer} in the style to move away from.")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Build and store preference pairs (fingerprinted, with provenance)."""
    from parity.agent import load_agent
    from parity.ruler import load_ruler
    from parity.store import Store
    from parity.train.data import register_dataset
    from parity.train.pairs import onpolicy_pairs, style_pairs

    ws = find_workspace(workspace)
    ruler = load_ruler(ws)
    chosen = load_agent(ws, agent or ws.config.loop.base_agent)
    dataset_name = name or f"pairs-{mode}-{datetime.now():%Y%m%d-%H%M}"
    if mode == "onpolicy":
        data = onpolicy_pairs(ws, ruler, chosen, dataset_name, limit)
    elif mode == "style":
        if rejected is None:
            raise ParityError("style pairs need the other style's answers", "--rejected", "pass --rejected FILE (JSONL of {id, answer})")
        data = style_pairs(ws, ruler, chosen, dataset_name, rejected)
    else:
        raise ParityError(f"unknown mode '{mode}'", "--mode", "use onpolicy or style")
    register_dataset(Store.for_workspace(ws), data, ws.state_dir / "datasets")
    skipped = data.provenance.get("skipped")
    console.print(
        f"pairs {dataset_name}: {len(data.rows)} pairs (fingerprint {data.fingerprint[:12]})" + (f", skipped {skipped}" if skipped else "")
    )
    console.print("train on them:  " + "   or   ".join(f"parity train {recipe} --pairs {dataset_name}" for recipe in pair_recipes()))

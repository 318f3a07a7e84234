"""Proposers: where the loop's next experiment comes from.

- grid: every combination of the search space in `[loop.space]`, in order;
- optuna: TPE over the same space, the study kept in the store's database so workers share it;
- llm: a model (any spec) reads the research memory and returns {hypothesis, lever, patch}.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, Protocol

from parity.agent.strategies import STRATEGY_KINDS
from parity.errors import ParityError
from parity.io import parse_json
from parity.loop.memory import Memory
from parity.loop.proposal import LEVERS, TRAINING_RECIPES, Proposal, lever_of
from parity.task import ParamSpec, Workspace

# Fields an LLM proposer may patch when the workspace declares no search space.
DEFAULT_FIELDS: dict[str, ParamSpec] = {
    "decoding.temperature": ParamSpec(range=[0.0, 1.2]),
    "decoding.top_p": ParamSpec(range=[0.5, 1.0]),
    "fewshot.k": ParamSpec(range=[0, 6]),
    "fewshot.retrieval": ParamSpec(choice=["knn", "mmr", "random"]),
    "strategy.kind": ParamSpec(choice=list(STRATEGY_KINDS)),
    "train.recipe": ParamSpec(choice=list(TRAINING_RECIPES)),
}


class Proposer(Protocol):
    name: str
    space: dict[str, ParamSpec]

    def propose(self, memory: Memory, base: dict[str, Any], notes: list[str]) -> Proposal | None: ...  # None: nothing left

    def tell(self, proposal: Proposal, value: float | None) -> None: ...


def space_of(ws: Workspace) -> dict[str, ParamSpec]:
    space = ws.config.loop.space
    if not space:
        raise ParityError(
            "the loop needs a search space",
            "parity.toml [loop.space]",
            'declare fields, e.g. "decoding.temperature" = { range = [0.0, 1.0] }',
        )
    return space


def _applies(spec: ParamSpec, chosen: dict[str, Any], base: dict[str, Any]) -> bool:
    """A conditional parameter applies when every field it names has the given value."""
    if not spec.when:
        return True
    return all(chosen.get(key, _lookup(base, key)) == value for key, value in spec.when.items())


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for name in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(name)
    return node


def _describe(patch: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in patch.items())


class GridProposer:
    name = "grid"

    def __init__(self, space: dict[str, ParamSpec]):
        self.space = space

    def combinations(self, base: dict[str, Any]) -> list[dict[str, Any]]:
        patches: list[dict[str, Any]] = [{}]
        for key, spec in self.space.items():
            grown: list[dict[str, Any]] = []
            for patch in patches:
                if _applies(spec, patch, base):
                    grown.extend({**patch, key: value} for value in spec.grid_values())
                else:
                    grown.append(patch)
            patches = grown
        return patches

    def propose(self, memory: Memory, base: dict[str, Any], notes: list[str]) -> Proposal | None:
        tried = memory.tried()
        for patch in self.combinations(base):
            if str(sorted(patch.items())) not in tried:
                return Proposal(f"grid: {_describe(patch)}", lever_of(patch), patch)
        return None

    def tell(self, proposal: Proposal, value: float | None) -> None:
        pass


def _rdb_storage(url: str, engine_kwargs: dict[str, Any]) -> Any:
    """Optuna's storage, created once per database. Workers starting together race to create Optuna's
    schema; the loser sees a duplicate alembic row, and simply opens the schema the winner made."""
    import optuna
    import sqlalchemy.exc

    for _ in range(4):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except sqlalchemy.exc.DBAPIError:
            time.sleep(0.5 + random.random())
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


class OptunaProposer:
    """TPE over the declared space. The study lives in the store's database under the loop's name, so
    every worker pointing at the same database asks and tells the same study."""

    name = "optuna"

    def __init__(self, space: dict[str, ParamSpec], storage_url: str, study_name: str, seed: int = 0):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.space = space
        kwargs = {"connect_args": {"timeout": 60}} if storage_url.startswith("sqlite") else {}
        storage = _rdb_storage(storage_url, kwargs)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)
        self.study = optuna.create_study(study_name=study_name, storage=storage, direction="maximize", sampler=sampler, load_if_exists=True)

    def propose(self, memory: Memory, base: dict[str, Any], notes: list[str]) -> Proposal | None:
        trial = self.study.ask()
        patch: dict[str, Any] = {}
        for key, spec in self.space.items():
            if not _applies(spec, patch, base):
                continue
            if spec.choice is not None:
                patch[key] = trial.suggest_categorical(key, spec.choice)
            elif spec.range is not None:  # ParamSpec's validator: a spec without a choice has a range
                low, high = spec.range
                if spec.is_int:
                    patch[key] = trial.suggest_int(key, int(low), int(high), log=spec.log)
                else:
                    patch[key] = round(trial.suggest_float(key, float(low), float(high), log=spec.log), 3)
        return Proposal(f"TPE trial {trial.number}: {_describe(patch)}", lever_of(patch), patch, optuna_trial=trial.number)

    def tell(self, proposal: Proposal, value: float | None) -> None:
        import optuna

        if proposal.optuna_trial is None:
            return
        state = optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.FAIL
        self.study.tell(proposal.optuna_trial, value if value is not None else None, state=state, skip_if_finished=True)


class LLMProposer:
    """A model reads the research memory and proposes one patch, constrained to a JSON schema whose
    field and lever names come from the search space; on a plateau, recently used levers are removed
    from the schema, so the proposal has to rotate."""

    name = "llm"

    def __init__(self, model: Any, space: dict[str, ParamSpec], task_description: str, max_tokens: int = 400):
        self.model = model
        self.space = space
        self.task_description = task_description
        self.max_tokens = max_tokens

    def schema(self, levers: list[str]) -> dict[str, Any]:
        fields = [key for key in self.space if lever_of({key: None}) in levers] or list(self.space)
        value = {"anyOf": [{"type": "string", "maxLength": 400}, {"type": "number"}, {"type": "boolean"}]}
        return {
            "type": "object",
            "properties": {
                "hypothesis": {"type": "string", "minLength": 10, "maxLength": 300},
                "lever": {"type": "string", "enum": levers},
                "patch": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"field": {"type": "string", "enum": fields}, "value": value},
                        "required": ["field", "value"],
                        "additionalProperties": False,
                    },
                    "minItems": 1,
                    "maxItems": 3,
                },
            },
            "required": ["hypothesis", "lever", "patch"],
            "additionalProperties": False,
        }

    def prompt(self, memory: Memory, base: dict[str, Any], levers: list[str], notes: list[str]) -> list[dict[str, str]]:
        fields = "\n".join(f"- {key}: {self._allowed(spec)}" for key, spec in self.space.items())
        refused = ("\nRefused earlier in this round:\n" + "\n".join(f"- {n}" for n in notes)) if notes else ""
        user = (
            f"You run experiments to improve a small model's agent on this task: {self.task_description}\n\n"
            f"The base agent config is:\n{json.dumps(base, ensure_ascii=False)}\n\n"
            f"{memory.text()}\n\nFields you may change:\n{fields}\n\nLevers you may pull now: {', '.join(levers)}.{refused}\n\n"
            "Propose ONE new experiment that has not been tried: a one-sentence hypothesis, its lever, and a patch of 1 to 3 fields.\n"
            'Answer in JSON: {"hypothesis": "...", "lever": "...", "patch": [{"field": "...", "value": ...}]}'
        )
        return [{"role": "system", "content": "You are a careful ML research assistant."}, {"role": "user", "content": user}]

    @staticmethod
    def _allowed(spec: ParamSpec) -> str:
        if spec.choice:
            return "one of " + ", ".join(json.dumps(c) for c in spec.choice)
        if spec.range is not None:
            return f"a number from {spec.range[0]} to {spec.range[1]}"
        return "free text"

    def levers_now(self, memory: Memory) -> list[str]:
        available = list(dict.fromkeys(lever_of({key: None}) for key in self.space))
        if memory.plateau:
            rotated = [lever for lever in available if lever not in memory.recent_levers]
            return rotated or available
        return available

    def propose(self, memory: Memory, base: dict[str, Any], notes: list[str]) -> Proposal | None:
        from parity.models import Request

        levers = self.levers_now(memory)
        request = Request(
            messages=tuple(self.prompt(memory, base, levers, notes)),
            temperature=0.7,
            max_tokens=self.max_tokens,
            seed=0,
            schema=self.schema(levers),
            # Distinct per log state and retry, and the same after a restart (so the cache replays it).
            repeat=len(memory.trials) * 10 + len(notes),
        )
        completion = self.model.complete(request)
        try:
            data = parse_json(completion.text)
            patch = {item["field"]: item["value"] for item in data["patch"]}
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            return Proposal(f"unreadable proposal ({exc})", "prompt", {}, notes=[f"unreadable: {completion.text[:120]}"])
        lever = data.get("lever") if data.get("lever") in LEVERS else lever_of(patch)
        return Proposal(str(data.get("hypothesis", "")).strip(), lever, patch)

    def tell(self, proposal: Proposal, value: float | None) -> None:
        pass


def make_proposer(ws: Workspace, kind: str, store_url: str, loop_name: str, model_spec: str | None) -> Proposer:
    if kind == "grid":
        return GridProposer(space_of(ws))
    if kind == "optuna":
        return OptunaProposer(space_of(ws), store_url, loop_name, ws.config.metric.seed)
    if kind == "llm":
        from parity.models import open_model, parse_spec

        spec = parse_spec(model_spec or "llamacpp:smollm2-135m", "--model")
        model = open_model(spec, ws.root, ws.state_dir / "cache" / "completions", where="--model")
        space = ws.config.loop.space or DEFAULT_FIELDS
        return LLMProposer(model, space, ws.task.description)
    raise ParityError(f"unknown proposer '{kind}'", "--proposer", "use one of: optuna, llm, grid")

"""Agent files (`agents/NAME.yaml`): validated, with errors that name the file, the line and the field.
The sections come from agent/settings.py, and `strategy:` from the registered strategies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError, field_validator

from parity.agent.settings import DecodingConfig, FewshotConfig, PromptConfig, Strict
from parity.agent.strategies import STRATEGIES, STRATEGY_KINDS, AnyStrategyConfig
from parity.agent.strategies.single import SingleStrategy
from parity.errors import ParityError
from parity.io import one_line, read_text, require_text
from parity.models.resilience import BackendOptions
from parity.models.spec import ModelSpec, parse_spec


class AgentConfig(Strict):
    name: str | None = None
    model: str = "llamacpp:smollm2-135m"
    adapter: str | None = None  # a PEFT LoRA adapter folder put on an hf: base model
    prompt: PromptConfig = PromptConfig()
    fewshot: FewshotConfig | None = None
    decoding: DecodingConfig = DecodingConfig()
    strategy: AnyStrategyConfig = SingleStrategy()
    backend: BackendOptions = BackendOptions()

    @field_validator("strategy", mode="before")
    @classmethod
    def _kind_shorthand(cls, value: Any) -> Any:
        # `strategy: KIND` is short for `strategy: {kind: KIND}` with every default.
        if isinstance(value, str):
            if value not in STRATEGY_KINDS:
                raise ValueError(f"unknown strategy '{value}'; allowed: {', '.join(STRATEGY_KINDS)}")
            return {"kind": value}
        return value

    @field_validator("model")
    @classmethod
    def _valid_spec(cls, text: str) -> str:
        try:
            parse_spec(text)
        except ParityError as exc:  # pydantic locates ValueErrors; the loader adds file and line
            raise ValueError(f"{exc.what} ({exc.fix})") from None
        return text


AGENT_SUFFIXES = (".yaml", ".yml", ".py")


def resolve_agent_path(agents_dir: Path, name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in AGENT_SUFFIXES and candidate.is_file():
        return candidate.resolve()
    for suffix in AGENT_SUFFIXES:
        path = agents_dir / f"{name_or_path}{suffix}"
        if path.is_file():
            return path
    known = sorted({p.stem for p in agents_dir.iterdir() if p.suffix in AGENT_SUFFIXES}) if agents_dir.is_dir() else []
    raise ParityError(
        f"no agent named '{name_or_path}'",
        str(agents_dir),
        f"use one of: {', '.join(known)}" if known else "add an agents/NAME.yaml or agents/NAME.py file",
    )


def load_agent_config(path: Path, shown: str) -> tuple[AgentConfig, ModelSpec]:
    text = read_text(path, shown)
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark else shown
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]  # a reader's error has no problem, only lines
        raise ParityError(one_line(f"invalid YAML ({problem})"), where, "fix the syntax") from None
    except RecursionError:
        raise ParityError("lists or mappings nested too deeply", shown, "flatten them") from None
    except ValueError as exc:  # a value YAML reads but Python cannot hold: a 2001-02-30, a 5000-digit integer
        raise ParityError(one_line(f"a value cannot be read ({exc})"), shown, "fix or quote it") from None
    if not isinstance(raw, dict):
        raise ParityError("an agent file must be a YAML mapping", shown, "see agents/baseline.yaml for the format")
    config = validate_agent_config(raw, shown, lambda keys: _yaml_line(root, keys))
    if config.name is None:
        config = config.model_copy(update={"name": path.stem})
    return config, parse_spec(config.model)


def validate_agent_config(raw: dict[str, Any], shown: str, line_of: Any = None) -> AgentConfig:
    """Validate a raw agent mapping; the error names the field, the allowed values and, if known, the line."""
    try:
        config = AgentConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        keys = _field_path(err["loc"])
        line = line_of(keys) if line_of else None
        message = err["msg"].removeprefix("Value error, ")
        fix = None
        if err["type"] == "extra_forbidden":
            fix = _allowed_hint(err["loc"])
        elif err["type"] == "union_tag_not_found":
            message, fix = "missing kind", f"set kind: one of {', '.join(STRATEGY_KINDS)}"
        raise ParityError(one_line(f"{'.'.join(keys)}: {message}"), f"{shown}:{line}" if line else shown, fix) from None
    require_text(config.model_dump(), shown)
    return config


def _field_path(loc: tuple[Any, ...]) -> list[str]:
    """The location as the user wrote it: without the union tag pydantic inserts after `strategy`."""
    keys = [str(k) for k in loc]
    if len(keys) > 1 and keys[0] == "strategy" and keys[1] in STRATEGY_KINDS:
        del keys[1]
    return keys


def _allowed_hint(loc: tuple[Any, ...]) -> str:
    model: Any = AgentConfig
    for key in [str(k) for k in loc[:-1]]:
        if key in STRATEGY_KINDS and model is None:
            model = STRATEGIES[key].config
            continue
        field = getattr(model, "model_fields", {}).get(key)
        if field is None:
            return "fix the value"
        annotation = field.annotation
        model = (
            None
            if key == "strategy"
            else next(
                (a for a in (annotation, *getattr(annotation, "__args__", ())) if isinstance(a, type) and issubclass(a, BaseModel)), None
            )
        )
    if model is None:
        return "fix the value"
    return f"allowed fields here: {', '.join(model.model_fields)}"


def _yaml_line(node: Any, keys: list[str]) -> int | None:
    """Line (1-based) of the deepest key of `keys` found in the composed YAML tree."""
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if key_node.value == key:
                line = key_node.start_mark.line + 1
                node = value_node
                break
        else:
            break
    return line

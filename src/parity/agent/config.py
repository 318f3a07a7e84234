"""Agent files (`agents/NAME.yaml`): validated, with errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path
from string import Formatter
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from parity.errors import ParityError
from parity.models.resilience import BackendOptions
from parity.models.spec import ModelSpec, parse_spec

# Variables a prompt template may use; anything else is refused when the agent is loaded.
PROMPT_VARIABLES = {
    "input": "the case input as the user typed it",
    "n_questions": "how many questions the task requires",
    "task_description": "the task description from parity.toml",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptConfig(_Strict):
    system: str = ""
    user: str

    @field_validator("system", "user")
    @classmethod
    def _known_variables(cls, template: str) -> str:
        for _, name, _, _ in Formatter().parse(template):
            if name is not None and name not in PROMPT_VARIABLES:
                raise ValueError(f"unknown template variable {{{name}}}; allowed: {', '.join('{' + v + '}' for v in PROMPT_VARIABLES)}")
        return template


class DecodingConfig(_Strict):
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(512, ge=16, le=8192)
    seed: int = 0


class AgentConfig(_Strict):
    name: str | None = None
    model: str
    adapter: str | None = None  # a PEFT LoRA adapter folder put on an hf: base model
    prompt: PromptConfig
    decoding: DecodingConfig = DecodingConfig()
    strategy: Literal["single"] = "single"
    backend: BackendOptions = BackendOptions()

    @field_validator("model")
    @classmethod
    def _valid_spec(cls, text: str) -> str:
        try:
            parse_spec(text)
        except ParityError as exc:  # pydantic locates ValueErrors; the loader adds file and line
            raise ValueError(f"{exc.what} ({exc.fix})") from None
        return text


def resolve_agent_path(agents_dir: Path, name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        return candidate.resolve()
    for suffix in (".yaml", ".yml"):
        path = agents_dir / f"{name_or_path}{suffix}"
        if path.is_file():
            return path
    known = sorted(p.stem for p in agents_dir.glob("*.y*ml")) if agents_dir.is_dir() else []
    raise ParityError(
        f"no agent named '{name_or_path}'",
        str(agents_dir),
        f"use one of: {', '.join(known)}" if known else "add an agents/NAME.yaml file",
    )


def load_agent_config(path: Path, shown: str) -> tuple[AgentConfig, ModelSpec]:
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark else shown
        raise ParityError(f"invalid YAML ({getattr(exc, 'problem', exc)})", where, "fix the syntax") from None
    if not isinstance(raw, dict):
        raise ParityError("an agent file must be a YAML mapping", shown, "see agents/baseline.yaml for the format")
    try:
        config = AgentConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        keys = [str(k) for k in err["loc"]]
        line = _yaml_line(root, keys)
        message = err["msg"].removeprefix("Value error, ")
        fix = _allowed_hint(keys) if err["type"] == "extra_forbidden" else None
        raise ParityError(f"{'.'.join(keys)}: {message}", f"{shown}:{line}" if line else shown, fix) from None
    if config.name is None:
        config = config.model_copy(update={"name": path.stem})
    return config, parse_spec(config.model)


def _allowed_hint(keys: list[str]) -> str:
    fields: dict[str, Any] = {
        "": AgentConfig.model_fields,
        "prompt": PromptConfig.model_fields,
        "decoding": DecodingConfig.model_fields,
        "backend": BackendOptions.model_fields,
    }
    parent = ".".join(keys[:-1])
    if parent in fields:
        return f"allowed fields here: {', '.join(fields[parent])}"
    return "fix the value"


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

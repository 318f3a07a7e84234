"""The mutable agent: a config that turns a case input into an Answer through a model backend."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from parity.agent.config import AgentConfig, load_agent_config, resolve_agent_path
from parity.agent.prompting import build_messages
from parity.errors import ParityError
from parity.models import Completion, Model, Request, open_model
from parity.models.spec import ModelSpec, parse_spec
from parity.task import Answer, TaskSpec, Workspace, answer_schema, parse_answer

__all__ = ["Agent", "AgentOutput", "agent_from_record", "load_agent"]


@dataclass
class AgentOutput:
    answer: Answer | None
    completion: Completion
    error: str | None = None  # why no answer: "truncated: …" or "parse: …"


class Agent:
    def __init__(self, config: AgentConfig, spec: ModelSpec, task: TaskSpec, source: Path, model: Model):
        self.config = config
        self.spec = spec
        self.task = task
        self.source = source
        self.model = model
        self.schema = answer_schema(task)

    @property
    def name(self) -> str:
        return self.config.name or self.source.stem

    @property
    def max_in_flight(self) -> int:
        return self.config.backend.max_in_flight

    def request(self, case_input: str) -> Request:
        decoding = self.config.decoding
        return Request(
            messages=build_messages(self.config.prompt, self.task, case_input),
            temperature=decoding.temperature,
            top_p=decoding.top_p,
            max_tokens=decoding.max_tokens,
            seed=decoding.seed,
            schema=self.schema,
        )

    def answer(self, case_input: str) -> AgentOutput:
        completion = self.model.complete(self.request(case_input))
        if completion.finish_reason == "length":
            return AgentOutput(None, completion, f"truncated: output hit max_tokens={self.config.decoding.max_tokens}")
        try:
            answer = parse_answer(json.loads(completion.text), self.task)
        except (json.JSONDecodeError, ValueError) as exc:
            return AgentOutput(None, completion, f"parse: {exc}")
        return AgentOutput(answer, completion)


def load_agent(ws: Workspace, name_or_path: str, use_cache: bool = True) -> Agent:
    """Validate the agent file and resolve its model before anything is written."""
    path = resolve_agent_path(ws.agents_dir, name_or_path)
    config, spec = load_agent_config(path, ws.shown(path))
    return build_agent(ws, config, spec, path, use_cache)


def agent_from_record(ws: Workspace, record: dict, source: str, use_cache: bool = True) -> Agent:
    """The agent exactly as an experiment recorded it (for --resume), whatever its file says now."""
    config = AgentConfig.model_validate(record)
    return build_agent(ws, config, parse_spec(config.model), ws.agents_dir / source, use_cache)


def build_agent(ws: Workspace, config: AgentConfig, spec: ModelSpec, path: Path, use_cache: bool) -> Agent:
    shown = ws.shown(path)
    adapter = _adapter_path(ws, config.adapter, shown) if config.adapter else None
    cache_dir = ws.state_dir / "cache" / "completions" if use_cache else None
    model = open_model(spec, ws.root, cache_dir, config.backend, adapter, where=shown)
    return Agent(config, spec, ws.task, path, model)


def _adapter_path(ws: Workspace, text: str, shown: str) -> Path:
    path = Path(text).expanduser()
    path = path if path.is_absolute() else ws.root / path
    if not (path / "adapter_config.json").is_file():
        raise ParityError(f"adapter not found: {path} has no adapter_config.json", shown, "point adapter: at a PEFT LoRA adapter folder")
    return path

"""The mutable agent: a YAML config or a Python module that turns a case input into an Answer,
through a model backend, optional corpus retrieval and a built-in or hand-written pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.agent.config import AgentConfig, load_agent_config, resolve_agent_path
from parity.agent.context import AgentContext, AgentFailure, Step
from parity.agent.corpus import Corpus
from parity.agent.prompting import check_input_fields
from parity.agent.pyagent import PythonAgent, load_python_agent, read_python_agent
from parity.agent.strategies import calls_per_case, check_strategy, run_strategy
from parity.errors import ParityError
from parity.models import Completion, Model, Request, open_model
from parity.models.embedder import workspace_cache
from parity.models.hf import is_whole_model
from parity.models.spec import ModelSpec, model_path, parse_spec
from parity.task import Answer, TaskSpec, Workspace, answer_schema, parse_answer

__all__ = ["Agent", "AgentContext", "AgentFailure", "AgentOutput", "agent_from_record", "load_agent"]


@dataclass
class AgentOutput:
    answer: Answer | None
    trace: list[Step] = field(default_factory=list)
    error: str | None = None  # why no answer: "truncated: …", "parse: …" or the pipeline's reason

    @property
    def completion(self) -> Completion:
        """Every call of the pipeline folded into one: summed tokens, time and cost; the last text."""
        calls = [s for s in self.trace if not s.step.startswith("retrieve")]
        last = calls[-1] if calls else Step("none")
        return Completion(
            text=last.text,
            finish_reason=last.finish_reason,
            prompt_tokens=sum(s.prompt_tokens for s in calls),
            completion_tokens=sum(s.completion_tokens for s in calls),
            cost_usd=sum(s.cost_usd for s in calls),
            latency_s=sum(s.latency_s for s in calls),
            cached=bool(calls) and all(s.cached for s in calls),
        )


@dataclass(eq=False, repr=False)  # compared and hashed by identity, as before; its corpus is too large to print
class Agent:
    config: AgentConfig
    spec: ModelSpec
    task: TaskSpec
    source: Path
    model: Model
    corpus: Corpus
    python: PythonAgent | None = None

    @property
    def name(self) -> str:
        return self.config.name or self.source.stem

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON schema of a final answer (None for a free-text task)."""
        return answer_schema(self.task)

    @property
    def max_in_flight(self) -> int:
        return self.config.backend.max_in_flight

    @property
    def calls_per_case(self) -> int:
        """The most model calls one case can take (the budget reserves this many; a Python agent counts as one)."""
        return calls_per_case(self.config.strategy)

    def context(self, case_input: str) -> AgentContext:
        return AgentContext(self.model, self.config, self.task, self.corpus, case_input)

    def request(self, case_input: str) -> Request:
        """The first call this agent makes for a case (cost estimates and benchmarks use it)."""
        ctx = self.context(case_input)
        n = getattr(self.config.strategy, "m", None)
        decoding = self.config.decoding
        return Request(
            messages=tuple(ctx.messages(case_input, n, ctx.fewshot(case_input))),
            temperature=decoding.temperature,
            top_p=decoding.top_p,
            max_tokens=decoding.max_tokens,
            seed=decoding.seed,
            schema=answer_schema(self.task, n),
        )

    def answer(self, case_input: str) -> AgentOutput:
        ctx = self.context(case_input)
        try:
            if self.python is None:
                answer = run_strategy(ctx, case_input)
            else:
                answer = self._python_answer(ctx, case_input)
        except AgentFailure as exc:
            return AgentOutput(None, ctx.trace, str(exc))
        return AgentOutput(answer, ctx.trace)

    def _python_answer(self, ctx: AgentContext, case_input: str) -> Answer:
        assert self.python is not None
        case = self.python.run_case(case_input, self.config, self.task, self.model, self.corpus)
        ctx.trace.extend(case.trace)
        if case.failure is not None:
            raise AgentFailure(case.failure)
        if case.answer is None:
            raise AgentFailure(ctx.trace[-1].error if ctx.trace and ctx.trace[-1].error else "answer() returned None")
        try:
            return parse_answer(case.answer, self.task, what="answer()")
        except ValueError as exc:
            raise AgentFailure(str(exc)) from None

    def close(self) -> None:
        """Stop a Python agent's worker processes (they stop with parity anyway)."""
        if self.python is not None:
            self.python.close()


def load_agent(ws: Workspace, name_or_path: str, use_cache: bool = True) -> Agent:
    """Validate the agent file and resolve its model before anything is written."""
    path = resolve_agent_path(ws.agents_dir, name_or_path)
    shown = ws.shown(path)
    if path.suffix == ".py":
        python = read_python_agent(ws, path)
        return build_agent(ws, python.config, parse_spec(python.config.model), path, use_cache, python)
    config, spec = load_agent_config(path, shown)
    return build_agent(ws, config, spec, path, use_cache)


def agent_from_record(ws: Workspace, record: dict, source: str, use_cache: bool = True, code: str | None = None) -> Agent:
    """The agent exactly as an experiment recorded it (for --resume), whatever its file says now."""
    path = ws.agents_dir / source
    if code is not None:
        python = load_python_agent(ws, code, path)
        config = AgentConfig.model_validate(record)
        return build_agent(ws, config, parse_spec(config.model), path, use_cache, python)
    config = AgentConfig.model_validate(record)
    return build_agent(ws, config, parse_spec(config.model), path, use_cache)


def build_agent(
    ws: Workspace, config: AgentConfig, spec: ModelSpec, path: Path, use_cache: bool, python: PythonAgent | None = None
) -> Agent:
    shown = ws.shown(path)
    check_strategy(config.strategy, ws.task, shown)
    check_input_fields(config.prompt, ws.task, path, shown)
    adapter = _adapter_path(ws, config.adapter, shown) if config.adapter else None
    if adapter is not None and spec.backend == "llamacpp":
        from parity.models.lora_gguf import lora_for

        adapter = lora_for(adapter, model_path(spec, ws.root, shown), ws.state_dir / "cache" / "lora")
    cache_dir = ws.state_dir / "cache" / "completions" if use_cache else None
    model = open_model(spec, ws.root, cache_dir, config.backend, adapter, where=shown)
    corpus = Corpus.load(ws.corpus_path, workspace_cache(ws.state_dir), ws.shown(ws.corpus_path), ws.task)
    if config.fewshot is not None and not corpus.demos:
        raise ParityError(
            "fewshot needs a corpus, and the workspace has none", ws.shown(ws.corpus_path), "add corpus/train.jsonl or remove fewshot:"
        )
    return Agent(config, spec, ws.task, path, model, corpus, python)


def _adapter_path(ws: Workspace, text: str, shown: str) -> Path:
    """`adapter:` is the name of an adapter `parity train` registered, a PEFT adapter folder, or (for
    a llamacpp: model) a GGUF LoRA file."""
    registered = ws.state_dir / "adapters" / text / "adapter"
    if "/" not in text and (registered / "adapter_config.json").is_file():
        return registered
    if "/" not in text and is_whole_model(registered):
        raise ParityError(
            f"'{text}' was fully fine-tuned (--full): it is a whole model, not an adapter",
            shown,
            f"serve it as  model: hf:{ws.shown(registered)}  and remove the adapter: line",
        )
    path = Path(text).expanduser()
    path = path if path.is_absolute() else ws.root / path
    if not (path / "adapter_config.json").is_file() and not (path.suffix == ".gguf" and path.is_file()):
        train = (
            f"train it with `parity train RECIPE --name {text}` (a bundled agent's header names the command)"
            if "/" not in text
            else "train one with `parity train`"
        )
        raise ParityError(
            f"adapter not found: '{text}' is neither a trained adapter, a folder with adapter_config.json nor a GGUF LoRA file",
            shown,
            f"{train}, or point adapter: at a PEFT LoRA adapter folder",
        )
    return path

"""Python agents: `agents/NAME.py` defining `answer(input, ctx) -> Answer` (or {"title", "questions"}).

An optional module-level `CONFIG` dict takes the same fields as a YAML agent (model, adapter,
prompt, fewshot, decoding, backend); `ctx` is an AgentContext. The source text is recorded with
every experiment, so `--resume` and audits run exactly the code that ran.

The code never runs in parity's process: it is imported and run in a sandboxed worker process
(agent/process.py), one case at a time within [python_agents] case_time_limit_s.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.agent import sandbox
from parity.agent.config import AgentConfig, validate_agent_config
from parity.agent.context import Step
from parity.agent.corpus import Corpus
from parity.agent.process import (
    START_LIMIT_S,
    AgentProcess,
    Answered,
    CaseTimeout,
    Loaded,
    Raised,
    WorkerFailed,
    WorkerPlan,
    WorkerPool,
    readable_roots,
)
from parity.errors import ParityError
from parity.io import one_line, read_text
from parity.models import Model
from parity.store import sqlite_file, store_url
from parity.task import TaskSpec, Workspace

FIX = "fix the agent and run it again (--resume would rerun the recorded code)"


class AgentCodeError(ParityError):
    """A bug in a Python agent: the run stops (finished cases stay recorded)."""


@dataclass
class CaseResult:
    """What the agent's worker made of one case."""

    answer: Any
    failure: str | None
    trace: list[Step]


@dataclass(eq=False)
class PythonAgent:
    code: str
    filename: str  # as shown in messages, e.g. agents/decompose.py
    config: AgentConfig
    workers: WorkerPool

    def run_case(self, case_input: str, config: AgentConfig, task: TaskSpec, model: Model, corpus: Corpus) -> CaseResult:
        """One case in a worker: the agent's answer, or why there is none (the case fails, the run goes on);
        a bug in the agent raises AgentCodeError (the run stops)."""
        worker = self.workers.take()
        if worker is None:
            worker = self._start()
        case = {
            "input": case_input,
            "config": config.model_dump(mode="json"),
            "task": task.model_dump(mode="json"),
            "schema": task.output_schema if task.is_json else None,
        }
        try:
            reply = worker.answer(case, model, corpus)
        except CaseTimeout:
            self.workers.discard(worker)
            limit = self.workers.plan.time_limit_s
            return CaseResult(None, f"time limit: answer() ran over {limit:g} s ([python_agents] case_time_limit_s)", [])
        except WorkerFailed as exc:
            self.workers.discard(worker)
            raise AgentCodeError(f"{exc} (case input: {case_input[:60]!r})", self.filename, FIX) from None
        except BaseException:
            self.workers.discard(worker)  # an interrupt, or the model failing: no worker is left mid-case
            raise
        if isinstance(reply, Raised):
            self.workers.discard(worker)
            raise AgentCodeError(
                f"answer() raised {reply.type}: {one_line(reply.message)} (case input: {case_input[:60]!r})",
                where(self.filename, reply),
                FIX,
            )
        self.workers.give(worker)
        assert isinstance(reply, Answered)
        return CaseResult(reply.answer, reply.failure, reply.trace)

    def close(self) -> None:
        self.workers.close()

    def _start(self) -> AgentProcess:
        worker, _ = start_worker(self.workers, AgentCodeError, FIX)
        return worker


def start_worker(workers: WorkerPool, error: type[ParityError], fix: str) -> tuple[AgentProcess, Loaded]:
    """A new worker with the agent imported; `error` (with `fix`) when it cannot start or the import raised."""
    filename = workers.plan.filename
    try:
        worker, loaded = workers.start()
    except (CaseTimeout, WorkerFailed) as exc:
        raise error(f"the agent's process could not start: {exc or f'not ready within {START_LIMIT_S:g} s'}", filename, fix) from None
    if isinstance(loaded, Raised):
        workers.discard(worker)
        raise error(f"importing the agent raised {loaded.type}: {one_line(loaded.message)}", where(filename, loaded), fix)
    return worker, loaded


def where(filename: str, raised: Raised) -> str:
    return f"{filename}:{raised.line}" if raised.line else filename


def load_python_agent(ws: Workspace, code: str, path: Path) -> PythonAgent:
    """Check the agent's code, then import it in a worker (never here) to read its CONFIG."""
    shown, name = ws.shown(path), path.stem
    try:
        compile(code, shown, "exec")
    except SyntaxError as exc:
        raise ParityError(
            f"syntax error: {one_line(exc.msg)}", f"{shown}:{exc.lineno}" if exc.lineno else shown, "fix the Python source"
        ) from None
    except ValueError as exc:  # a NUL byte
        raise ParityError(f"the agent's source cannot be compiled: {exc}", shown, "fix the Python source") from None
    except (MemoryError, RecursionError):  # an expression nested too deeply for Python's compiler
        raise ParityError("the agent's source is nested too deeply to compile", shown, "simplify the Python source") from None
    plan = WorkerPlan(code, shown, name, _offered(ws), _readable(ws, shown), ws.config.python_agents.case_time_limit_s)
    workers = WorkerPool(plan)
    worker, loaded = start_worker(workers, ParityError, "fix the agent module")
    workers.give(worker)
    if not loaded.has_answer:
        workers.close()
        raise ParityError("a Python agent must define answer(input, ctx)", shown, "add: def answer(input, ctx): ...")
    if not isinstance(loaded.config, dict):
        workers.close()
        raise ParityError("CONFIG must be a dict of agent fields (plain JSON values)", shown, "see agents/baseline.yaml for the fields")
    config = validate_agent_config({"name": name, **loaded.config}, shown, _config_line(code))
    return PythonAgent(code, shown, config, workers)


def read_python_agent(ws: Workspace, path: Path) -> PythonAgent:
    return load_python_agent(ws, read_text(path, ws.shown(path)), path)


def _offered(ws: Workspace) -> tuple[tuple[Path, str], ...]:
    """What the worker's folder holds: what ctx offers anyway, the agents and the corpus."""
    return ((ws.agents_dir, "agents"), (ws.corpus_path, "corpus/" + ws.corpus_path.name))


def _readable(ws: Workspace, shown: str) -> tuple[Path, ...] | None:
    if sandbox.abi_version() >= 1:
        protected = [ws.root, ws.state_dir, *([p] if (p := sqlite_file(store_url(ws))) else [])]
        return readable_roots(protected)
    if not ws.config.python_agents.unsandboxed:
        raise ParityError(
            "Python agents run in an OS sandbox, and this system has none (Landlock: Linux 5.13 or later, with landlock among its security modules)",
            shown,
            "use a YAML agent, or set [python_agents] unsandboxed = true in parity.toml to run it anyway, knowing it can then read the ruler",
        )
    print(f"parity: {shown} runs without an OS sandbox ([python_agents] unsandboxed = true): it can read the ruler", file=sys.stderr)
    return None


def _config_line(code: str) -> Callable[[list[str]], int | None]:
    """Line of the CONFIG assignment, for validation errors."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return lambda keys: None
    line = next(
        (
            node.lineno
            for node in tree.body
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "CONFIG" for t in node.targets)
        ),
        None,
    )
    return lambda keys: line


def calls_used(code: str) -> list[str]:
    """Which AgentContext methods the agent calls, in source order (for the pipeline diagram)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    seen: dict[str, int] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "ctx"
            and node.func.attr in CONTEXT_METHODS
        ):
            seen.setdefault(node.func.attr, node.lineno)
    return sorted(seen, key=seen.__getitem__)


CONTEXT_METHODS = ("retrieve", "fewshot", "ask", "generate", "embed", "topic_bank", "finish")

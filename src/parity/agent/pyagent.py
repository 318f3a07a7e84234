"""Python agents: `agents/NAME.py` defining `answer(input, ctx) -> Answer` (or {"title", "questions"}).

An optional module-level `CONFIG` dict takes the same fields as a YAML agent (model, adapter,
prompt, fewshot, decoding, backend); `ctx` is an AgentContext. The source text is recorded with
every experiment, so `--resume` and audits run exactly the code that ran.
"""

from __future__ import annotations

import ast
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.agent.config import AgentConfig, validate_agent_config
from parity.errors import ParityError
from parity.io import read_text


class AgentCodeError(ParityError):
    """A bug in a Python agent: the run stops (finished cases stay recorded)."""


@dataclass
class PythonAgent:
    code: str
    filename: str  # as shown in messages, e.g. agents/decompose.py
    answer: Callable[..., Any]
    config: AgentConfig


def load_python_agent(code: str, shown: str, name: str) -> PythonAgent:
    try:
        compiled = compile(code, shown, "exec")
    except SyntaxError as exc:
        raise ParityError(f"syntax error: {exc.msg}", f"{shown}:{exc.lineno}", "fix the Python source") from None
    module = types.ModuleType(f"parity_agent_{name}")
    module.__file__ = shown
    try:
        exec(compiled, module.__dict__)
    except Exception as exc:
        raise ParityError(
            f"importing the agent raised {type(exc).__name__}: {exc}", user_frame(exc, shown), "fix the agent module"
        ) from None
    answer = getattr(module, "answer", None)
    if not callable(answer):
        raise ParityError("a Python agent must define answer(input, ctx)", shown, "add: def answer(input, ctx): ...")
    raw = getattr(module, "CONFIG", {}) or {}
    if not isinstance(raw, dict):
        raise ParityError("CONFIG must be a dict of agent fields", shown, "see agents/baseline.yaml for the fields")
    config = validate_agent_config({"name": name, **raw}, shown, _config_line(code))
    return PythonAgent(code, shown, answer, config)


def read_python_agent(path: Path, shown: str) -> PythonAgent:
    return load_python_agent(read_text(path, shown), shown, path.stem)


def user_frame(exc: BaseException, shown: str) -> str:
    """`agents/x.py:LINE` of the deepest frame inside the agent's own code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == shown]
    return f"{shown}:{frames[-1].lineno}" if frames else shown


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

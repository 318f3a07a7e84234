"""The worker process a Python agent runs in (`python -m parity.agent.worker PARENT_PID`): it confines itself,
imports the agent's code, then answers one case at a time. Its `ctx` is the ordinary AgentContext,
but the model and the corpus live in parity's process and are reached over the channel, so nothing
here holds a model, a path to the ruler, the store's URL or a key.

Protocol (JSON lines on stdin/stdout; the agent's own prints go to stderr):
  parity → worker  {"op": "load", "code", "filename", "name", "readable": [..], "writable": [..]}
  worker → parity  {"op": "loaded", "config": {...}} | {"op": "raised", ...}
  parity → worker  {"op": "case", "input", "config", "task", "schema"}
  worker → parity  {"op": "complete" | "retrieve" | "embed" | "topic_bank", ...}  (parity replies to each)
  worker → parity  {"op": "done", "answer", "failure", "trace"} | {"op": "raised", ...}
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import types
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from parity.agent.config import AgentConfig
from parity.agent.context import AgentContext, AgentFailure
from parity.agent.corpus import Corpus, Demo, Retrieval
from parity.agent.sandbox import confine, die_with_parent
from parity.agent.wire import COMPLETION_FIELDS, Channel, WireError
from parity.models.base import Completion, Request
from parity.task import Answer, TaskSpec


class RemoteModel:
    """The agent's model, called through parity."""

    def __init__(self, channel: Channel):
        self.channel = channel
        self.spec = self.identity = "parity"

    def complete(self, request: Request) -> Completion:
        self.channel.send({"op": "complete", **asdict(request)})
        reply = self.channel.receive()
        # For the agent's eyes: parity keeps its own record of these numbers.
        return Completion(**{name: reply[name] for name in COMPLETION_FIELDS})

    def context_tokens(self, request: Request) -> tuple[int, int] | None:
        return None  # parity checks the first request against the context itself


class RemoteCorpus(Corpus):
    """The workspace's corpus, searched and embedded by parity."""

    def __init__(self, channel: Channel):
        super().__init__([], None)
        self.channel = channel

    def retrieve(self, query: str, k: int, method: str = "knn", mmr_lambda: float = 0.5, seed: int = 0) -> Retrieval:
        reply = self._ask({"op": "retrieve", "query": query, "k": k, "method": method, "mmr_lambda": mmr_lambda, "seed": seed})
        return Retrieval([Demo(**demo) for demo in reply["demos"]], list(reply["refused"]))

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._ask({"op": "embed", "texts": list(texts)})["vectors"], dtype=np.float32)

    def topic_bank(self, topics: int) -> np.ndarray:
        return np.asarray(self._ask({"op": "topic_bank", "topics": topics})["vectors"], dtype=np.float32)

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        self.channel.send(message)
        return self.channel.receive()


def main() -> None:
    die_with_parent(int(sys.argv[1]))
    channel = Channel(0, os.dup(1))
    os.dup2(2, 1)  # the agent's prints must not mix with the protocol
    sys.stdout = sys.stderr
    try:
        _serve(channel)
    except WireError:
        sys.exit(1)  # parity went away or broke off: nothing to answer for
    except KeyboardInterrupt:
        sys.exit(130)  # parity reports the interrupt in one line; a traceback from here would reach its stderr


def _serve(channel: Channel) -> None:
    load = channel.receive()
    if load.get("readable") is not None:
        confine([Path(p) for p in load["readable"]], [Path(p) for p in load["writable"]])
    module = _import(channel, load["code"], load["filename"], load["name"])
    if module is None:
        return
    while True:
        case = channel.receive()
        channel.send(_answer_case(channel, module, load["filename"], case))


def _import(channel: Channel, code: str, filename: str, name: str) -> types.ModuleType | None:
    module = types.ModuleType(f"parity_agent_{name}")
    module.__file__ = filename
    try:
        exec(compile(code, filename, "exec"), module.__dict__)
    except Exception as exc:
        channel.send(_raised(exc, filename, "import"))
        return None
    config = getattr(module, "CONFIG", {}) or {}
    channel.send({"op": "loaded", "has_answer": callable(getattr(module, "answer", None)), "config": _plain(config)})
    return module


def _answer_case(channel: Channel, module: types.ModuleType, filename: str, case: dict[str, Any]) -> dict[str, Any]:
    config, task = AgentConfig.model_validate(case["config"]), TaskSpec.model_validate(case["task"])
    if case.get("schema") is not None:  # a json task's schema is read from the workspace, which the worker cannot see
        task.attach_schema(case["schema"])
    ctx = AgentContext(RemoteModel(channel), config, task, RemoteCorpus(channel), case["input"])
    try:
        result = module.answer(case["input"], ctx)
    except AgentFailure as exc:
        return {"op": "done", "answer": None, "failure": str(exc), "trace": _trace(ctx)}
    except Exception as exc:
        return _raised(exc, filename, "answer")
    if isinstance(result, Answer):
        result = result.shown()
    plain = _plain(result)
    if plain is None and result is not None:
        return {"op": "done", "answer": None, "failure": f"answer() returned a {type(result).__name__}, not JSON", "trace": _trace(ctx)}
    return {"op": "done", "answer": plain, "failure": None, "trace": _trace(ctx)}


def _trace(ctx: AgentContext) -> list[dict[str, Any]]:
    return [_plain(step.to_dict()) or {"step": step.step} for step in ctx.trace]


def _plain(value: Any) -> Any:
    """`value` if it is plain JSON (what the channel can carry), else None."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return value


def _raised(exc: BaseException, filename: str, at: str) -> dict[str, Any]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return {"op": "raised", "at": at, "type": type(exc).__name__, "message": str(exc)[:2000], "line": frames[-1].lineno if frames else None}


if __name__ == "__main__":
    main()

"""Python agents' worker processes, from parity's side: each starts in a fresh working folder that
holds only what `ctx` offers (a copy of the agents folder and of the corpus), confined by the OS
sandbox so that it cannot read the ruler or the store nor write the workspace, with no key in its
environment; it answers one case at a time within the case's time limit, or is killed."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.agent.corpus import Corpus
from parity.agent.serving import BadRequest, serve, trusted_trace
from parity.agent.wire import Channel, WireClosed, WireError, WireTimeout
from parity.models import Completion, Model

# What a worker may read besides the Python installation: the system's libraries and settings.
SYSTEM_READABLE = ("/usr", "/lib", "/lib64", "/bin", "/etc", "/dev/urandom", "/dev/zero")
# A worker's start (Python, numpy, parity's agent modules, then the agent's own imports) is not a case:
# it gets its own time, however short the case time limit.
START_LIMIT_S = 120.0


@dataclass(frozen=True)
class WorkerPlan:
    """How to start a worker for one agent."""

    code: str
    filename: str  # as shown in messages, e.g. agents/decompose.py
    name: str
    offered: tuple[tuple[Path, str], ...]  # (what, its name in the working folder): the agents folder, the corpus
    readable: tuple[Path, ...] | None  # None: no sandbox (the user opted in where none is available)
    time_limit_s: float


@dataclass
class Loaded:
    has_answer: bool
    config: Any


@dataclass
class Raised:
    """The agent's code raised: at import or in answer()."""

    at: str
    type: str
    message: str
    line: int | None


@dataclass
class Answered:
    answer: Any
    failure: str | None
    trace: list = field(default_factory=list)


class WorkerFailed(Exception):
    """The worker died, broke the protocol or asked for something malformed; the run cannot go on with it."""


class CaseTimeout(Exception):
    pass


class AgentProcess:
    def __init__(self, plan: WorkerPlan):
        self.plan = plan
        self.workdir = Path(tempfile.mkdtemp(prefix="parity-agent-"))
        for source, name in plan.offered:
            _copy(source, self.workdir / name)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "parity.agent.worker", str(os.getpid())],
            cwd=self.workdir,  # also sys.path[0] of the worker: never the workspace
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # the agent's prints, as if it ran in parity's process
            env=_environment(self.workdir),
            start_new_session=True,  # Ctrl-C reaches parity, which stops the worker itself
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.channel = Channel(self.process.stdout.fileno(), self.process.stdin.fileno())

    def load(self) -> Loaded | Raised:
        plan = self.plan
        readable = None if plan.readable is None else [str(p) for p in plan.readable]
        message = {"op": "load", "code": plan.code, "filename": plan.filename, "name": plan.name}
        deadline = time.monotonic() + max(START_LIMIT_S, plan.time_limit_s)
        reply = self._exchange({**message, "readable": readable, "writable": [str(self.workdir), "/dev/null"]}, deadline)
        if reply.get("op") == "loaded":
            return Loaded(bool(reply.get("has_answer")), reply.get("config"))
        return _raised(reply)

    def answer(self, case: dict[str, Any], model: Model, corpus: Corpus) -> Answered | Raised:
        """Run one case; the worker's requests are served as they come. Raises CaseTimeout past the time limit."""
        deadline = time.monotonic() + self.plan.time_limit_s
        served: list[Completion] = []
        reply = self._exchange({"op": "case", **case}, deadline)
        while reply.get("op") not in ("done", "raised"):
            try:
                result = serve(reply, model, corpus, served)
            except BadRequest as exc:
                raise WorkerFailed(f"the agent's process made a malformed request ({exc})") from None
            reply = self._exchange(result, deadline)
        if reply["op"] == "raised":
            return _raised(reply)
        return Answered(reply.get("answer"), _text_or_none(reply.get("failure")), trusted_trace(_list(reply.get("trace")), served))

    def _exchange(self, message: dict[str, Any], deadline: float) -> dict[str, Any]:
        try:
            self.channel.send(message, deadline)
            return self.channel.receive(deadline)
        except WireTimeout:
            raise CaseTimeout() from None
        except WireClosed:
            code = self.process.wait()
            raise WorkerFailed(f"the agent's process exited with code {code}") from None
        except WireError as exc:
            raise WorkerFailed(f"the agent's process broke the protocol: {exc}") from None

    def close(self) -> None:
        _stop(self.process, self.workdir)


class WorkerPool:
    """One worker per case in flight, started as needed and kept for the next case."""

    def __init__(self, plan: WorkerPlan):
        self.plan = plan
        self._idle: list[AgentProcess] = []
        self._all: set[AgentProcess] = set()
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._all)

    def start(self) -> tuple[AgentProcess, Loaded | Raised]:
        worker = AgentProcess(self.plan)
        with self._lock:
            self._all.add(worker)
        try:
            return worker, worker.load()
        except (CaseTimeout, WorkerFailed):
            self.discard(worker)
            raise

    def take(self) -> AgentProcess | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def give(self, worker: AgentProcess) -> None:
        with self._lock:
            self._idle.append(worker)

    def discard(self, worker: AgentProcess) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.close()

    def close(self) -> None:
        _close_all(self._all)


def readable_roots(protected: list[Path]) -> tuple[Path, ...]:
    """Where a worker may read: the Python installation, parity's own code and the system's files,
    less any root that holds a protected path (the workspace, the store)."""
    candidates = {
        Path(p)
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *sys.path, *SYSTEM_READABLE)
        if p and os.path.isabs(p)
    }
    candidates.add(Path(__file__).resolve().parents[1])  # parity's own code, wherever it is installed
    resolved = [p.resolve() for p in protected]
    return tuple(sorted(c for c in candidates if c.exists() and not any(_within(r, c.resolve()) for r in resolved)))


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _environment(workdir: Path) -> dict[str, str]:
    """A worker's environment: nothing of parity's (no API key, no store URL), its temporary files in its folder."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    elif source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _stop(process: subprocess.Popen, workdir: Path) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the agent's own children too
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()
    shutil.rmtree(workdir, ignore_errors=True)  # parity made it, for this worker only


def _close_all(workers: set[AgentProcess]) -> None:
    for worker in list(workers):
        worker.close()
    workers.clear()


def _raised(reply: dict[str, Any]) -> Raised:
    line = reply.get("line")
    return Raised(
        str(reply.get("at", "answer")),
        str(reply.get("type", "Exception"))[:100],
        str(reply.get("message", ""))[:2000],
        line if isinstance(line, int) else None,
    )


def _text_or_none(value: Any) -> str | None:
    return str(value)[:2000] if value is not None else None


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []

"""Python agents' worker processes: the OS sandbox, the per-case time limit, and a worker that breaks
the protocol. Real worker processes, a scripted model in parity's process (no llama.cpp)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity.agent import sandbox
from parity.agent.corpus import Corpus
from parity.agent.pyagent import AgentCodeError, load_python_agent
from parity.agent.serving import BadRequest, serve, trusted_trace
from parity.agent.wire import Channel, WireError, WireTimeout
from parity.errors import ParityError
from parity.models.base import Completion
from parity.task import Workspace, load_workspace
from tests.helpers.scripted import ScriptedModel, answer_text

# A child that confines itself the way a worker does, then reports what it could reach.
PROBE = """
import json, sys, socket
from pathlib import Path
from parity.agent.sandbox import confine
readable, writable, secret, allowed = (Path(p) for p in sys.argv[1:5])
confine([readable], [writable])
result = {}
for name, attempt in {
    "read secret": lambda: secret.read_text(),
    "read allowed": lambda: allowed.read_text(),
    "write allowed": lambda: (writable / "x").write_text("x"),
    "write beside secret": lambda: (secret.parent / "y").write_text("y"),
    "tcp": lambda: socket.create_connection(("127.0.0.1", 9), timeout=1),
}.items():
    try:
        attempt()
        result[name] = "ok"
    except OSError as exc:
        result[name] = type(exc).__name__
print(json.dumps(result))
"""


@pytest.mark.sandbox
def test_a_confined_process_reads_and_writes_only_where_it_was_allowed(tmp_path: Path) -> None:
    (tmp_path / "ruler").mkdir()
    (tmp_path / "ruler" / "cases.jsonl").write_text("gold\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "ok.txt").write_text("fine")
    (tmp_path / "work").mkdir()
    roots = [str(p) for p in (sys.prefix, sys.base_prefix, *sys.path) if p and Path(p).is_absolute()]
    script = PROBE.replace("confine([readable], [writable])", f"confine([readable, *map(Path, {roots!r})], [writable])")
    args = [tmp_path / "lib", tmp_path / "work", tmp_path / "ruler" / "cases.jsonl", tmp_path / "lib" / "ok.txt"]
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, cwd=tmp_path / "work")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["read allowed"] == "ok" and result["write allowed"] == "ok"
    assert result["read secret"] == "PermissionError" and result["write beside secret"] == "PermissionError"
    if sandbox.abi_version() >= 4:
        assert result["tcp"] == "PermissionError"


def _workspace(ws_dir: Path, limit_s: float = 600.0) -> Workspace:
    config = ws_dir / "parity.toml"
    config.write_text(config.read_text() + f"\n[python_agents]\ncase_time_limit_s = {limit_s}\n")
    return load_workspace(ws_dir)


def _run(ws: Workspace, code: str, case_input: str = "plan a trip to Paris"):
    path = ws.agents_dir / "probe.py"
    path.write_text(code)
    agent = load_python_agent(ws, code, path)
    model = ScriptedModel(lambda request: answer_text("strong"))
    try:
        return agent.run_case(case_input, agent.config, ws.task, model, Corpus([], None)), model
    finally:
        agent.close()


@pytest.mark.sandbox
def test_an_agent_answers_through_parity_and_parity_keeps_the_numbers(ws_dir: Path) -> None:
    code = "def answer(input, ctx):\n    return ctx.ask(input)\n"
    result, model = _run(_workspace(ws_dir), code)
    assert result.failure is None and len(result.answer["questions"]) == 7
    assert len(model.requests) == 1 and "plan a trip to Paris" in json.dumps(model.requests[0].messages)
    assert [s.step for s in result.trace] == ["answer"] and result.trace[0].text == answer_text("strong")


@pytest.mark.sandbox
def test_import_time_code_runs_in_the_worker_not_in_parity(ws_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran-in-parity"
    code = f"import os\nif os.getpid() == {os.getpid()}:\n    open({str(marker)!r}, 'w')\nCONFIG = {{'decoding': {{'max_tokens': 99}}}}\n\ndef answer(input, ctx):\n    return None\n"
    path = _workspace(ws_dir).agents_dir / "probe.py"
    agent = load_python_agent(load_workspace(ws_dir), code, path)
    agent.close()
    assert not marker.exists() and agent.config.decoding.max_tokens == 99


@pytest.mark.sandbox
def test_a_stuck_agent_fails_the_case_at_the_time_limit(ws_dir: Path) -> None:
    started = time.monotonic()
    result, _ = _run(_workspace(ws_dir, limit_s=0.5), "def answer(input, ctx):\n    while True:\n        pass\n")
    assert result.answer is None and result.failure.startswith("time limit: answer() ran over 0.5 s")
    assert time.monotonic() - started < 30


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("import os\ndef answer(input, ctx):\n    os._exit(3)\n", "the agent's process exited with code 3"),
        ("import os\ndef answer(input, ctx):\n    os.write(3, b'not json\\n')\n    return None\n", "broke the protocol"),
        (
            'import os\ndef answer(input, ctx):\n    os.write(3, b\'{"op": "complete", "temperature": 1e999}\\n\')\n    return None\n',
            "malformed request ('complete'",
        ),
        (
            'import os\ndef answer(input, ctx):\n    os.write(3, b\'{"op": "embed", "texts": [1, 2]}\\n\')\n    return None\n',
            "malformed request ('embed': texts.0",
        ),
        ("def answer(input, ctx):\n    return {}['x']\n", "answer() raised KeyError"),
    ],
)
def test_a_worker_that_dies_or_breaks_the_protocol_stops_the_run_with_one_line(ws_dir: Path, code: str, fragment: str) -> None:
    with pytest.raises(AgentCodeError) as info:
        _run(_workspace(ws_dir), code)
    line = info.value.line()
    assert fragment in line and "\n" not in line, line


@pytest.mark.sandbox
def test_import_errors_are_refused_before_anything_runs(ws_dir: Path) -> None:
    ws = _workspace(ws_dir)
    for code, fragment in [
        ("raise RuntimeError('boom')\n", "agents/probe.py:1: importing the agent raised RuntimeError: boom"),
        ("X = 1\n", "a Python agent must define answer(input, ctx)"),
        ("CONFIG = {'decoding': object()}\ndef answer(input, ctx):\n    return None\n", "CONFIG must be a dict of agent fields"),
    ]:
        with pytest.raises(ParityError) as info:
            _run(ws, code)
        assert fragment in info.value.line()


def test_without_a_sandbox_python_agents_are_refused_unless_the_user_opts_in(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "abi_version", lambda: 0)
    ws = _workspace(ws_dir)
    with pytest.raises(ParityError) as info:
        _run(ws, "def answer(input, ctx):\n    return None\n")
    assert "this system has none" in info.value.line() and "[python_agents] unsandboxed = true" in info.value.line()
    config = ws_dir / "parity.toml"
    config.write_text(config.read_text() + "unsandboxed = true\n")
    result, _ = _run(load_workspace(ws_dir), "def answer(input, ctx):\n    return ctx.ask(input)\n")
    assert result.failure is None and result.answer is not None


@pytest.mark.parametrize(
    "message",
    [
        {"op": "complete", "messages": [], "temperature": 0, "top_p": 1, "max_tokens": 5, "seed": 0, "schema": None, "repeat": 0},
        {
            "op": "complete",
            "messages": [{"role": "root", "content": "x"}],
            "temperature": 0,
            "top_p": 1,
            "max_tokens": 5,
            "seed": 0,
            "schema": None,
            "repeat": 0,
        },
        {
            "op": "complete",
            "messages": [{"role": "user", "content": "x"}],
            "temperature": -1,
            "top_p": 1,
            "max_tokens": 5,
            "seed": 0,
            "schema": None,
            "repeat": 0,
        },
        {"op": "retrieve", "query": "x", "k": 10**9, "method": "knn", "mmr_lambda": 0.5, "seed": 0},
        {"op": "retrieve", "query": "x", "k": 1, "method": "../../ruler", "mmr_lambda": 0.5, "seed": 0},
        {"op": "read_ruler"},
        {"op": "embed", "texts": "not a list"},
    ],
)
def test_malformed_requests_are_refused_before_parity_acts_on_them(message: dict) -> None:
    model = ScriptedModel(lambda request: "x")
    with pytest.raises(BadRequest):
        serve(message, model, Corpus([], None), [])
    assert model.requests == []


def test_the_trace_keeps_the_agents_labels_and_parity_s_numbers() -> None:
    served = [Completion("real", "stop", prompt_tokens=10, completion_tokens=20, cost_usd=0.5, latency_s=1.0)]
    claimed = [
        {"step": "retrieve:knn", "detail": {"demos": ["a"]}},
        {"step": "draft", "text": "forged", "cost_usd": 0, "completion_tokens": 1},
    ]
    steps = trusted_trace(claimed, served)
    assert [s.step for s in steps] == ["retrieve:knn", "draft"]
    assert steps[1].text == "real" and steps[1].cost_usd == 0.5 and steps[1].completion_tokens == 20
    # An account that does not line up with the calls parity served is replaced by parity's own.
    steps = trusted_trace([{"step": "draft"}, {"step": "again"}], served)
    assert [s.step for s in steps] == ["generate"] and steps[0].cost_usd == 0.5


def test_the_channel_times_out_and_refuses_what_is_not_a_json_object() -> None:
    read_fd, write_fd = os.pipe()
    channel = Channel(read_fd, write_fd)
    with pytest.raises(WireTimeout):
        channel.receive(time.monotonic() + 0.1)
    for raw in (b"[1, 2]\n", b'{"x": NaN}\n', b"\xff\xfe\n", b"[" * 10_000 + b"\n"):
        os.write(write_fd, raw)
        with pytest.raises(WireError):
            channel.receive(time.monotonic() + 1)
    os.close(read_fd)
    os.close(write_fd)


@pytest.mark.sandbox
def test_a_stuck_worker_dies_with_parity_even_by_kill_9(ws_dir: Path) -> None:
    _workspace(ws_dir)
    script = f"""
from pathlib import Path
from parity.agent.corpus import Corpus
from parity.agent.pyagent import load_python_agent
from parity.task import load_workspace
from tests.helpers.scripted import ScriptedModel

ws = load_workspace(Path({str(ws_dir)!r}))
path = ws.agents_dir / "stuck.py"
path.write_text("def answer(input, ctx):\\n    while True:\\n        pass\\n")
agent = load_python_agent(ws, path.read_text(), path)
worker = agent.workers.take()
print(worker.process.pid, flush=True)
agent.workers.give(worker)
agent.run_case("x", agent.config, ws.task, ScriptedModel(lambda r: ""), Corpus([], None))
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3])
    assert parent.stdout is not None
    worker_pid = int(parent.stdout.readline())
    time.sleep(1.0)  # the worker is in its loop
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker_pid):
        time.sleep(0.1)
    assert not _alive(worker_pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie has died; only its exit status is left
    except FileNotFoundError:
        return False

"""Every bundled agent on the bundled model, end to end through the CLI; the kill -9 / --resume
guarantee; the cache across runs; and the grammar-first sampler against llama-cpp-python's own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from parity.examples import write_example
from parity.store import Store
from tests.helpers.cli import run_parity, show_json
from tests.helpers.llama import native_llama
from tests.helpers.workspace import SIX_CASES, TINY_GATE, add_gates

pytestmark = pytest.mark.slow

BUNDLED = [
    *["baseline", "fewshot_knn", "fewshot_mmr", "overgen_prune", "best_of_n", "critique_revise", "vote"],
    pytest.param("retrieve_prune", marks=pytest.mark.sandbox),
]


@pytest.fixture(scope="module")
def shared_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return add_gates(write_example("discovery", tmp_path_factory.mktemp("levers") / "ws"), tiny=TINY_GATE)


def _store(ws_dir: Path) -> Store:
    return Store(f"sqlite:///{ws_dir / '.parity' / 'parity.db'}")


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_agent_runs_end_to_end(shared_ws: Path, name: str) -> None:
    # A two-case gate: the levers' quality is measured on the full gate (README); here the machinery is tested.
    result = run_parity("run", name, "--gate", "tiny", "--hypothesis", f"lever: {name}", cwd=shared_ws)
    assert result.returncode == 0, result.stderr
    row = [r for r in show_json(shared_ws) if r["agent"] == name][-1]
    assert row["status"] == "done" and row["verdict"] in ("kept", "discarded"), row
    assert row["n_cases"] == 2 and row["leaks"] == []
    assert row["completion_tokens"] > 0
    cases = _store(shared_ws).case_rows(row["id"])
    assert len(cases) == 2
    failures = [c.answer_error for c in cases if c.answer is None]
    assert len(failures) <= 1, failures  # a lever that fails on most cases is broken, not weak
    calls = [len([s for s in c.trace if not s["step"].startswith("retrieve")]) for c in cases]
    if name in ("best_of_n", "vote"):
        assert min(calls) >= 4
    if name == "critique_revise":
        assert min(calls) == 3 and all(c.trace[1]["step"] == "critique:1" for c in cases)
    if name.startswith("fewshot"):
        assert all(c.trace[0]["step"].startswith("retrieve:") and len(c.trace[0]["detail"]["demos"]) == 3 for c in cases)


def test_a_second_run_of_a_multi_call_agent_comes_from_the_cache(shared_ws: Path) -> None:
    first = [r for r in show_json(shared_ws) if r["agent"] == "best_of_n"]
    if not first:
        assert run_parity("run", "best_of_n", "--gate", "tiny", cwd=shared_ws).returncode == 0
        first = [r for r in show_json(shared_ws) if r["agent"] == "best_of_n"]
    started = time.perf_counter()
    again = run_parity("run", "best_of_n", "--gate", "tiny", cwd=shared_ws)
    assert again.returncode == 0, again.stderr
    row = show_json(shared_ws)[-1]
    assert row["agent"] == "best_of_n" and row["quality"] == first[0]["quality"]
    assert all(c.cached for c in _store(shared_ws).case_rows(row["id"]))
    assert time.perf_counter() - started < 60


def _wait_for_cases(ws_dir: Path, process: subprocess.Popen, n: int, timeout: float = 600) -> None:
    """Until the running experiment has recorded n cases (or the process ended)."""
    db = ws_dir / ".parity" / "parity.db"
    deadline = time.time() + timeout
    recorded = 0
    while time.time() < deadline and process.poll() is None and recorded < n:
        if db.exists():
            try:
                rows = _store(ws_dir).experiments()
                recorded = len(_store(ws_dir).case_rows(rows[0].id)) if rows else 0
            except Exception:
                recorded = 0  # the database is being created
        time.sleep(0.2)


def _six_case_run_with_two_done(tmp_path: Path, **popen: object) -> tuple[Path, subprocess.Popen]:
    ws_dir = add_gates(write_example("discovery", tmp_path / "ws"), six=SIX_CASES)
    process = subprocess.Popen(
        [sys.executable, "-m", "parity", "run", "baseline", "--gate", "six", "--no-cache"],
        cwd=ws_dir,
        env={**os.environ, "COLUMNS": "200"},
        **popen,
    )
    _wait_for_cases(ws_dir, process, 2)
    assert process.poll() is None, "the run finished before it could be stopped"
    return ws_dir, process


def _stopped_then_resumed(ws_dir: Path, status: str):
    """The stopped experiment has some cases; --resume runs the others, each exactly once."""
    store = _store(ws_dir)
    [row] = store.experiments()
    before = len(store.case_rows(row.id))
    assert 2 <= before < 6 and row.status == status
    assert row.wall_s and row.wall_s > 0  # the stopped session's time is on record ...
    resumed = run_parity("run", "--resume", str(row.id), cwd=ws_dir)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - before} missing cases" in resumed.stdout
    cases = store.case_rows(row.id)
    assert len(cases) == 6 and len({c.case_id for c in cases}) == 6
    assert all(c.judgment_status in ("scored", "unscored") and c.raw_text for c in cases)
    final = store.experiment(row.id)
    assert final.status == "done" and final.summary["n_cases"] == 6
    assert final.wall_s > row.wall_s  # ... and kept when the resumed session adds its own


def test_kill_9_halfway_then_resume_gives_one_answer_and_one_judgment_per_case(tmp_path: Path) -> None:
    ws_dir, process = _six_case_run_with_two_done(tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _stopped_then_resumed(ws_dir, "running")


def test_ctrl_c_halfway_says_how_to_resume_exits_130_and_resume_runs_each_case_once(tmp_path: Path) -> None:
    # pytest-xdist's workers ignore SIGINT, and an ignored signal is inherited: give the run the default.
    ws_dir, process = _six_case_run_with_two_done(
        tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and "Warn" not in line]
    assert lines[-1].startswith("interrupted: experiment #1 stopped") and "parity run --resume 1" in lines[-1], stderr
    assert "Traceback" not in stderr
    _stopped_then_resumed(ws_dir, "stopped")


def test_grammar_first_matches_llama_cpp_greedy_and_always_parses_when_sampling(shared_ws: Path) -> None:
    from llama_cpp import LlamaGrammar

    from parity.agent import load_agent
    from parity.models.base import Request
    from parity.models.llamacpp import grammar_text
    from parity.ruler import load_ruler
    from parity.task import load_workspace

    ws = load_workspace(shared_ws)
    agent = load_agent(ws, "baseline", use_cache=False)
    requests = [agent.request(case.input) for case in load_ruler(ws).cases[:2]]
    # Both engines see the same prompts in the same order from a fresh context, so llama.cpp's
    # prefix reuse (which can shift logits in the last decimals) is the same on both sides.
    ours = [agent.model.complete(request).text for request in requests]
    with native_llama(agent.model.path) as native_engine:
        grammar = LlamaGrammar.from_string(grammar_text(requests[0].schema), verbose=False)  # the grammar parity builds
        native = [
            native_engine.create_chat_completion(
                messages=list(r.messages), temperature=0.0, max_tokens=r.max_tokens, seed=0, grammar=grammar
            )["choices"][0]["message"]["content"]
            for r in requests
        ]
    assert ours == native
    for request in requests[:1]:
        for repeat in range(2):
            sampled = agent.model.complete(Request(**{**request.__dict__, "temperature": 1.0, "repeat": repeat}))
            if sampled.finish_reason == "stop":  # what the grammar guarantees: strict JSON that fits the schema
                jsonschema.validate(json.loads(sampled.text), request.schema)

"""Served backends for real: llama-cpp-python's server on 127.0.0.1 driven through `openai:` and
`litellm:` end to end, server faults and resume, rate limits with Retry-After, and secrets."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity.models import Request
from parity.models.resilience import BackendOptions
from parity.models.served import OpenAIModel
from parity.models.spec import parse_spec
from tests.helpers.cli import run_parity, show_json
from tests.helpers.servers import LlamaServer, ScriptedServer
from tests.helpers.workspace import SIX_CASES, SMALL_GATE, add_gates, write_agent

pytestmark = pytest.mark.slow


FAKE_KEY = "sk-parity-test-7f3a9c2e1b5d4f60aa11"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LlamaServer(tmp_path_factory.mktemp("server")) as running:
        yield running


def _rows(ws_dir: Path, experiment_id: int) -> list[tuple]:
    db = sqlite3.connect(ws_dir / ".parity" / "parity.db")
    try:
        return db.execute("SELECT case_id, cost_usd FROM case_results WHERE experiment_id = ?", (experiment_id,)).fetchall()
    except sqlite3.OperationalError as error:
        # The file exists a moment before the first migration commits its tables.
        if "no such table" in str(error):
            return []
        raise
    finally:
        db.close()


def test_openai_server_end_to_end_and_no_key_on_disk(ws_dir: Path, server: LlamaServer) -> None:
    add_gates(ws_dir, small=SMALL_GATE)
    write_agent(ws_dir, "served", f"openai:smollm2@{server.base_url}")
    result = run_parity(
        "run", "served", "--gate", "small", "--hypothesis", "llama.cpp server", cwd=ws_dir, env={"OPENAI_API_KEY": FAKE_KEY}
    )
    assert result.returncode == 0, result.stderr
    shown = show_json(ws_dir, 1)
    assert shown["n_cases"] == 4 and shown["n_unscored"] == 0 and shown["quality"] is not None
    assert shown["model"] == f"openai:smollm2@{server.base_url}"
    # The key was in the environment of the run; it must be nowhere in what parity keeps.
    for path in (ws_dir / ".parity").rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path
    assert FAKE_KEY not in result.stdout + result.stderr


def test_a_server_sampling_as_the_engine_does_writes_what_the_engine_writes(server: LlamaServer) -> None:
    """llama_cpp.server penalizes repeats (1.1) unless told; `extra_body: {repeat_penalty: 1.0}` makes
    its greedy text the in-process engine's, on a prompt the bundled model loops on."""
    from parity.models import open_model

    request = Request(messages=({"role": "user", "content": "List forty kinds of fruit, one per line."},), temperature=0.0, max_tokens=120)
    engine = open_model(parse_spec("llamacpp:smollm2-135m"), Path("."), None, None, None).complete(request).text
    spec = parse_spec(f"openai:smollm2@{server.base_url}")
    matched = OpenAIModel(spec, BackendOptions(extra_body={"repeat_penalty": 1.0})).complete(request).text
    default = OpenAIModel(spec, BackendOptions()).complete(request).text
    assert matched == engine
    assert default != engine  # the server's own default is another sampler: the loop is broken differently


def test_litellm_end_to_end_with_price_data(ws_dir: Path, server: LlamaServer) -> None:
    # The server answers whatever model name it is asked for; LiteLLM prices the call as gpt-4o-mini.
    add_gates(ws_dir, tiny=SMALL_GATE[:2])
    write_agent(ws_dir, "remote", f"litellm:openai/gpt-4o-mini@{server.base_url}")
    result = run_parity("run", "remote", "--gate", "tiny", "--budget-usd", "1", cwd=ws_dir, env={"OPENAI_API_KEY": FAKE_KEY})
    assert result.returncode == 0, result.stderr
    assert "estimated cost $" in result.stdout
    shown = show_json(ws_dir, 1)
    assert shown["n_cases"] == 2 and shown["quality"] is not None
    rows = _rows(ws_dir, 1)
    assert all(cost > 0 for _, cost in rows)
    assert shown["cost_usd"] == pytest.approx(sum(cost for _, cost in rows))
    # A budget below the prompts' own cost refuses before anything is written.
    refused = run_parity("run", "remote", "--gate", "dev", "--budget-usd", "0.0000001", cwd=ws_dir)
    assert refused.returncode == 2 and "exceeds --budget-usd" in refused.stderr
    assert len(show_json(ws_dir)) == 1


def test_budget_stops_before_exceeding_then_resumes(ws_dir: Path, server: LlamaServer) -> None:
    write_agent(ws_dir, "remote", f"litellm:openai/gpt-4o-mini@{server.base_url}")
    add_gates(ws_dir, small=SMALL_GATE)
    # Enough for the prompts of all 4 cases, but not for 4 worst-case answers.
    stopped = run_parity("run", "remote", "--gate", "small", "--budget-usd", "0.0005", cwd=ws_dir)
    assert stopped.returncode == 2 and "stopped before exceeding --budget-usd" in stopped.stderr, stopped.stderr
    row = show_json(ws_dir, 1)
    assert row["status"] == "stopped"
    spent = sum(cost for _, cost in _rows(ws_dir, 1))
    assert 0 < spent <= 0.0005
    resumed = run_parity("run", "--resume", "1", cwd=ws_dir)
    assert resumed.returncode == 0, resumed.stderr
    assert len({case for case, _ in _rows(ws_dir, 1)}) == len(_rows(ws_dir, 1)) == 4


def test_server_killed_mid_experiment_then_resumed(ws_dir: Path, tmp_path: Path) -> None:
    add_gates(ws_dir, six=SIX_CASES)
    with LlamaServer(tmp_path) as own:
        write_agent(
            ws_dir,
            "fragile",
            f"openai:smollm2@{own.base_url}",
            backend={"max_retries": 2, "backoff_base_s": 0.2, "backoff_max_s": 1, "timeout_s": 30},
        )
        run = subprocess.Popen(
            [sys.executable, "-m", "parity", "run", "fragile", "--gate", "six", "--no-cache"],
            cwd=ws_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not ((ws_dir / ".parity" / "parity.db").exists() and len(_rows(ws_dir, 1)) >= 3):
            time.sleep(0.5)
        own.kill()
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 2, stderr
        line = stderr.strip().splitlines()[-1]
        assert line.startswith("error: openai:smollm2@") and "cannot connect" in line and "gave up after 3 attempts" in line
        assert "parity run --resume 1" in line
        done_before = {case for case, _ in _rows(ws_dir, 1)}
        assert 3 <= len(done_before) < 6
        assert show_json(ws_dir, 1)["status"] == "crashed"

        own.start()
        resumed = run_parity("run", "--resume", "1", cwd=ws_dir)
        assert resumed.returncode == 0, resumed.stderr
        assert f"{6 - len(done_before)} missing cases" in resumed.stdout
    rows = _rows(ws_dir, 1)
    assert len(rows) == 6 and len({case for case, _ in rows}) == 6
    final = show_json(ws_dir, 1)
    assert final["status"] == "done" and final["n_cases"] == 6
    again = run_parity("run", "--resume", "1", cwd=ws_dir)
    assert again.returncode == 2 and "already complete" in again.stderr


def test_rate_limit_waits_for_retry_after() -> None:
    with ScriptedServer(throttle=1, retry_after="1.5") as scripted:
        model = OpenAIModel(
            parse_spec(f"openai:scripted@{scripted.base_url}"), BackendOptions(max_in_flight=4, backoff_base_s=0.01, max_retries=3)
        )
        completion = model.complete(Request(messages=({"role": "user", "content": "hi"},), schema={"type": "object"}))
        assert completion.parsed is not None and completion.finish_reason == "stop"
        assert len(scripted.arrivals) == 2
        assert scripted.arrivals[1] - scripted.arrivals[0] >= 1.5
        assert model.limiter.limit == 2  # a 429 halves the requests allowed in flight
        assert scripted.bodies[0]["response_format"]["type"] == "json_schema"


def test_prompt_parity_catches_a_server_whose_gguf_template_was_replaced(tmp_path: Path) -> None:
    """A real llama_cpp.server applies the GGUF's own chat template: served the bundled model it counts
    the training prompt's tokens; served a copy whose template was replaced, it does not, and the check says so."""
    from parity.analysis.prompt_parity import check_engine
    from parity.models.spec import embedded_model_path
    from parity.train.base import resolve_base
    from tests.helpers.llama import with_chat_template

    base = resolve_base("smollm2-135m", tmp_path)
    messages = ({"role": "system", "content": "You plan trips."}, {"role": "user", "content": "Task: a week in Lisbon"})
    wrong = with_chat_template(
        embedded_model_path("smollm2-135m"), tmp_path / "wrong.gguf", "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
    )
    for model, same in ((None, None), (wrong, False)):
        with LlamaServer(tmp_path, model) as running:
            served = OpenAIModel(parse_spec(f"openai:smollm2@{running.base_url}"), BackendOptions(max_retries=1))
            checked = check_engine("served", served, Request(messages=messages), base.folder)
        assert checked.same is same, checked.detail
    assert "training" in checked.detail and "prompt tokens" in checked.detail

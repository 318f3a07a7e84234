"""The research loop through the real command: its limits and rules, training requests, resumability
and several workers on one log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity.agent.config import AgentConfig
from parity.store import Store, TrialRow
from tests.helpers.cli import run_parity, show_json
from tests.helpers.workspace import SMALL_GATE, TINY_GATE, add_gates

TEST_SPACE = """
[loop.space]
"decoding.temperature" = { range = [0.0, 0.7], grid = [0.0, 0.7] }
"fewshot.k" = { range = [0, 2], grid = [0, 2] }
"""


def loop_workspace(ws_dir: Path, space: str = TEST_SPACE) -> Path:
    """The discovery workspace with two small gates so each trial takes seconds, re-locked."""
    text = (ws_dir / "parity.toml").read_text()
    text = text.replace('screen_gate = "dev"', 'screen_gate = "tiny"').replace('decide_gate = "full"', 'decide_gate = "small"')
    head, _, _ = text.partition("[loop.space]")
    (ws_dir / "parity.toml").write_text(head + space)
    return add_gates(ws_dir, tiny=TINY_GATE, small=SMALL_GATE)


def _store(ws_dir: Path, env: dict[str, str] | None = None) -> Store:
    url = (env or {}).get("PARITY_DB") or f"sqlite:///{ws_dir / '.parity' / 'parity.db'}"
    return Store(url)


def _trials(store: Store) -> list[TrialRow]:
    return store.trials()


def test_bad_search_space_is_one_line_with_its_line(ws_dir: Path) -> None:
    text = (ws_dir / "parity.toml").read_text()
    (ws_dir / "parity.toml").write_text(text + '"decoding.top_p" = { choice = [0.9], range = [0.5, 1.0] }\n')
    result = run_parity("loop", "--max-experiments", "1", cwd=ws_dir)
    assert result.returncode == 2
    assert "parity.toml:" in result.stderr and "exactly one of choice" in result.stderr


def test_loop_needs_a_limit(ws_dir: Path) -> None:
    result = run_parity("loop", "--proposer", "optuna", cwd=ws_dir)
    assert result.returncode == 2 and "the loop needs a limit" in result.stderr


def test_program_md_states_the_rules(ws_dir: Path) -> None:
    assert run_parity("program", cwd=ws_dir).returncode == 0
    text = (ws_dir / "program.md").read_text()
    for rule in ("Only files under `agents/`", "parity show --json", "--confirm", "parity ruler restore", "90% lower bound"):
        assert rule in text


@pytest.mark.sandbox
def test_ruler_restore_rewrites_an_edited_ruler(ws_dir: Path) -> None:
    nearest = "def answer(input, ctx):\n    return ctx.retrieve(input, k=1)[0].answer\n"
    (ws_dir / "agents" / "nearest.py").write_text(nearest)
    assert run_parity("run", "nearest", "--gate", "dev", cwd=ws_dir).returncode == 0
    cases = ws_dir / "ruler" / "cases.jsonl"
    original = cases.read_text()
    cases.write_text(original.replace("Paris", "Rome", 1))
    broken = run_parity("run", "nearest", cwd=ws_dir)
    assert broken.returncode == 2 and "cases differ" in broken.stderr
    restored = run_parity("ruler", "restore", cwd=ws_dir)
    assert restored.returncode == 0, restored.stderr
    assert "ruler/cases.jsonl rewritten" in restored.stdout
    assert cases.read_text() == original
    assert run_parity("ruler", "verify", cwd=ws_dir).returncode == 0


def test_weights_proposals_are_recorded_as_training_requests(ws_dir: Path) -> None:
    ws_dir = loop_workspace(ws_dir, '[loop.space]\n"train.recipe" = { choice = ["sft", "orpo"] }\n')
    result = run_parity("loop", "--proposer", "grid", cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    trials = _trials(_store(ws_dir))
    assert [(t.lever, t.verdict, t.patch) for t in trials] == [
        ("weights", "training_request", {"train.recipe": "sft"}),
        ("weights", "training_request", {"train.recipe": "orpo"}),
    ]
    shown = run_parity("show", cwd=ws_dir)
    assert shown.stdout.count("training request (loop trial") == 2


@pytest.mark.slow
def test_allow_training_trains_the_requested_adapter_and_evaluates_it(ws_dir: Path) -> None:
    space = (
        '[loop.space]\n"train.recipe" = { choice = ["sft", "orpo"] }\n"train.max_steps" = { choice = [1] }\n'
        '"train.batch_size" = { choice = [2] }\n"train.grad_accum" = { choice = [1] }\n"train.pairs" = { choice = [4] }\n'
    )
    ws_dir = loop_workspace(ws_dir, space)
    result = run_parity("loop", "--proposer", "grid", "--allow-training", cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    sft, orpo = _trials(_store(ws_dir))
    assert sft.status == "done" and sft.verdict == "kept", (sft.verdict, sft.reason)
    assert sft.config["model"] == "hf:smollm2-135m" and sft.config["adapter"] == f"loop{sft.id}-sft"
    adapter = _store(ws_dir).adapter(sft.config["adapter"])
    assert adapter is not None and adapter.status == "done" and adapter.summary["steps"] == 1
    screen = _store(ws_dir).experiment(sft.screen_experiment_id)
    assert screen.agent_config["adapter"] == sft.config["adapter"] and screen.status == "done"
    # ORPO needs pairs: the loop drafts them with the trial's own agent, then trains and evaluates
    assert orpo.status == "done" and orpo.verdict != "crashed", (orpo.verdict, orpo.reason)
    orpo_adapter = _store(ws_dir).adapter(orpo.config["adapter"])
    pairs = _store(ws_dir).dataset(orpo_adapter.dataset_fingerprint)
    assert pairs.name == f"loop{orpo.id}-pairs" and pairs.kind == "pairs-onpolicy" and pairs.n_rows <= 4


@pytest.mark.slow
def test_grid_loop_records_verdicts_and_keeps_with_evidence(ws_dir: Path) -> None:
    ws_dir = loop_workspace(ws_dir)
    result = run_parity("loop", "--proposer", "grid", "--max-experiments", "3", cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    trials = _trials(_store(ws_dir))
    assert len(trials) == 3 and all(t.status == "done" and t.verdict for t in trials)
    assert trials[0].verdict == "kept"  # the first is kept by definition
    experiments = {r["id"]: r for r in show_json(ws_dir)}
    for t in trials:
        screen = experiments[t.screen_experiment_id]
        assert screen["gate"] == "tiny" and "loop trial" in screen["method"]
        if t.decide_experiment_id:
            decided = experiments[t.decide_experiment_id]
            assert decided["gate"] == "small" and decided["screened_by"] == screen["id"]
            if decided["verdict"] == "kept" and "first kept" not in decided["decision"]:
                assert "Δ" in decided["decision"] and "second judgment" in decided["decision"]


def _loop_process(ws_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "parity", "loop", *args],
        cwd=ws_dir,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _check_log(store: Store, expected: int) -> list[TrialRow]:
    """No lost and no duplicated experiment: each trial is finished and owns its own experiments."""
    trials = _trials(store)
    assert len(trials) >= expected
    assert len({t.config_hash for t in trials}) == len(trials)
    linked = [e for t in trials for e in (t.screen_experiment_id, t.decide_experiment_id) if e]
    assert len(linked) == len(set(linked))
    assert sorted(linked) == sorted(r.id for r in store.experiments())
    assert all(t.status == "done" for t in trials), [(t.id, t.status, t.reason) for t in trials]
    assert all(store.experiment(e).status == "done" for e in linked)
    return trials


@pytest.mark.slow
def test_two_optuna_workers_share_one_sqlite_log(ws_dir: Path) -> None:
    ws_dir = loop_workspace(ws_dir)
    one_core_each = {"PARITY_LLAMA_THREADS": str(max(1, (os.cpu_count() or 2) // 2))}
    workers = [_loop_process(ws_dir, "--proposer", "optuna", "--max-experiments", "4", env=one_core_each) for _ in range(2)]
    for worker in workers:
        _out, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, err
    store = _store(ws_dir)
    trials = _check_log(store, 4)
    assert len(trials) <= 5  # each worker may start one trial past the limit while the other finishes
    assert len({t.worker for t in trials}) == 2
    import optuna

    study = optuna.load_study(study_name=trials[0].loop, storage=store.url)
    assert {t.optuna_trial for t in trials if t.optuna_trial is not None} <= {t.number for t in study.trials}


@pytest.mark.slow
def test_killed_loop_resumes_without_losing_or_duplicating(ws_dir: Path) -> None:
    ws_dir = loop_workspace(ws_dir)
    store = _store(ws_dir)
    worker = _loop_process(ws_dir, "--proposer", "grid", "--max-experiments", "2")
    deadline = time.time() + 600
    while time.time() < deadline:
        trials = _trials(store) if (ws_dir / ".parity" / "parity.db").exists() else []
        if trials and trials[-1].screen_experiment_id and store.case_rows(trials[-1].screen_experiment_id):
            break
        time.sleep(0.2)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    interrupted = _trials(store)[-1]
    assert interrupted.status == "running"

    again = run_parity("loop", "--proposer", "grid", "--max-experiments", "2", cwd=ws_dir)
    assert again.returncode == 0, again.stderr
    assert f"resuming trial {interrupted.id}" in again.stdout
    trials = _check_log(store, 2)
    assert len(trials) == 2


@pytest.mark.slow
def test_llm_proposer_runs_on_the_bundled_model(ws_dir: Path) -> None:
    ws_dir = loop_workspace(ws_dir)
    result = run_parity("loop", "--proposer", "llm", "--max-experiments", "2", cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    trials = _check_log(_store(ws_dir), 2)
    assert all(t.hypothesis.strip() for t in trials)
    for t in trials:
        AgentConfig.model_validate(t.config)  # every recorded proposal is a valid agent


@pytest.mark.slow
def test_optuna_loop_on_postgres(ws_dir: Path, pg_url: str) -> None:
    ws_dir = loop_workspace(ws_dir)
    env = {"PARITY_DB": pg_url}
    result = run_parity("loop", "--proposer", "optuna", "--max-experiments", "2", cwd=ws_dir, env=env)
    assert result.returncode == 0, result.stderr
    trials = [t for t in _trials(_store(ws_dir, env)) if t.loop.endswith(":optuna")]
    assert len(trials) >= 2 and all(t.status == "done" and t.verdict for t in trials)

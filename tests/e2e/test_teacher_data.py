"""A new user's first hour, through the CLI only: a blank json workspace, a real local llama.cpp server
(the bundled SmolLM2) as the teacher writing gold and gold_alt for 8 cases and a 16-row corpus, killed
with SIGKILL mid-synth and run again, then a baseline, an SFT adapter trained on that corpus, and its run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import run_parity, show_json
from tests.helpers.servers import LlamaServer

pytestmark = pytest.mark.slow

TASK = "Answer a short general-knowledge question with one plain sentence."
QUESTIONS = [
    "What is the capital of Japan?",
    "Which planet is closest to the sun?",
    "Who wrote the novel Moby-Dick?",
    "What is the boiling point of water at sea level in Celsius?",
    "Which ocean lies between Africa and Australia?",
    "What language is spoken in Brazil?",
    "How many continents are there?",
    "What metal is liquid at room temperature?",
]
SEEDS = [
    ("Which country has the city of Marrakesh?", "geography"),
    ("What is the chemical symbol for gold?", "science"),
    ("Who painted The Starry Night?", "arts"),
    ("Which river flows through Cairo?", "geography"),
    ("What is the largest organ of the human body?", "science"),
    ("Which composer wrote the Moonlight Sonata?", "arts"),
]
SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string", "minLength": 1, "maxLength": 200}},
    "required": ["answer"],
    "additionalProperties": False,
}
ENV = {"OPENAI_API_KEY": "sk-local-test"}


def _corpus(ws: Path) -> list[dict]:
    path = ws / "corpus" / "train.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_a_new_feature_from_a_blank_workspace_to_a_trained_adapter(tmp_path: Path) -> None:
    made = run_parity("init", "feature", "--task", TASK, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    ws = tmp_path / "feature"
    (ws / "task" / "schema.json").write_text(json.dumps(SCHEMA, indent=2))
    cases = [{"id": f"q{i}", "category": "trivia", "difficulty": "easy", "input": q} for i, q in enumerate(QUESTIONS, 1)]
    (ws / "ruler" / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (ws / "seeds.jsonl").write_text("".join(json.dumps({"input": q, "category": c}) + "\n" for q, c in SEEDS))

    with LlamaServer(tmp_path) as server:
        teacher = f"openai:smollm2@{server.base_url}"
        gold = run_parity("gold", "--teacher", teacher, "--alt", teacher, cwd=ws, env=ENV)
        assert gold.returncode == 0, gold.stderr
        filled = [json.loads(line) for line in (ws / "ruler" / "cases.jsonl").read_text().splitlines()]
        assert all(c.get("gold") and c.get("gold_alt") for c in filled), gold.stdout
        locked = run_parity("ruler", "lock", cwd=ws)
        assert locked.returncode == 0, locked.stderr

        synth = [sys.executable, "-m", "parity", "corpus", "synth", "--teacher", teacher, "--n", "16", "--seeds", "seeds.jsonl"]
        process = subprocess.Popen(synth, cwd=ws, env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while len(_corpus(ws)) < 5 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait()
        before = _corpus(ws)
        assert 5 <= len(before) < 16
        again = run_parity(*synth[3:], cwd=ws, env=ENV)
        assert again.returncode == 0, again.stderr
    rows = _corpus(ws)
    assert rows[: len(before)] == before  # nothing written before the kill was lost or rewritten
    assert len(rows) == 16 and len({r["id"] for r in rows}) == 16 and len({r["input"] for r in rows}) == 16
    assert not {r["input"] for r in rows} & set(QUESTIONS)
    check = run_parity("ruler", "check", "--json", cwd=ws)
    assert check.returncode == 0 and json.loads(check.stdout)["corpus_overlap"] == []

    baseline = run_parity("run", "baseline", "--gate", "full", "--hypothesis", "stock model", cwd=ws)
    assert baseline.returncode == 0, baseline.stderr
    train = run_parity(
        "train",
        "sft",
        "--name",
        "sft-1",
        "--max-steps",
        "2",
        "--batch-size",
        "2",
        "--grad-accum",
        "1",
        "--rank",
        "4",
        "--alpha",
        "8",
        cwd=ws,
    )
    assert train.returncode == 0, train.stderr
    agent = (ws / "agents" / "baseline.yaml").read_text().replace("model: llamacpp:smollm2-135m", "model: hf:smollm2-135m\nadapter: sft-1")
    (ws / "agents" / "tuned.yaml").write_text(agent.replace("max_tokens: 512", "max_tokens: 96"))
    tuned = run_parity("run", "tuned", "--gate", "full", "--hypothesis", "SFT on the teacher's corpus", cwd=ws)
    assert tuned.returncode == 0, tuned.stderr
    first, second = show_json(ws, 1), show_json(ws, 2)
    assert first["n_cases"] == second["n_cases"] == 8
    assert set(second["fields"]) == {"answer"} and second["quality"] is not None

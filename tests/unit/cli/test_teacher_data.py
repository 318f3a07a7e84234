"""`parity gold` and `parity corpus synth` with a scripted teacher and a bag-of-words embedder: what is
written, what is refused, what is recorded, and the one-line stops (validation, budget)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.models.base import Request
from parity.store import Store
from parity.task import load_workspace
from tests.helpers.cli import invoke_parity
from tests.helpers.embedding import Words
from tests.helpers.scripted import ScriptedModel

INPUTS = ["What is the capital of France?", "Which gas do plants take in?", "Who painted the Mona Lisa?"]


class Priced(ScriptedModel):
    def price_per_token(self) -> tuple[float, float]:
        return 0.001, 0.001


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert invoke_parity("init", "feature", "--task", "Answer a trivia question in a sentence.", cwd=tmp_path).returncode == 0
    root = tmp_path / "feature"
    rows = [{"id": f"q{i}", "category": "trivia", "difficulty": "easy", "input": text} for i, text in enumerate(INPUTS, 1)]
    (root / "ruler" / "cases.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setattr("parity.models.embedder.get_embedder", lambda *args, **kwargs: Words())
    return root


def _teach(monkeypatch: pytest.MonkeyPatch, model: ScriptedModel) -> ScriptedModel:
    monkeypatch.setattr("parity.teach.teacher.open_model", lambda *args, **kwargs: model)
    return model


def _expert(request: Request) -> str:
    """A gold answer that names its input; the second expert (told to answer on its own) words it apart."""
    question = request.messages[-1]["content"]
    if "Another expert" in request.messages[0]["content"]:
        return json.dumps({"answer": f"My own reading, unlike any other: {question.lower()} has a short reply."})
    return json.dumps({"answer": f"The answer to {question} is well known."})


def _cases(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "ruler" / "cases.jsonl").read_text().splitlines()]


def test_gold_and_an_independent_gold_alt_are_written_recorded_and_lock(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _teach(monkeypatch, ScriptedModel(_expert))
    result = invoke_parity(
        "gold", "--teacher", "openai:teacher@http://127.0.0.1:9/v1", "--alt", "openai:teacher@http://127.0.0.1:9/v1", cwd=ws
    )
    assert result.returncode == 0, result.stderr
    assert "6 answers written" in result.stdout and "q2 gold_alt:" in result.stdout
    cases = _cases(ws)
    assert all(c["gold"]["answer"].startswith("The answer to") and c["gold_alt"]["answer"].startswith("My own") for c in cases)
    assert all(m["role"] != "assistant" for r in model.requests for m in r.messages)
    assert not any("The answer to" in m["content"] for r in model.requests for m in r.messages)  # gold_alt never sees gold
    (row,) = [d for d in Store.for_workspace(load_workspace(ws)).datasets() if d.kind == "gold"]
    assert row.n_rows == 6 and row.provenance["teachers"] == ["openai:teacher@http://127.0.0.1:9/v1"] * 2
    assert row.provenance["prompt_hash"] and row.provenance["date"]
    assert invoke_parity("ruler", "lock", cwd=ws).returncode == 0
    again = invoke_parity("gold", "--teacher", "openai:teacher@http://127.0.0.1:9/v1", cwd=ws)
    assert again.returncode == 0 and "0 answers written" in again.stdout


def test_a_gold_alt_that_copies_its_gold_is_asked_again_then_flagged(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _teach(monkeypatch, ScriptedModel(lambda r: json.dumps({"answer": "The same sentence every time, whoever asks."})))
    result = invoke_parity("gold", "--teacher", "openai:t@http://127.0.0.1:9/v1", "--alt", "openai:t@http://127.0.0.1:9/v1", cwd=ws)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("nearly copies its gold") == 3
    assert len(model.requests) == 3 * 3  # gold, gold_alt, gold_alt asked again
    assert {r.repeat for r in model.requests} == {0, 2}


def test_an_answer_that_fails_validation_twice_is_not_written(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _teach(monkeypatch, ScriptedModel(lambda r: "Paris!" if "France" in r.messages[-1]["content"] else json.dumps({"answer": "Fine."})))
    result = invoke_parity("gold", "--teacher", "openai:t@http://127.0.0.1:9/v1", cwd=ws)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ruler/cases.jsonl:1: 1 teacher answer(s) failed validation twice") and "q1 gold: invalid answer" in line
    cases = _cases(ws)
    assert "gold" not in cases[0] and cases[1]["gold"] == {"answer": "Fine."}
    (row,) = Store.for_workspace(load_workspace(ws)).datasets()
    assert "q1 gold" in row.provenance["failed"]


def test_a_budget_stop_asks_nothing_and_writes_nothing(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _teach(monkeypatch, Priced(_expert))
    before = (ws / "ruler" / "cases.jsonl").read_bytes()
    result = invoke_parity("gold", "--teacher", "openai:t@http://127.0.0.1:9/v1", "--budget-usd", "0.5", cwd=ws)
    assert result.returncode == 2 and "stopped before exceeding --budget-usd 0.5" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert model.requests == [] and (ws / "ruler" / "cases.jsonl").read_bytes() == before


def _writer(request: Request) -> str:
    if request.schema and "inputs" in request.schema["properties"]:
        batch = request.repeat
        written = [f"Which river flows through city number {batch}{i}?" for i in range(4)]
        return json.dumps({"inputs": [*written, INPUTS[0], written[0], "?"]})  # a ruler input, a repeat, an empty one
    return json.dumps({"answer": f"About: {request.messages[-1]['content']}"})


def test_corpus_synth_writes_new_inputs_refuses_repeats_and_tops_up(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _teach(monkeypatch, ScriptedModel(_writer))
    (ws / "seeds.jsonl").write_text(json.dumps({"input": "Which mountain is the tallest?", "category": "geo"}) + "\n")
    result = invoke_parity("corpus", "synth", "--teacher", "openai:t@http://127.0.0.1:9/v1", "--n", "6", "--seeds", "seeds.jsonl", cwd=ws)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (ws / "corpus" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and len({r["id"] for r in rows}) == len({r["input"] for r in rows}) == 6
    assert all(r["id"].startswith("synth-") and r["category"] == "geo" and r["answer"]["answer"].startswith("About:") for r in rows)
    assert INPUTS[0] not in {r["input"] for r in rows}
    assert "near a ruler input" in result.stdout
    again = invoke_parity("corpus", "synth", "--teacher", "openai:t@http://127.0.0.1:9/v1", "--n", "8", "--seeds", "seeds.jsonl", cwd=ws)
    assert again.returncode == 0, again.stderr
    more = [json.loads(line) for line in (ws / "corpus" / "train.jsonl").read_text().splitlines()]
    assert more[:6] == rows and len(more) == 8 and len({r["input"] for r in more}) == 8


def test_corpus_synth_without_seeds_is_one_line(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _teach(monkeypatch, ScriptedModel(_writer))
    result = invoke_parity("corpus", "synth", "--teacher", "openai:t@http://127.0.0.1:9/v1", "--n", "3", cwd=ws)
    assert result.returncode == 2 and "no seed examples" in result.stderr and not (ws / "corpus" / "train.jsonl").exists()


def test_corpus_import_reads_logged_calls_refuses_repeats_and_bad_lines(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def call(question: str, reply: str, logged: bool) -> dict:
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}]
        if logged:
            return {"request": {"model": "m", "messages": messages}, "response": {"choices": [{"message": {"content": reply}}]}}
        return {"messages": [*messages, {"role": "assistant", "content": reply}]}

    lines = [
        call("Which desert is the largest hot desert?", json.dumps({"answer": "The Sahara."}), logged=True),
        call("How many strings does a violin have?", json.dumps({"answer": "Four."}), logged=False),
        call(INPUTS[1], json.dumps({"answer": "Carbon dioxide."}), logged=False),  # a ruler input
        call("What is two plus two?", "four", logged=True),  # not the task's JSON
        {"messages": "nope"},
        call("How many strings does a violin have?", json.dumps({"answer": "Four."}), logged=True),  # a repeat
    ]
    (ws / "calls.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = invoke_parity("corpus", "import", "calls.jsonl", "--format", "openai-chat", cwd=ws)
    assert result.returncode == 0, result.stderr
    assert "2 rows added" in result.stdout and "2 refused as repeats (1 near a ruler input)" in result.stdout
    assert "2 lines skipped" in result.stdout and "first skipped: calls.jsonl:4" in result.stdout
    rows = [json.loads(line) for line in (ws / "corpus" / "train.jsonl").read_text().splitlines()]
    assert [r["answer"]["answer"] for r in rows] == ["The Sahara.", "Four."]
    again = invoke_parity("corpus", "import", "calls.jsonl", cwd=ws)
    assert again.returncode == 0 and "0 rows added" in again.stdout
    bad = invoke_parity("corpus", "import", "calls.jsonl", "--format", "csv", cwd=ws)
    assert bad.returncode == 2 and "unknown format 'csv'" in bad.stderr


def test_corpus_import_writes_nothing_when_a_line_further_down_is_broken(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (ws / "corpus" / "train.jsonl").read_bytes() if (ws / "corpus" / "train.jsonl").exists() else None
    good = {
        "messages": [
            {"role": "user", "content": "Which ocean is the deepest?"},
            {"role": "assistant", "content": json.dumps({"answer": "The Pacific."})},
        ]
    }
    deep = {"messages": [{"role": "user", "content": "How old is the universe?"}, {"role": "assistant", "content": "[" * 100000}]}
    (ws / "calls.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(deep) + "\n{broken\n")
    result = invoke_parity("corpus", "import", "calls.jsonl", cwd=ws)
    assert result.returncode == 2 and "calls.jsonl:3" in result.stderr and "invalid JSON" in result.stderr, result.stderr
    after = (ws / "corpus" / "train.jsonl").read_bytes() if (ws / "corpus" / "train.jsonl").exists() else None
    assert after == before
    (ws / "calls.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(deep) + "\n")
    result = invoke_parity("corpus", "import", "calls.jsonl", cwd=ws)
    assert result.returncode == 0 and "1 rows added" in result.stdout and "first skipped: calls.jsonl:2" in result.stdout, (
        result.stdout + result.stderr
    )

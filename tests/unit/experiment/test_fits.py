"""Inputs that fit the model's context, checked before the first case: the prompt as the model's own
tokenizer counts it, plus max_tokens, within the context; an overflowing case is refused in one line
and nothing is recorded. The llama.cpp tests load the bundled SmolLM2 (a quarter of a second)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from parity.agent import load_agent
from parity.errors import ParityError
from parity.experiment import resume_experiment, run_experiment
from parity.experiment.fits import check_fits
from parity.loop.rules import keep
from parity.models.base import Request
from parity.models.cache import CachedModel
from parity.models.llamacpp import LlamaCppModel
from parity.models.spec import embedded_model_path
from parity.ruler import load_ruler
from parity.statuses import RunStatus
from parity.store import Store
from parity.task import Workspace
from tests.helpers.cli import invoke_parity
from tests.helpers.llama import native_llama
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, by_word, strong_when_hot, use_model
from tests.helpers.store import finished_experiment

FIX = "shorten the input, lower decoding.max_tokens, use fewer few-shot demos, or a model with a longer context"


@dataclass
class WordCounting(ScriptedModel):
    """A scripted model whose tokens are words and whose context is `context` of them."""

    context: int = 4096

    def context_tokens(self, request: Request) -> tuple[int, int]:
        return sum(len(m["content"].split()) for m in request.messages), self.context


def _long_case(ws_dir: Path, case_id: str, words: int) -> None:
    path = ws_dir / "ruler" / "cases.jsonl"
    cases = [json.loads(line) for line in path.read_text().splitlines()]
    for case in cases:
        if case["id"] == case_id:
            case["input"] = "plan a trip to Paris " + "and then Rome " * (words // 3)
    path.write_text("".join(json.dumps(case) + "\n" for case in cases))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_llamacpp_counts_the_prompt_exactly_as_its_chat_call_does() -> None:
    path = embedded_model_path("smollm2-135m")
    model = LlamaCppModel("llamacpp:smollm2-135m", path)
    messages = (
        {"role": "system", "content": "You ask clarifying questions."},
        {"role": "user", "content": "Task: plan a trip to Paris"},
        {"role": "assistant", "content": '{"title": "Paris", "questions": ["When?"]}'},
        {"role": "user", "content": "Task: move house — with ünïcode, <|im_end|> and {braces}"},
    )
    prompt, context = model.context_tokens(Request(messages=messages, max_tokens=8))
    with native_llama(path) as llama:
        usage = llama.create_chat_completion(messages=list(messages), max_tokens=1)["usage"]
    assert (prompt, context) == (usage["prompt_tokens"], 4096)


def test_a_prompt_answered_before_is_not_counted_again(tmp_path: Path) -> None:
    """So a fully cached re-run loads no model, also for an agent whose first call samples (vote)."""
    inner = WordCounting(strong_when_hot, context=10)
    cached = CachedModel(inner, tmp_path / "cache")
    greedy = Request(messages=({"role": "user", "content": "one two three"},), max_tokens=5)
    assert cached.context_tokens(greedy) == (3, 10)
    cached.complete(replace(greedy, temperature=0.8, repeat=2))
    assert cached.context_tokens(greedy) is None  # answered: it fitted
    assert cached.context_tokens(replace(greedy, max_tokens=9)) == (3, 10)  # more room asked: counted again
    (tmp_path / "other").mkdir()
    fresh = CachedModel(inner, tmp_path / "other")
    fresh.complete(greedy)
    for fitted in (tmp_path / "other").rglob("*.fits"):
        fitted.unlink()
    assert fresh.context_tokens(greedy) is None  # a completion cached before the markers existed counts too


def test_the_first_case_that_overflows_is_named_with_its_numbers(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    use_model(monkeypatch, WordCounting(strong_when_hot))
    agent = load_agent(ws, "baseline")
    cases = load_ruler(ws).gate("dev")
    check_fits(ws, agent, cases)  # the bundled inputs fit
    prompts = [agent.model.context_tokens(agent.request(case.input))[0] for case in cases]
    longest = max(prompts)
    agent.model = WordCounting(strong_when_hot, context=longest + 511)  # max_tokens is 512: one token short
    check_fits(ws, agent, [case for case, prompt in zip(cases, prompts, strict=True) if prompt < longest])
    with pytest.raises(ParityError) as refused:
        check_fits(ws, agent, cases)
    assert refused.value.line() == (
        f"ruler/cases.jsonl: case {cases[prompts.index(longest)].id}: the prompt is {longest:,} tokens + max_tokens 512"
        f" = {longest + 512:,}, over the model's context of {longest + 511:,} — {FIX}"
    )


@pytest.mark.sandbox
def test_a_python_agent_is_checked_by_the_first_request_its_config_describes(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    use_model(monkeypatch, WordCounting(strong_when_hot, context=100))
    agent = load_agent(ws, "retrieve_prune")
    assert agent.python is not None
    with pytest.raises(ParityError, match=r"case travel-easy: .* \+ max_tokens 700 = "):
        check_fits(ws, agent, load_ruler(ws).gate("dev"))


def test_the_loop_and_the_api_record_nothing_for_an_overflowing_gate(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    use_model(monkeypatch, WordCounting(strong_when_hot, context=100))
    ruler, store = load_ruler(ws), Store.for_workspace(ws)
    judge = ScriptedJudge(ws.config.rubric, by_word)
    with pytest.raises(ParityError, match="over the model's context of 100"):
        run_experiment(ws, ruler, load_agent(ws, "baseline"), judge, store, "dev", "too long", keep)
    assert store.experiments() == []


def test_a_resumed_run_checks_its_missing_cases_before_it_restarts(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    model = use_model(monkeypatch, WordCounting(strong_when_hot, context=100))
    ruler, store = load_ruler(ws), Store.for_workspace(ws)
    config = load_agent(ws, "baseline").config.model_dump()
    stopped = finished_experiment(
        store,
        ruler_fingerprint=ruler.fingerprint,
        gate="dev",
        status="stopped",
        verdict=None,
        agent_config=config,
        agent_source="baseline.yaml",
    )
    judge = ScriptedJudge(ws.config.rubric, by_word)
    with pytest.raises(ParityError, match="case travel-easy: the prompt is"):
        resume_experiment(ws, ruler, judge, store, keep, stopped)
    assert store.require_experiment(stopped).status == RunStatus.STOPPED
    assert model.requests == []  # nothing generated


def test_an_input_longer_than_the_context_is_refused_before_anything_is_written(ws_dir: Path) -> None:
    _long_case(ws_dir, "career-medium", words=5000)  # the prompt alone overflows: llama.cpp would raise mid-run
    assert invoke_parity("ruler", "lock", cwd=ws_dir).returncode == 0
    before = _files(ws_dir)
    result = invoke_parity("run", "baseline", "--gate", "dev", cwd=ws_dir, env={"PARITY_LLAMA_THREADS": "1"})
    assert result.returncode == 2, result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: ruler/cases.jsonl: case career-medium: the prompt is ")
    assert "tokens + max_tokens 512 = " in lines[0] and f"over the model's context of 4,096 — {FIX}" in lines[0]
    assert _files(ws_dir) == before

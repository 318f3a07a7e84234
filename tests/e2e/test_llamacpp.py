"""The embedded engine for real: the bundled SmolLM2 GGUF through llama-cpp-python."""

from __future__ import annotations

import json
import time

import pytest

from parity.agent import load_agent
from parity.models import Request
from parity.models.cache import CachedModel, cache_key
from parity.models.llamacpp import LlamaCppModel
from parity.models.spec import embedded_model_path, parse_spec
from parity.task import answer_schema
from tests.helpers.llama import native_llama

pytestmark = pytest.mark.slow


def test_embedded_model_resolves_to_the_wheel_file() -> None:
    path = embedded_model_path(parse_spec("smollm2-135m").target)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


def test_schema_constrained_answer_always_parses(ws) -> None:
    agent = load_agent(ws, "baseline", use_cache=False)
    for text in ("plan a trip to Lisbon", "fix my leaking kitchen tap", "learn to bake bread"):
        output = agent.answer(text)
        assert output.error is None, output.error
        assert len(output.answer.questions) == 7
        assert output.completion.finish_reason == "stop" and output.completion.completion_tokens > 0


def test_truncation_is_reported_not_hidden(ws) -> None:
    agent = load_agent(ws, "baseline", use_cache=False)
    agent.config.decoding.max_tokens = 20
    output = agent.answer("plan a trip to Lisbon")
    assert output.answer is None and output.error.startswith("truncated")
    assert output.completion.finish_reason == "length"


def test_cache_serves_repeats_and_separates_repeat_indices(tmp_path, ws) -> None:
    spec = parse_spec("smollm2-135m")
    inner = LlamaCppModel(str(spec), embedded_model_path(spec.target))
    model = CachedModel(inner, tmp_path / "cache")
    request = Request(
        messages=({"role": "user", "content": "Name one colour as JSON."},),
        max_tokens=64,
        schema={"type": "object", "properties": {"colour": {"type": "string", "maxLength": 20}}, "required": ["colour"]},
    )
    first = model.complete(request)
    started = time.perf_counter()
    second = model.complete(request)
    assert second.cached and not first.cached and second.text == first.text
    assert time.perf_counter() - started < 0.5
    json.loads(first.text)
    sampled = Request(**{**request.__dict__, "temperature": 0.8, "repeat": 1})
    assert cache_key(model.identity, sampled) != cache_key(model.identity, Request(**{**request.__dict__, "temperature": 0.8, "repeat": 2}))
    assert model.complete(sampled).cached is False


def test_identity_is_the_file_content_hash() -> None:
    spec = parse_spec("llamacpp:smollm2-135m")
    model = LlamaCppModel(str(spec), embedded_model_path(spec.target))
    assert model.identity.startswith("llamacpp:sha256:") and len(model.identity) == len("llamacpp:sha256:") + 64
    assert answer_schema  # the schema used above is the task's own


def test_same_output_as_llama_cpp_python_itself(ws) -> None:
    """parity's prebuilt grammar must constrain exactly like llama-cpp-python's own response_format."""
    agent = load_agent(ws, "baseline", use_cache=False)
    request = agent.request("organise a picnic for my book club")
    with native_llama(agent.model.path) as raw:
        out = raw.create_chat_completion(
            messages=list(request.messages),
            temperature=0.0,
            max_tokens=512,
            seed=0,
            response_format={"type": "json_object", "schema": agent.schema},
        )
    assert agent.model.complete(request).text == out["choices"][0]["message"]["content"]
    assert list(json.loads(out["choices"][0]["message"]["content"])) == ["title", "questions"]

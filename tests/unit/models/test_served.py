"""Served backends against a scripted HTTP server on 127.0.0.1: rate limits, and secrets never stored or
printed."""

from __future__ import annotations

import pytest

from parity.models import Request
from parity.models.resilience import BackendError, BackendOptions
from parity.models.served import OpenAIModel
from parity.models.spec import parse_spec
from tests.helpers.servers import ScriptedServer

pytestmark = pytest.mark.slow


def test_rate_limit_gives_up_with_a_clear_error() -> None:
    with ScriptedServer(throttle=99, retry_after="0") as scripted:
        model = OpenAIModel(parse_spec(f"openai:scripted@{scripted.base_url}"), BackendOptions(max_retries=2, backoff_base_s=0.01))
        with pytest.raises(BackendError) as caught:
            model.complete(Request(messages=({"role": "user", "content": "hi"},)))
        assert f"openai:scripted@{scripted.base_url}" in str(caught.value) and "HTTP 429" in str(caught.value)
        assert len(scripted.arrivals) == 3


@pytest.mark.parametrize("status", [401, 400, 500])
def test_a_server_that_echoes_the_key_never_gets_it_stored_or_printed(monkeypatch, status: int) -> None:
    key = "sk-test-9f8e7d6c5b4a39281716"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with ScriptedServer(throttle=0, retry_after="0", reject=status) as scripted:
        model = OpenAIModel(parse_spec(f"openai:scripted@{scripted.base_url}"), BackendOptions(max_retries=1, backoff_base_s=0.01))
        with pytest.raises(BackendError) as caught:
            model.complete(Request(messages=({"role": "user", "content": "hi"},)))
    message = str(caught.value)
    assert f"HTTP {status}" in message and key not in message and "9f8e7d6c5b4a" not in message, message


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdef123456789",
        "x-api-key=sk-ant-api03-AbCdEf0123456789",
        '{"api_key": "zz-secret-value-99"}',
        "key AKIAABCDEFGHIJKLMNOP here",
        "token=ghp_abcdefgh12345678",
    ],
)
def test_key_like_strings_are_scrubbed(text: str) -> None:
    from parity.models.secrets import scrub

    cleaned = scrub(text)
    assert "[redacted]" in cleaned
    assert not any(
        secret in cleaned
        for secret in ("abcdef123456789", "AbCdEf0123456789", "zz-secret-value-99", "AKIAABCDEFGHIJKLMNOP", "ghp_abcdefgh12345678")
    )


def test_extra_sampler_fields_reach_the_server_and_key_the_cache() -> None:
    with ScriptedServer(throttle=0, retry_after="0") as scripted:
        spec = parse_spec(f"openai:scripted@{scripted.base_url}")
        plain = OpenAIModel(spec, BackendOptions())
        matched = OpenAIModel(spec, BackendOptions(extra_body={"repeat_penalty": 1.0, "top_k": 1}))
        for model in (plain, matched):
            model.complete(Request(messages=({"role": "user", "content": "hi"},)))
    assert "repeat_penalty" not in scripted.bodies[0]
    assert scripted.bodies[1]["repeat_penalty"] == 1.0 and scripted.bodies[1]["top_k"] == 1
    assert plain.identity == str(spec) and matched.identity != plain.identity  # cached answers never cross


@pytest.mark.parametrize(("body", "fragment"), [({"messages": "x"}, "may not set messages"), ({"k" * 65: 1}, "too long")])
def test_extra_fields_cannot_replace_what_parity_sends(body: dict, fragment: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=fragment):
        BackendOptions(extra_body=body)


def _completion(**changes: object) -> bytes:
    import json

    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "{}"}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
    }
    return json.dumps({**body, **changes}).encode()


@pytest.mark.parametrize(
    "reply",
    [_completion(choices=[]), _completion(choices=None), b'{"choices": [{"index": 0, "finish_reason": "stop"}]}', b"[1, 2, 3]", b'"text"'],
    ids=["no choices", "choices null", "no message", "a list", "a string"],
)
def test_a_reply_that_is_not_a_chat_completion_is_a_backend_error(reply: bytes) -> None:
    with ScriptedServer(throttle=0, retry_after="0", reply=reply) as scripted:
        model = OpenAIModel(parse_spec(f"openai:scripted@{scripted.base_url}"), BackendOptions(max_retries=0))
        with pytest.raises(BackendError, match="not a chat completion"):
            model.complete(Request(messages=({"role": "user", "content": "hi"},)))


def test_token_counts_that_are_not_counts_are_zero() -> None:
    reply = _completion(usage={"prompt_tokens": "abc", "completion_tokens": -3, "total_tokens": None})
    with ScriptedServer(throttle=0, retry_after="0", reply=reply) as scripted:
        model = OpenAIModel(parse_spec(f"openai:scripted@{scripted.base_url}"), BackendOptions(max_retries=0))
        completion = model.complete(Request(messages=({"role": "user", "content": "hi"},)))
    assert completion.text == "{}" and completion.prompt_tokens == 0 and completion.completion_tokens == 0


def test_an_unbounded_retry_after_is_not_slept_on() -> None:
    with ScriptedServer(throttle=99, retry_after="inf") as scripted:  # says nothing usable: parity's own backoff
        model = OpenAIModel(parse_spec(f"openai:scripted@{scripted.base_url}"), BackendOptions(max_retries=2, backoff_base_s=0.01))
        with pytest.raises(BackendError, match="gave up after 3 attempts"):
            model.complete(Request(messages=({"role": "user", "content": "hi"},)))
    with ScriptedServer(throttle=99, retry_after="99999999") as scripted:  # three years: refused at once, not slept
        model = OpenAIModel(parse_spec(f"openai:scripted@{scripted.base_url}"), BackendOptions(max_retries=2, backoff_base_s=0.01))
        with pytest.raises(BackendError, match="asks to wait 99999999 s"):
            model.complete(Request(messages=({"role": "user", "content": "hi"},)))
        assert len(scripted.arrivals) == 1

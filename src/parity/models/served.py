"""Models behind an HTTP API: OpenAI-compatible servers and LiteLLM providers.

Both share one path: a bounded, adaptive number of requests in flight, retries with backoff that
honour Retry-After, the server's own structured-output mechanism, and validation on return.
API keys come only from the environment and are never put into anything parity records.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any, cast

from parity.models.base import Completion, Request
from parity.models.resilience import AdaptiveLimiter, BackendError, BackendOptions, TransientError, call_with_retries, parse_retry_after
from parity.models.spec import ModelSpec
from parity.models.structured import rejects_response_format, response_formats, validate_output

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam


class _FormatRejected(Exception):
    pass


def classify(backend: str, exc: Exception) -> Exception:
    """Map a client library's exception to TransientError (retry), _FormatRejected, or BackendError."""
    status = getattr(exc, "status_code", None)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "litellm_response_headers", None) or {}
    body = str(getattr(exc, "message", "") or exc)
    name = type(exc).__name__
    snippet = body.splitlines()[0][:200] if body else name
    if status is None:
        if "Timeout" in name or "timed out" in body.lower():
            return TransientError(f"timed out ({name})")
        if "Connection" in name or "connect" in body.lower():
            return TransientError(f"cannot connect ({snippet})")
        return BackendError(backend, f"{name}: {body[:300]}")
    if rejects_response_format(status, body):
        return _FormatRejected(body)
    if "missing credentials" in body.lower() or status in (401, 403):
        return BackendError(
            backend, f"HTTP {status}: {snippet} — set the provider's API key in the environment (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY)"
        )
    if status == 429:
        return TransientError("rate limited (HTTP 429)", retry_after=parse_retry_after(headers.get("retry-after")), throttled=True)
    if status in (408, 409) or status >= 500:
        return TransientError(f"HTTP {status}: {snippet}", retry_after=parse_retry_after(headers.get("retry-after")))
    return BackendError(backend, f"HTTP {status}: {snippet}")


class ServedModel:
    """Shared request path; subclasses send one request and price it."""

    def __init__(self, spec: ModelSpec, options: BackendOptions):
        self.spec = str(spec)
        self.model = spec.target
        self.base_url = spec.base_url
        # Extra sampler fields change the answers, so they are part of what the cache keys on.
        self.identity = str(spec) + (f" {json.dumps(options.extra_body, sort_keys=True)}" if options.extra_body else "")
        self.options = options
        self.limiter = AdaptiveLimiter(options.max_in_flight)
        self.max_concurrent = options.max_in_flight
        self._format_start = 0  # the first response_format shape this server accepted

    def _send(self, request: Request, response_format: dict[str, Any] | None) -> Any:
        raise NotImplementedError

    def _cost(self, response: Any) -> float:
        return 0.0

    def context_tokens(self, request: Request) -> None:
        return None  # a server's tokenizer and context are not at hand, and a guess would refuse good inputs

    def complete(self, request: Request) -> Completion:
        return call_with_retries(self.spec, lambda: self._once(request), self.options, self.limiter)

    def _once(self, request: Request) -> Completion:
        formats = response_formats(request.schema, self.options.structured_output) if request.schema else [None]
        for index in range(self._format_start, len(formats)):
            started = time.perf_counter()
            try:
                response = self._send(request, formats[index])
            except Exception as exc:
                mapped = classify(self.spec, exc)
                if isinstance(mapped, _FormatRejected) and index + 1 < len(formats):
                    continue
                if isinstance(mapped, _FormatRejected):
                    raise BackendError(self.spec, f"the server rejects every structured-output format: {mapped}") from None
                raise mapped from None
            self._format_start = index
            return self._completion(response, time.perf_counter() - started, request)
        raise BackendError(self.spec, "no structured-output format to try")

    def _completion(self, response: Any, latency: float, request: Request) -> Completion:
        try:  # the client hands back whatever the server sent: a list, a string, a reply with no choices
            choice = response.choices[0]
            content = choice.message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            raise BackendError(
                self.spec, f"the server's reply is not a chat completion (no choices[0].message; got {type(response).__name__})"
            ) from None
        text = content if isinstance(content, str) else ""
        usage = getattr(response, "usage", None)
        parsed, problem = validate_output(text, request.schema)
        return Completion(
            text=text,
            finish_reason="length" if getattr(choice, "finish_reason", None) == "length" else "stop",
            prompt_tokens=token_count(getattr(usage, "prompt_tokens", 0)),
            completion_tokens=token_count(getattr(usage, "completion_tokens", 0)),
            cost_usd=self._cost(response),
            latency_s=latency,
            parsed=parsed,
            extra={"schema_error": problem} if problem else {},
        )

    def _decoding(self, request: Request) -> dict[str, Any]:
        return {
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
            "seed": request.seed + request.repeat,
        }


class OpenAIModel(ServedModel):
    """Any OpenAI-compatible server: vLLM, Ollama, llama.cpp's server, LM Studio, OpenAI itself."""

    def __init__(self, spec: ModelSpec, options: BackendOptions):
        super().__init__(spec, options)
        import openai

        self._client = openai.OpenAI(
            base_url=spec.base_url,
            api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",  # local servers accept any key
            timeout=options.timeout_s,
            max_retries=0,  # parity retries, so Retry-After and concurrency are handled in one place
        )

    def _send(self, request: Request, response_format: dict[str, Any] | None) -> Any:
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        # parity's messages are plain {"role", "content"} dicts, which is what the client's TypedDicts describe
        messages = cast("list[ChatCompletionMessageParam]", list(request.messages))
        if self.options.extra_body:
            extra["extra_body"] = dict(self.options.extra_body)
        return self._client.chat.completions.create(model=self.model, messages=messages, **self._decoding(request), **extra)


def _provider_key_in_env(model: str) -> bool:
    provider = model.split("/", 1)[0].upper().replace("-", "_")
    return bool(os.environ.get(f"{provider}_API_KEY"))


class LiteLLMModel(ServedModel):
    """Remote providers through LiteLLM (Anthropic, OpenAI, Gemini, Bedrock, …); prices from its data."""

    def __init__(self, spec: ModelSpec, options: BackendOptions):
        super().__init__(spec, options)
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # price data from the package, not the network
        import litellm

        litellm.telemetry = False
        litellm.drop_params = True  # providers that lack e.g. `seed` ignore it instead of failing
        self._litellm = litellm

    def _send(self, request: Request, response_format: dict[str, Any] | None) -> Any:
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        if self.options.extra_body:
            extra["extra_body"] = dict(self.options.extra_body)
        if self.base_url:
            extra["api_base"] = self.base_url
            if not _provider_key_in_env(self.model):
                extra["api_key"] = "not-needed"  # a self-hosted server behind a provider's API shape
        return self._litellm.completion(
            model=self.model,
            messages=list(request.messages),
            timeout=self.options.timeout_s,
            num_retries=0,
            **self._decoding(request),
            **extra,
        )

    def _cost(self, response: Any) -> float:
        # Priced as the model we asked for, from the tokens the server reports.
        usage = getattr(response, "usage", None)
        prompt_price, completion_price = self.price_per_token()
        return (
            token_count(getattr(usage, "prompt_tokens", 0)) * prompt_price
            + token_count(getattr(usage, "completion_tokens", 0)) * completion_price
        )

    def price_per_token(self) -> tuple[float, float]:
        """(USD per prompt token, USD per completion token), zero where LiteLLM has no price data."""
        try:
            prompt, completion = self._litellm.cost_per_token(model=self.model, prompt_tokens=1, completion_tokens=1)
            return float(prompt), float(completion)
        except Exception:
            return 0.0, 0.0


def token_count(value: Any) -> int:
    """A token count the server reported; 0 for anything that is not a count ("abc", -3, 1e400)."""
    try:
        count = int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0
    return count if count >= 0 else 0

"""Structured output: the request shapes servers accept, validation on return, and what the in-process
grammars count as blank."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from parity.io import parse_json

# What str.strip() removes beyond ASCII whitespace and control characters, as grammar character-class
# escapes: the grammars parity builds (llama.cpp's, xgrammar's) start a non-empty string with none of them.
UNICODE_BLANKS = r"\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"


def response_formats(schema: dict[str, Any], mode: str) -> list[dict[str, Any] | None]:
    """The response_format values to try, in order; "auto" falls back from the OpenAI standard
    (json_schema: OpenAI, vLLM, Ollama, llama.cpp's llama-server) to json_object + schema
    (llama-cpp-python's server)."""
    standard: dict[str, Any] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}
    legacy: dict[str, Any] = {"type": "json_object", "schema": schema}
    tries: dict[str, list[dict[str, Any] | None]] = {
        "auto": [standard, legacy],
        "json_schema": [standard],
        "json_object": [legacy],
        "none": [None],
    }
    return tries[mode]


def rejects_response_format(status: int, body: str) -> bool:
    """A 400/422 that complains about response_format means: try the next shape. (llama-cpp-python's
    server reports its request-validation errors as HTTP 500.)"""
    return status in (400, 422, 500) and "response_format" in body


def validate_output(text: str, schema: dict[str, Any] | None) -> tuple[Any, str | None]:
    """(parsed object, None) when the text is JSON matching the schema; (None, why) otherwise."""
    if schema is None:
        return None, None
    try:
        obj = parse_json(text, strict=False)  # as parity.task.answer_from_text reads it
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg}"
    try:
        jsonschema.validate(obj, schema)
    except jsonschema.ValidationError as exc:
        return None, f"schema: {exc.message}"
    return obj, None

"""JSON tasks (`[task] kind = "json"`): an answer is a JSON object that the task's JSON Schema allows.

The schema file is part of the ruler. It may use only the keywords that llama.cpp's grammar converter
enforces while generating: a keyword it ignores (`minimum`, `not`, `if`, …) would let the model write
answers that parity then refuses one by one, so such a schema is refused when the workspace loads,
naming the keyword and its line. Answers are validated with the `jsonschema` library.

A JSON answer's *fields* are its top-level properties, with nested objects flattened to dotted names
(`address.city`); an array is one field. The reference judge scores field by field; the leak detector
compares the sentences of its string fields (`Answer.units`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema

from parity.errors import ParityError
from parity.io import one_line, read_text

# What the grammar converter turns into grammar rules, and words that only describe.
ENFORCED = {
    "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems", "maxItems",
    "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "pattern", "format",
    "minLength", "maxLength",
}  # fmt: skip
ANNOTATIONS = {"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"}
FORMATS = {"date", "time", "date-time"}  # the string formats the converter has rules for
_SCHEMA_MAPS = ("properties", "$defs", "definitions")  # keyword -> {name: schema}
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
# llama-cpp-python writes a maxLength or maxItems of N as N nested optional rules, and llama.cpp refuses such a
# grammar past 1000 (measured with the bundled model's vocabulary: 1000 compiles, 1001 does not).
REPETITION_LIMIT = 1000
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems")
MIN_UNIT_WORDS = 4  # a sentence shorter than this ("Halden Cam", a sign-off) is no evidence of a copy


def load_output_schema(root: Path, relative: str | None) -> dict[str, Any]:
    """The task's JSON Schema from `[task] schema`, checked: valid, an object, enforceable by the grammar."""
    if not relative:
        raise ParityError("a json task needs its answers' JSON Schema", "parity.toml [task]", 'add schema = "task/schema.json"')
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts:
        raise ParityError(
            f"schema {relative!r} is outside the workspace", "parity.toml [task] schema", "keep the schema file in the workspace"
        )
    path = root / pure
    if not path.is_file():
        raise ParityError("schema file not found", relative, "write the answers' JSON Schema there, or fix [task] schema")
    text = read_text(path, relative)
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParityError(f"invalid JSON ({exc.msg})", f"{relative}:{exc.lineno}", "fix the syntax") from None
    except (RecursionError, ValueError):
        raise ParityError("JSON nested too deeply or a number too long", relative, "simplify the schema") from None
    check_schema(schema, text, relative)
    return schema


def check_schema(schema: Any, text: str, shown: str) -> None:
    if not isinstance(schema, dict) or schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise ParityError(
            'an answer schema must be an object with "properties"', shown, 'start it with {"type": "object", "properties": {…}}'
        )
    if not isinstance(schema.get("$schema", ""), str):
        raise ParityError("$schema must be a string (a metaschema URI)", _where(shown, text, "$schema"), "remove it or give its URI")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        keyword = str(exc.path[-1]) if exc.path else None
        where = _where(shown, text, keyword)
        raise ParityError(f"not a valid JSON Schema: {one_line(exc.message)}", where, "fix the schema") from None
    except (OverflowError, RecursionError) as exc:  # a pattern Python's re cannot compile: a{99999999999}, deep groups
        raise ParityError(
            f"not a valid JSON Schema: a pattern cannot be compiled ({type(exc).__name__})",
            _where(shown, text, "pattern"),
            "simplify the pattern",
        ) from None
    for keyword, value in _keywords(schema):
        if keyword not in ENFORCED | ANNOTATIONS:
            raise ParityError(
                f"schema keyword '{one_line(keyword)}' cannot be enforced by the grammar that constrains generation",
                _where(shown, text, keyword),
                "remove it, or express the rule with enum, pattern, minLength/maxLength or minItems/maxItems",
            )
        if keyword == "format" and value not in FORMATS:
            raise ParityError(
                f"schema format '{one_line(str(value))}' cannot be enforced by the grammar",
                _where(shown, text, "format"),
                f"use one of {', '.join(sorted(FORMATS))}, or a pattern",
            )
        if keyword in _COUNTS and isinstance(value, int) and value > REPETITION_LIMIT:
            raise ParityError(
                f"schema {keyword} {value} is more than the grammar that constrains generation can repeat ({REPETITION_LIMIT})",
                _where(shown, text, keyword),
                f"lower {keyword} to {REPETITION_LIMIT} or less",
            )
        if keyword == "$ref" and not str(value).startswith("#"):
            raise ParityError(f"schema $ref {one_line(str(value))!r} is not local", _where(shown, text, "$ref"), "inline it under $defs")
        if keyword == "$ref":
            _check_ref(schema, str(value), shown, text)
    if schema.get("additionalProperties", True) is not False:
        raise ParityError(
            'an answer schema must say "additionalProperties": false',
            shown,
            "list every field under properties (the grammar needs them all)",
        )


def _check_ref(schema: dict[str, Any], ref: str, shown: str, text: str) -> None:
    """A local $ref must name a schema in this file, and following refs must end: the grammar, and the
    validator that checks answers, would otherwise fail on the first answer instead of here."""
    seen: list[str] = []
    while True:
        if ref in seen:
            chain = " → ".join([*seen, ref])
            raise ParityError(f"schema $ref loops ({one_line(chain)})", _where(shown, text, "$ref"), "make the schema finite")
        seen.append(ref)
        target: Any = schema
        for part in ref.removeprefix("#").split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            raise ParityError(
                f"schema $ref {one_line(ref)!r} names no schema in this file", _where(shown, text, "$ref"), "point it at an entry of $defs"
            )
        if not isinstance(target.get("$ref"), str):
            return
        ref = target["$ref"]


def _keywords(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every (keyword, value) in a schema and its subschemas; property names are not keywords."""
    if not isinstance(schema, dict):
        return
    for keyword, value in schema.items():
        yield keyword, value
        if keyword in _SCHEMA_MAPS and isinstance(value, dict):
            for sub in value.values():
                yield from _keywords(sub)
        elif keyword in _SCHEMA_LISTS and isinstance(value, list):
            for sub in value:
                yield from _keywords(sub)
        elif keyword in ("items", "additionalProperties"):
            yield from _keywords(value)


def _where(shown: str, text: str, keyword: str | None) -> str:
    if keyword:
        for number, line in enumerate(text.splitlines(), start=1):
            if f'"{keyword}"' in line:
                return f"{shown}:{number}"
    return shown


def for_prompt(schema: dict[str, Any]) -> str:
    """The schema as a prompt shows it: without `$comment`, which speaks to the workspace's author, not the model."""
    return json.dumps({k: v for k, v in schema.items() if k != "$comment"}, ensure_ascii=False)


def validate(obj: Any, schema: dict[str, Any], what: str) -> dict[str, Any]:
    """`obj` when the schema allows it; else ValueError naming the first field at fault."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise ValueError(f"{what}{at}: {one_line(error.message)}")
    assert isinstance(obj, dict)
    return obj


def fields(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The answer's fields: top-level values, nested objects flattened to dotted names, arrays whole."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(fields(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def schema_fields(schema: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """The fields a schema declares, named as `fields` names them, with their subschemas."""
    declared: dict[str, dict[str, Any]] = {}
    for key, sub in (schema.get("properties") or {}).items():
        name = f"{prefix}{key}"
        if isinstance(sub, dict) and sub.get("type") == "object" and isinstance(sub.get("properties"), dict):
            declared.update(schema_fields(sub, f"{name}."))
        else:
            declared[name] = sub if isinstance(sub, dict) else {}
    return declared


def is_exact(subschema: dict[str, Any]) -> bool:
    """A field with a right value rather than a good one: an enum, a const, a boolean, a number."""
    return "enum" in subschema or "const" in subschema or subschema.get("type") in ("boolean", "number", "integer")


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def render(data: dict[str, Any]) -> str:
    """One `field: value` line per field, for embeddings, detectors and text features."""
    return "\n".join(
        f"{name}: {value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)}" for name, value in fields(data).items()
    )

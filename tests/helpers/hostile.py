"""What the loaders' property tests share: hostile values, mutations of a valid configuration, and the
two outcomes a loader may have (a valid object, or a ParityError that prints as one line)."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from parity.errors import ParityError

# Text a user (or an attacker) may put anywhere: line breaks of every kind, markup, template fields,
# words parity gives a meaning to, lone surrogates, control characters.
HOSTILE_TEXT = [
    "",
    " ",
    "a\nb",
    "a\r\nb",
    "x\u2028y\u2029z\x85",
    "\x0b\x0c\x1c",
    "<script>alert(1)</script>",
    "[/red] [link=file:///etc/passwd]x[/link]",
    "{input!z}",
    "{n_questions[0]}",
    "all",
    "full",
    "nan",
    "inf",
    "-1",
    "1e9",
    "\x00",
    "\x7f",
    "\ud800",
    "\udfff x",
    "é\U0001f600",
]
hostile_text = st.sampled_from(HOSTILE_TEXT) | st.text(max_size=12)
hostile_numbers = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 0.0, -0.0, 1e9, 2**63, -(2**63) - 1, 10**30]) | (
    st.integers(-(2**70), 2**70) | st.floats()
)


def nested(depth: int) -> Any:
    """A list inside a list ... `depth` deep."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


hostile_scalars = st.booleans() | hostile_numbers | hostile_text
hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=10,
) | st.integers(1, 60).map(nested)


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a parsed document: the root, each key of a mapping and each item of a list."""
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from paths(value, (*prefix, index))


MUTATIONS = ("remove", "replace", "add")


def mutated(document: dict[str, Any], path: tuple[Any, ...], how: str, value: Any, key: str) -> Any:
    """A copy of `document` with the value at `path` removed, replaced by `value`, or given a new
    entry (`key` = `value` in a mapping, `value` appended to a list)."""
    doc = copy.deepcopy(document)
    if not path:
        if how == "add":
            doc[key] = value
        return value if how == "replace" else doc
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "remove":
        del parent[last]
    elif how == "replace":
        parent[last] = value
    elif isinstance(parent[last], dict):
        parent[last][key] = value
    elif isinstance(parent[last], list):
        parent[last].append(value)
    return doc


def assert_one_line(exc: ParityError) -> None:
    """The promise for a refused input: what went wrong (and where), printed as a single line."""
    line = exc.line()
    assert exc.what.strip(), line
    assert len(line.splitlines()) == 1 and line == line.splitlines()[0], repr(line)
    line.encode("utf-8")  # printable: no lone surrogate in the message


def numbers(value: Any) -> Iterator[float]:
    if isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from numbers(item)
    elif isinstance(value, float):
        yield value


def assert_storable(dumped: Any) -> None:
    """What an accepted configuration must be to be run and recorded: finite numbers only, and text the
    store can hold (UTF-8: no lone surrogate)."""
    assert all(math.isfinite(number) for number in numbers(dumped)), dumped
    json.dumps(dumped, ensure_ascii=False, allow_nan=False).encode("utf-8")

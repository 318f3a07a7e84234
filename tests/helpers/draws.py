"""Draws the loaders' property tests share, made from the pieces in tests.helpers.hostile."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.helpers.hostile import MUTATIONS, hostile_text, hostile_values, mutated, paths


def one_thing_wrong(data: st.DataObject, document: dict[str, Any]) -> Any:
    """A copy of a valid `document` with one thing wrong: the value at one of its places removed,
    replaced by a hostile value, or given a hostile entry."""
    where = data.draw(st.sampled_from(list(paths(document))), label="path")
    how = data.draw(st.sampled_from(MUTATIONS), label="how")
    return mutated(document, where, how, data.draw(hostile_values, label="value"), data.draw(hostile_text, label="key"))

"""The completion cache: a damaged entry is discarded and rebuilt."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b"[1, 2]",
        b'{"text": 3, "finish_reason": "stop"}',
        b'{"text": "x", "finish_reason": "stop", "bogus": 1}',
        b"\xff\xfe",
    ],
)
def test_a_damaged_cache_entry_is_discarded_and_rebuilt(tmp_path: Path, damage: bytes) -> None:
    from parity.models.base import Completion, Request
    from parity.models.cache import CachedModel, cache_key

    class Counting:
        spec = identity = "counting"
        calls = 0

        def complete(self, request: Request) -> Completion:
            Counting.calls += 1
            return Completion(text="fresh", finish_reason="stop")

    model = CachedModel(Counting(), tmp_path)
    request = Request(messages=({"role": "user", "content": "hi"},))
    assert model.complete(request).text == "fresh" and Counting.calls == 1
    path = model._path(cache_key("counting", request))
    path.write_bytes(damage)
    again = model.complete(request)
    assert again.text == "fresh" and not again.cached and Counting.calls == 2
    third = model.complete(request)
    assert third.cached and Counting.calls == 2  # the entry was rewritten whole


def test_a_new_grammar_revision_misses_what_the_old_one_cached(tmp_path: Path) -> None:
    from parity.models.base import Completion, Request
    from parity.models.cache import CachedModel

    class Constrained:
        spec = identity = "constrained"
        constraint = "gbnf-1"
        calls = 0

        def complete(self, request: Request) -> Completion:
            Constrained.calls += 1
            return Completion(text=f"under {self.constraint}", finish_reason="stop")

    request = Request(messages=({"role": "user", "content": "hi"},), schema={"type": "object"})
    assert CachedModel(Constrained(), tmp_path).complete(request).text == "under gbnf-1"
    assert CachedModel(Constrained(), tmp_path).complete(request).cached and Constrained.calls == 1
    Constrained.constraint = "gbnf-2"
    fresh = CachedModel(Constrained(), tmp_path).complete(request)
    assert fresh.text == "under gbnf-2" and not fresh.cached and Constrained.calls == 2

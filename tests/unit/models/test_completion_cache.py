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

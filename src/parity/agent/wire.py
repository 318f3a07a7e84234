"""JSON lines between parity and a Python agent's worker process, with a deadline on every wait.

JSON, never pickle: what the worker sends is untrusted (it runs the agent's code), and unpickling it
would run code in parity's own process. Every message is bounded in size, and a wait past the
deadline raises instead of blocking: a stuck or hostile worker cannot stall the run.
"""

from __future__ import annotations

import json
import os
import select
import time
from typing import Any

MAX_MESSAGE_BYTES = 32 * 1024 * 1024
# What a worker learns of each model call parity makes for it.
COMPLETION_FIELDS = ("text", "finish_reason", "prompt_tokens", "completion_tokens", "cost_usd", "latency_s", "cached")


class WireError(Exception):
    """The other side broke the protocol: closed, too slow, too large or not JSON."""


class WireTimeout(WireError):
    pass


class WireClosed(WireError):
    pass


class Channel:
    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._buffer = bytearray()

    def send(self, message: dict[str, Any], deadline: float | None = None) -> None:
        data = memoryview((json.dumps(message, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8"))
        while data:
            _wait(self.write_fd, deadline, writing=True)
            try:
                written = os.write(self.write_fd, data)
            except BrokenPipeError:
                raise WireClosed("the other side closed the channel") from None
            data = data[written:]

    def receive(self, deadline: float | None = None) -> dict[str, Any]:
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > MAX_MESSAGE_BYTES:
                raise WireError(f"a message over {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB")
            _wait(self.read_fd, deadline, writing=False)
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise WireClosed("the other side closed the channel")
            self._buffer.extend(chunk)
        line, self._buffer = bytes(self._buffer[:end]), self._buffer[end + 1 :]
        try:
            message = json.loads(line.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise WireError(f"a message that is not JSON ({type(exc).__name__})") from None
        if not isinstance(message, dict):
            raise WireError("a message that is not a JSON object")
        return message


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _wait(fd: int, deadline: float | None, writing: bool) -> None:
    remaining = None if deadline is None else deadline - time.monotonic()
    if remaining is not None and remaining <= 0:
        raise WireTimeout("out of time")
    ready = select.select([], [fd], [], remaining) if writing else select.select([fd], [], [], remaining)
    if not any(ready):
        raise WireTimeout("out of time")

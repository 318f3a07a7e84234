"""Real servers on 127.0.0.1 for backend tests: llama-cpp-python's OpenAI-compatible server with the
bundled SmolLM2 file, and a tiny scripted HTTP server for rate-limit behaviour."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from parity.models.spec import embedded_model_path
from tests.helpers.llama import llama_threads


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float, what: str) -> None:
    """Until `url` answers 200; fails at once if the serving process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")


class LlamaServer:
    """`python -m llama_cpp.server` serving the bundled GGUF (or another, optionally with a GGUF LoRA);
    start, kill and restart it for real."""

    def __init__(self, log_dir: Path, model: Path | None = None, lora: Path | None = None):
        self.port = free_port()
        self.log_dir = log_dir
        self.model = model
        self.lora = lora
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120) -> LlamaServer:
        model = self.model or embedded_model_path("smollm2-135m")
        lora = ["--lora_path", str(self.lora)] if self.lora else []
        log_path = self.log_dir / f"llama-server-{self.port}.log"
        with open(log_path, "ab") as log:  # the server writes to its own copy of the descriptor
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "llama_cpp.server",
                    "--model",
                    str(model),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--n_ctx",
                    "4096",
                    "--n_threads",
                    str(llama_threads()),
                    *lora,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_http(f"{self.base_url}/models", self.process, timeout, f"llama_cpp.server (log {log_path})")
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


VALID_ANSWER = {"title": "Trip", "questions": [f"Which detail number {i} matters most for the trip?" for i in range(1, 8)]}


class ScriptedServer:
    """An OpenAI-style endpoint that answers the first `throttle` requests with 429 + Retry-After."""

    def __init__(self, throttle: int, retry_after: str, reject: int | None = None, reply: bytes | None = None):
        self.throttle = throttle
        self.reply = reply  # after the throttled ones, answer 200 with this body instead of a valid completion
        self.reject = reject  # answer every request with this status and a body that echoes the request's headers
        self.retry_after = retry_after
        self.arrivals: list[float] = []
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                outer.bodies.append(json.loads(self.rfile.read(length) or b"{}"))
                outer.arrivals.append(time.monotonic())
                if outer.reject is not None:
                    echoed = {k: v for k, v in self.headers.items()}
                    payload = json.dumps(
                        {
                            "error": {
                                "message": f"invalid credentials: Authorization: {self.headers.get('authorization')}",
                                "request_headers": echoed,
                            }
                        }
                    ).encode()
                    self.send_response(outer.reject)
                elif len(outer.arrivals) <= outer.throttle:
                    payload = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}}).encode()
                    self.send_response(429)
                    self.send_header("Retry-After", outer.retry_after)
                elif outer.reply is not None:
                    payload = outer.reply
                    self.send_response(200)
                else:
                    payload = json.dumps(
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "created": 0,
                            "model": "scripted",
                            "choices": [
                                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": json.dumps(VALID_ANSWER)}}
                            ],
                            "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
                        }
                    ).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

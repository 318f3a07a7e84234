"""What the generation benchmarks share: their arguments and a fresh copy of the bundled workspace."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_args(doc: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each measurement")
    parser.add_argument("--gate", default="dev")
    return parser.parse_args()


def bundled_workspace():
    from parity.examples import write_example
    from parity.task import load_workspace

    return load_workspace(write_example("discovery", Path(tempfile.mkdtemp()) / "ws"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def llama_server_binary(given: str | None) -> str:
    """llama.cpp's own `llama-server`: the one given, or built once into .parity/bin."""
    if given:
        return given
    built = subprocess.run(
        [str(ROOT / "benchmarks" / "build_llama_server.sh"), str(ROOT / ".parity" / "bin")],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return built.stdout.strip().splitlines()[-1]


def start_llama_server(binary: str, model: Path, port: int, slots: int = 4) -> subprocess.Popen[bytes]:
    """`llama-server` with `slots` parallel slots (continuous batching), once its /health answers."""
    process = subprocess.Popen(
        [
            binary,
            "-m",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "-np",
            str(slots),
            "-c",
            str(2048 * slots),
            "-t",
            str(os.cpu_count() or 2),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("llama-server did not come up")

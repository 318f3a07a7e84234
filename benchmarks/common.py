"""What the generation benchmarks share: their arguments and a fresh copy of the bundled workspace."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def bench_args(doc: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each measurement")
    parser.add_argument("--gate", default="dev")
    return parser.parse_args()


def bundled_workspace():
    from parity.examples import write_example
    from parity.task import load_workspace

    return load_workspace(write_example("discovery", Path(tempfile.mkdtemp()) / "ws"))

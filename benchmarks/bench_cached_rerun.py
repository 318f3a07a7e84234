"""A fully cached re-run as a whole process: `parity run baseline --gate dev` in a fresh workspace, then twice again.

The first run answers and embeds everything (cold); the re-runs find every completion and every
embedding in the workspace's cache, so they load no model and import no torch. Prints the seconds of
each process and the ratio cached / cold, and exits 1 when the slower re-run takes more than 2 s or
more than 0.1 of the cold run (issue #17's bar). Set PARITY_LLAMA_THREADS as for any run.
Usage: python benchmarks/bench_cached_rerun.py [--gate dev] [--reruns 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_CACHED_S = 2.0
MAX_RATIO = 0.1


def parity_command() -> list[str]:
    script = Path(sys.executable).with_name("parity")  # the console script a user types
    return [str(script)] if script.is_file() else [sys.executable, "-m", "parity"]


def timed_run(ws: Path, gate: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([*parity_command(), "run", "baseline", "--gate", gate], cwd=ws, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"parity run failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def qualities(ws: Path) -> list[float]:
    """Every recorded experiment's quality, in order: the re-runs must report the cold run's."""
    done = subprocess.run([*parity_command(), "show", "--json"], cwd=ws, capture_output=True, text=True, check=True)
    return [experiment["quality"] for experiment in sorted(json.loads(done.stdout), key=lambda e: e["id"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gate", default="dev")
    parser.add_argument("--reruns", type=int, default=2, help="cached runs after the cold one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        ws = Path(folder) / "discovery"
        subprocess.run([*parity_command(), "init", "--example", "discovery", str(ws)], check=True, capture_output=True)
        cold = timed_run(ws, args.gate)
        reruns = [timed_run(ws, args.gate) for _ in range(args.reruns)]
        cold_quality, *rerun_qualities = qualities(ws)
    cached = max(reruns)  # the slower re-run is the one held to the bar
    ratio = cached / cold

    threads = os.environ.get("PARITY_LLAMA_THREADS") or f"all ({os.cpu_count()})"
    print(f"gate {args.gate} in a fresh workspace, {os.cpu_count()} cores, PARITY_LLAMA_THREADS={threads}")
    print(f"  cold run       {cold:6.2f} s   quality {cold_quality}")
    for number, (seconds, quality) in enumerate(zip(reruns, rerun_qualities), start=1):
        print(f"  cached run {number}   {seconds:6.2f} s   quality {quality}")
    print(f"cached / cold: {ratio:.3f}  (bar ≤ {MAX_RATIO});  cached: {cached:.2f} s  (bar ≤ {MAX_CACHED_S} s)")
    if any(quality != cold_quality for quality in rerun_qualities):
        sys.exit("a cached run reported another quality than the cold run")
    if ratio > MAX_RATIO or cached > MAX_CACHED_S:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Backend benchmarks, measured in one run on the dev gate of the bundled discovery workspace:

  1. cached re-run time / cold run time of `parity run` (embedded llama.cpp; target ≤ 0.05);
  2. throughput with 4 requests in flight / 1 in flight, against llama.cpp's `llama-server`
     started with 4 parallel slots (built by benchmarks/build_llama_server.sh if missing).
Usage: python benchmarks/bench_backends.py [--server PATH] [--skip-server]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from common import free_port, llama_server_binary, start_llama_server

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def timed_run(ws, ruler, agent_name: str, use_cache: bool, store) -> tuple[float, int]:
    from parity.agent import load_agent
    from parity.experiment import run_experiment
    from parity.judge import make_judge
    from parity.loop.rules import keep

    agent = load_agent(ws, agent_name, use_cache=use_cache)
    judge = make_judge(ws)
    started = time.perf_counter()
    outcome = run_experiment(ws, ruler, agent, judge, store, "dev", f"benchmark {agent_name}", keep)
    elapsed = time.perf_counter() - started
    return elapsed, sum(row.completion_tokens for row in store.case_rows(outcome.experiment_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="path to llama.cpp's llama-server (default: build it into .parity/bin)")
    parser.add_argument("--skip-server", action="store_true", help="only the cache measurement")
    args = parser.parse_args()

    import yaml

    from parity.examples import write_example
    from parity.judge import make_judge
    from parity.models.llamacpp import load_llama
    from parity.models.spec import embedded_model_path
    from parity.ruler import load_ruler
    from parity.store import Store
    from parity.task import load_workspace

    ws = load_workspace(write_example("discovery", Path(tempfile.mkdtemp()) / "ws"))
    ruler = load_ruler(ws)
    store = Store(f"sqlite:///{ws.state_dir / 'bench.db'}")
    model = embedded_model_path("smollm2-135m")
    load_llama(str(model))  # load once, outside every measurement
    make_judge(ws)

    cold, _ = timed_run(ws, ruler, "baseline", True, store)
    warm, _ = timed_run(ws, ruler, "baseline", True, store)
    print(f"dev gate, embedded llama.cpp: cold run {cold:.2f} s, cached re-run {warm:.2f} s")
    print(f"cached re-run / cold run: {warm / cold:.3f}  (target ≤ 0.05)")
    if args.skip_server:
        return

    binary = llama_server_binary(args.server)
    port = free_port()
    server = start_llama_server(binary, model, port)
    try:
        base = yaml.safe_load((ws.agents_dir / "baseline.yaml").read_text())
        rates = {}
        for in_flight in (1, 4):
            config = {
                **base,
                "name": f"served-{in_flight}",
                "model": f"openai:smollm2@http://127.0.0.1:{port}/v1",
                "backend": {"max_in_flight": in_flight},
            }
            (ws.agents_dir / f"served-{in_flight}.yaml").write_text(yaml.safe_dump(config))
            elapsed, tokens = timed_run(ws, ruler, f"served-{in_flight}", False, store)
            rates[in_flight] = tokens / elapsed
            print(f"llama-server -np 4, {in_flight} in flight: {tokens} tokens in {elapsed:.1f} s = {rates[in_flight]:.1f} tokens/s")
        print(f"throughput 4 in flight / 1 in flight: {rates[4] / rates[1]:.2f}")
    finally:
        server.kill()


if __name__ == "__main__":
    main()

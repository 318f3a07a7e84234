"""Multi-sample strategies (`vote`, `best_of_n`) against llama.cpp's `llama-server` with 4 parallel slots:
wall time per case with the draws sent at once (max_in_flight 4) / one after another (max_in_flight 1),
measured in one run on the dev gate of the bundled discovery workspace, cases one at a time, no cache.
Usage: python benchmarks/bench_draws.py [--server PATH] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from common import bundled_workspace, free_port, llama_server_binary, start_llama_server

os.environ.setdefault("HF_HUB_OFFLINE", "1")
STRATEGIES = ("vote", "best_of_n")


def served_agent(ws, strategy: str, port: int, in_flight: int):
    import yaml

    from parity.agent import load_agent

    config = yaml.safe_load((ws.agents_dir / f"{strategy}.yaml").read_text())
    config.update(model=f"openai:smollm2@http://127.0.0.1:{port}/v1", backend={"max_in_flight": in_flight})
    name = f"{strategy}-served-{in_flight}"
    (ws.agents_dir / f"{name}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return load_agent(ws, name, use_cache=False)


def per_case(agent, inputs: list[str]) -> tuple[float, int]:
    """Seconds per case over `inputs`, one case at a time, and the completion tokens they took."""
    started, tokens = time.perf_counter(), 0
    for text in inputs:
        output = agent.answer(text)
        tokens += sum(step.completion_tokens for step in output.trace)
    return (time.perf_counter() - started) / len(inputs), tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="path to llama.cpp's llama-server (default: build it into .parity/bin)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of each measurement")
    parser.add_argument("--cases", type=int, default=6, help="dev-gate cases per measurement")
    args = parser.parse_args()

    from parity.models.spec import embedded_model_path
    from parity.ruler import load_ruler

    ws = bundled_workspace()
    inputs = [case.input for case in load_ruler(ws).gate("dev")[: args.cases]]
    port = free_port()
    server = start_llama_server(llama_server_binary(args.server), embedded_model_path("smollm2-135m"), port, slots=4)
    try:
        for strategy in STRATEGIES:
            agents = {n: served_agent(ws, strategy, port, n) for n in (1, 4)}
            per_case(agents[1], inputs[:1])  # the server's first prompt evaluation, outside every measurement
            times: dict[int, list[float]] = {1: [], 4: []}
            tokens: dict[int, int] = {1: 0, 4: 0}
            for _ in range(args.rounds):
                for n in (1, 4):
                    seconds, used = per_case(agents[n], inputs)
                    times[n].append(seconds)
                    tokens[n] += used
            sequential, concurrent = statistics.median(times[1]), statistics.median(times[4])
            calls = agents[1].calls_per_case
            print(
                f"{strategy} ({calls} draws), llama-server -np 4, {len(inputs)} cases × {args.rounds} rounds: "
                f"sequential {sequential:.2f} s/case ({tokens[1]} tokens), concurrent {concurrent:.2f} s/case ({tokens[4]} tokens)"
            )
            print(f"{strategy}: wall time per case, concurrent / sequential: {concurrent / sequential:.3f}")
            # Sampled draws differ in length between the two runs, so the tokens/s ratio says the same net of that.
            throughput = (tokens[4] / sum(times[4])) / (tokens[1] / sum(times[1]))
            print(f"{strategy}: completion tokens/s, concurrent / sequential: {throughput:.3f}")
    finally:
        server.kill()


if __name__ == "__main__":
    main()

"""Generation throughput of `parity run` vs llama-cpp-python itself, measured in one run.

Prints two ratios, both measured in this process on the same prompts:
  1. parity run (dev gate, no cache, judge included) tokens/s  ÷  llama-cpp-python's own tokens/s
     on the same messages and the same JSON schema (target ≥ 0.9);
  2. schema-constrained  ÷  unconstrained generation tokens/s in llama-cpp-python.
Usage: python benchmarks/bench_generation.py [--rounds N]
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import bench_args, bundled_workspace


def raw_throughput(llama, prompts, schema, max_tokens: int, texts: list[str] | None = None) -> tuple[int, float]:
    tokens, elapsed = 0, 0.0
    for messages in prompts:
        kwargs = {"response_format": {"type": "json_object", "schema": schema}} if schema else {}
        started = time.perf_counter()
        out = llama.create_chat_completion(messages=list(messages), temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=0, **kwargs)
        elapsed += time.perf_counter() - started
        tokens += out["usage"]["completion_tokens"]
        if texts is not None:
            texts.append(out["choices"][0]["message"]["content"])
    return tokens, elapsed


def parity_throughput(ws, ruler, gate: str, texts: list[str]) -> tuple[int, float]:
    from parity.agent import load_agent
    from parity.experiment import run_experiment
    from parity.judge import make_judge
    from parity.loop.rules import keep
    from parity.store import Store

    agent = load_agent(ws, "baseline", use_cache=False)
    store = Store(f"sqlite:///{ws.state_dir / 'bench.db'}")
    judge = make_judge(ws)
    started = time.perf_counter()
    outcome = run_experiment(ws, ruler, agent, judge, store, gate, "benchmark", keep)
    elapsed = time.perf_counter() - started
    rows = store.case_rows(outcome.experiment_id)
    texts.extend(row.raw_text for row in rows)
    return sum(row.completion_tokens for row in rows), elapsed


def main() -> None:
    args = bench_args(__doc__)

    from llama_cpp import Llama

    from parity.agent import load_agent
    from parity.judge import make_judge
    from parity.models.llamacpp import N_CTX, load_llama
    from parity.ruler import load_ruler
    from parity.task import answer_schema

    ws = bundled_workspace()
    ruler = load_ruler(ws)
    agent = load_agent(ws, "baseline", use_cache=False)
    cases = ruler.gate(args.gate)
    prompts = [agent.request(case.input).messages for case in cases]
    schema = answer_schema(ws.task)
    max_tokens = agent.config.decoding.max_tokens
    threads = os.cpu_count() or 1
    raw = Llama(model_path=str(agent.model.path), n_ctx=N_CTX, n_threads=threads, n_threads_batch=threads, seed=0, verbose=False)

    # Warm up both engines and the judge's embedder so no measurement pays for loading.
    load_llama(str(agent.model.path)).create_chat_completion(messages=list(prompts[0]), max_tokens=8)
    raw.create_chat_completion(messages=list(prompts[0]), max_tokens=8)
    make_judge(ws)

    totals = {"parity": [0, 0.0], "raw_schema": [0, 0.0], "raw_free": [0, 0.0]}
    texts: dict[str, list[str]] = {"parity": [], "raw_schema": []}
    for _ in range(args.rounds):
        for name, measure in (
            ("raw_schema", lambda: raw_throughput(raw, prompts, schema, max_tokens, texts["raw_schema"])),
            ("parity", lambda: parity_throughput(ws, ruler, args.gate, texts["parity"])),
            ("raw_free", lambda: raw_throughput(raw, prompts, None, max_tokens)),
        ):
            tokens, elapsed = measure()
            totals[name][0] += tokens
            totals[name][1] += elapsed

    rate = {name: tokens / elapsed for name, (tokens, elapsed) in totals.items()}
    print(f"cases: {len(cases)} ({args.gate} gate) × {args.rounds} rounds, {threads} threads, model {agent.model.path.name}")
    for name, (tokens, elapsed) in totals.items():
        print(f"  {name:<11} {tokens:>6} tokens in {elapsed:7.1f} s = {rate[name]:6.1f} tokens/s")
    same = sum(a == b for a, b in zip(texts["parity"], texts["raw_schema"]))
    print(f"identical outputs, parity vs llama-cpp-python: {same}/{len(texts['parity'])}")
    print(f"parity run / llama-cpp-python (same prompts + schema): {rate['parity'] / rate['raw_schema']:.3f}  (target ≥ 0.9)")
    print(f"schema-constrained / unconstrained (llama-cpp-python): {rate['raw_schema'] / rate['raw_free']:.3f}")
    raw.close()


if __name__ == "__main__":
    main()

"""What structured output costs on the bundled model, measured in one run.

Prints, on the same prompts (the baseline agent's, over a gate of the bundled ruler):
  1. constrained / unconstrained generation throughput (tokens/s), target >= 0.8:
     parity's llama.cpp path with the answer's JSON schema, against the same model generating freely
     with each prompt capped at the constrained answer's length; each timed call follows a one-token
     call on the same prompt, so both reuse the evaluated prompt and time generation alone; for
     reference, also llama-cpp-python's own grammar path and uncapped free generation;
  2. overgen_prune / single wall time per case (agent calls only, no judge, no cache).
Usage: python benchmarks/bench_structured.py [--rounds N] [--gate dev]
"""

from __future__ import annotations

import os
import time
from functools import partial

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import bench_args, bundled_workspace


def timed(fn) -> tuple[object, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def main() -> None:
    args = bench_args(__doc__)

    from llama_cpp import LlamaGrammar

    from parity.agent import load_agent
    from parity.models.base import Request
    from parity.models.llamacpp import load_llama
    from parity.ruler import load_ruler
    from parity.task import answer_schema

    ws = bundled_workspace()
    cases = load_ruler(ws).gate(args.gate)
    single = load_agent(ws, "baseline", use_cache=False)
    overgen = load_agent(ws, "overgen_prune", use_cache=False)
    model = single.model
    schema = answer_schema(ws.task)
    requests = [single.request(case.input) for case in cases]
    llama = load_llama(str(model.path))
    native_grammar = LlamaGrammar.from_json_schema(__import__("json").dumps(schema), verbose=False)

    model.complete(Request(messages=requests[0].messages, max_tokens=8))  # load and warm up
    single.answer(cases[0].input), overgen.answer(cases[0].input)  # warm up the embedder too

    totals = {name: [0, 0.0] for name in ("constrained", "free_same_cap", "native_grammar", "free_uncapped")}
    walls = {"single": 0.0, "overgen_prune": 0.0}
    lengths = [model.complete(request).completion_tokens for request in requests]
    calls = {
        "constrained": lambda request, length: model.complete(request),
        "free_same_cap": lambda request, length: model.complete(Request(messages=request.messages, max_tokens=length)),
        "native_grammar": lambda request, length: llama.create_chat_completion(
            messages=list(request.messages), temperature=0.0, max_tokens=request.max_tokens, seed=0, grammar=native_grammar
        ),
        "free_uncapped": lambda request, length: model.complete(Request(messages=request.messages, max_tokens=request.max_tokens)),
    }
    for round_ in range(args.rounds):
        order = list(calls) if round_ % 2 == 0 else list(reversed(calls))  # drift hits every mode alike
        for request, length in zip(requests, lengths):
            for name in order:
                # Evaluate the prompt first (one token), so the timed call reuses it from llama.cpp's
                # prefix cache and measures generation alone, for every mode alike.
                model.complete(Request(messages=request.messages, max_tokens=1))
                out, elapsed = timed(partial(calls[name], request, length))
                tokens = out.completion_tokens if hasattr(out, "completion_tokens") else out["usage"]["completion_tokens"]
                totals[name][0] += tokens
                totals[name][1] += elapsed
        for name, agent in (("single", single), ("overgen_prune", overgen)):
            for case in cases:
                walls[name] += timed(partial(agent.answer, case.input))[1]

    rate = {name: tokens / elapsed for name, (tokens, elapsed) in totals.items()}
    print(f"cases: {len(cases)} ({args.gate} gate) x {args.rounds} rounds, {os.cpu_count()} threads, model {model.path.name}")
    for name, (tokens, elapsed) in totals.items():
        print(f"  {name:<15} {tokens:>6} tokens in {elapsed:7.1f} s = {rate[name]:6.1f} tokens/s")
    print(f"constrained / unconstrained generation throughput: {rate['constrained'] / rate['free_same_cap']:.3f}  (target >= 0.8)")
    print(f"  for reference, llama-cpp-python's own grammar path / unconstrained: {rate['native_grammar'] / rate['free_same_cap']:.3f}")
    print(f"  for reference, constrained / unconstrained with no length cap: {rate['constrained'] / rate['free_uncapped']:.3f}")
    per_case = {name: wall / (len(cases) * args.rounds) for name, wall in walls.items()}
    print(f"wall per case: single {per_case['single']:.2f} s, overgen_prune {per_case['overgen_prune']:.2f} s")
    print(f"overgen_prune / single wall time per case: {per_case['overgen_prune'] / per_case['single']:.2f}")


if __name__ == "__main__":
    main()

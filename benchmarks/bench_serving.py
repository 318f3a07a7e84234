"""Serving throughput of one LoRA adapter, every way parity serves it, measured in one run.

The adapter is a LoRA on the bundled SmolLM2-135M (rank 16 on every projection, as `parity train`
makes; its weights random, since speed does not depend on them). On the same dev-gate prompts,
greedy and unconstrained with the same token cap, each engine's generated tokens per second:
  - the GGUF LoRA applied by llama.cpp at run time, on the f16 base and on the bundled Q4_1 base;
  - the adapter merged into an f16 GGUF (llama.cpp);
  - the adapter on its base in transformers (PEFT, unmerged: what training-time evaluation runs).
Printed: each ÷ the merged f16 GGUF, the rounds alternating. Run from the repository root:

    .venv/bin/python benchmarks/bench_serving.py [--rounds 2] [--tokens 64]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common import bundled_workspace


def random_adapter(base_folder: Path, out: Path) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(base_folder), dtype=torch.float32)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    config = LoraConfig(r=16, lora_alpha=32, target_modules=targets, init_lora_weights=False, task_type="CAUSAL_LM")
    get_peft_model(model, config).save_pretrained(str(out))
    return out


def throughput(model, requests) -> float:
    tokens, seconds = 0, 0.0
    for request in requests:
        completion = model.complete(request)
        tokens += completion.completion_tokens
        seconds += completion.latency_s
    return tokens / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=64, help="generated tokens per prompt")
    parser.add_argument("--prompts", type=int, default=5)
    args = parser.parse_args()

    from parity.agent import load_agent
    from parity.models.hf import HFModel
    from parity.models.llamacpp import LlamaCppModel
    from parity.models.lora_gguf import export_lora
    from parity.ruler import load_ruler
    from parity.train.base import resolve_base
    from parity.train.export import export_ladder

    ws = bundled_workspace()
    agent = load_agent(ws, "baseline", use_cache=False)
    cases = load_ruler(ws).gate("dev")[: args.prompts]
    requests = [dataclasses.replace(agent.request(c.input), schema=None, max_tokens=args.tokens, temperature=0.0) for c in cases]
    base = resolve_base("smollm2-135m", ws.root)
    scratch = Path(tempfile.mkdtemp())
    adapter = random_adapter(base.folder, scratch / "adapter")
    merged = export_ladder(base, adapter, {"f16": scratch / "merged-f16.gguf"}, "bench")["f16"][0]
    base_f16 = export_ladder(base, None, {"f16": scratch / "base-f16.gguf"}, "bench base")["f16"][0]
    lora = export_lora(base.source, adapter, scratch / "lora.gguf", "bench")
    engines = {
        "merged f16 GGUF (llama.cpp)": LlamaCppModel("merged", merged),
        "GGUF LoRA on f16 base (llama.cpp)": LlamaCppModel("lora-f16", base_f16, lora),
        "GGUF LoRA on Q4_1 base (llama.cpp)": LlamaCppModel("lora-q4_1", base.source, lora),
        "adapter on base (transformers)": HFModel("hf", base.source, adapter),
    }
    for model in engines.values():
        model.complete(dataclasses.replace(requests[0], max_tokens=4))  # load and warm up outside the timing
    measured: dict[str, list[float]] = {label: [] for label in engines}
    for _ in range(args.rounds):
        for label, model in engines.items():
            measured[label].append(throughput(model, requests))
    reference = statistics.median(measured["merged f16 GGUF (llama.cpp)"])
    print(f"{len(requests)} dev prompts × {args.tokens} tokens, greedy, {args.rounds} rounds (median tokens/s)")
    for label, values in measured.items():
        median = statistics.median(values)
        print(f"{label:40s} {median:7.1f} tokens/s   ÷ merged f16 GGUF: {median / reference:.3f}")


if __name__ == "__main__":
    main()

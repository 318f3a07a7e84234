"""SFT throughput: `parity train sft` against a plain TRL script on the same data and settings.

Both train the same LoRA on the same prompt/completion rows (the bundled corpus, as `parity train
sft` builds it) for the same number of steps, each in its own process and with the same
precision (bf16 where `parity train` picks it on this CPU); each reports trained tokens per
second of `trainer.train()` time. Printed: parity / plain TRL (target ≥ 0.9). Run from the
repository root:

    .venv/bin/python benchmarks/bench_training.py [--steps 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import bundled_workspace

SETTINGS = {"batch": 4, "accum": 2, "lr": 2e-4, "rank": 16, "alpha": 32, "max_length": 768}
# The `parity train` flag that sets each of SETTINGS.
FLAGS = {"batch": "--batch-size", "accum": "--grad-accum", "lr": "--lr", "rank": "--rank", "alpha": "--alpha", "max_length": "--max-length"}


def plain_trl(rows_path: Path, base_folder: Path, steps: int, out: Path, bf16: bool) -> float:
    """The TRL quick-start, nothing of ours: load, LoRA config, SFTTrainer, train. Returns tokens/s."""
    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(str(base_folder))
    model = AutoModelForCausalLM.from_pretrained(str(base_folder), dtype=torch.float32)
    data = load_dataset("json", data_files=str(rows_path), split="train").select_columns(["prompt", "completion"])
    args = SFTConfig(
        output_dir=str(out),
        use_cpu=True,
        bf16=bf16,
        gradient_checkpointing=False,
        max_steps=steps,
        per_device_train_batch_size=SETTINGS["batch"],
        gradient_accumulation_steps=SETTINGS["accum"],
        learning_rate=SETTINGS["lr"],
        max_length=SETTINGS["max_length"],
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=0,
        disable_tqdm=True,
    )
    lora = LoraConfig(
        r=SETTINGS["rank"],
        lora_alpha=SETTINGS["alpha"],
        lora_dropout=0.05,
        task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, peft_config=lora)
    output = trainer.train()
    tokens = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e][-1]
    return tokens / output.metrics["train_runtime"]


def plain_trl_process(rows_path: Path, base_folder: Path, steps: int, bf16: bool) -> float:
    """The plain script in a fresh process, as `parity train` runs: neither side inherits the other's
    state (threads, loaded models, warmed caches)."""
    command = [sys.executable, __file__, "--plain", str(rows_path), str(base_folder), str(steps), "1" if bf16 else "0"]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def ours(ws_root: Path, name: str, steps: int) -> float:
    from parity.store import Store

    settings = [arg for key, flag in FLAGS.items() for arg in (flag, str(SETTINGS[key]))]
    command = [
        sys.executable,
        "-m",
        "parity",
        "train",
        "sft",
        "--name",
        name,
        "--max-steps",
        str(steps),
        *settings,
        "--save-steps",
        str(steps),
    ]
    subprocess.run(command, cwd=ws_root, check=True, stdout=subprocess.DEVNULL)
    return Store(f"sqlite:///{ws_root / '.parity' / 'parity.db'}").adapter(name).summary["tokens_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--plain", nargs=4, metavar=("ROWS", "BASE", "STEPS", "BF16"), help=argparse.SUPPRESS
    )  # one plain TRL run, in its own process
    args = parser.parse_args()
    if args.plain:
        rows, base_folder, steps, bf16 = args.plain
        print(plain_trl(Path(rows), Path(base_folder), int(steps), Path(tempfile.mkdtemp()), bf16 == "1"))
        return

    from parity.agent import load_agent
    from parity.ruler import load_ruler
    from parity.store import Store
    from parity.train.base import resolve_base
    from parity.train.placement import cpu_bf16
    from parity.train.recipes import registry
    from parity.train.recipes.recipe import DataInputs

    bf16 = cpu_bf16()  # what `parity train` picks on this CPU; the plain script gets the same

    ws = bundled_workspace()
    inputs = DataInputs(ws, load_ruler(ws), Store.for_workspace(ws), load_agent(ws, "baseline"), "bench")
    data = registry()["sft"].build_data(inputs)
    rows_path = Path(tempfile.mkdtemp()) / "rows.jsonl"
    rows_path.write_text("".join(json.dumps({"prompt": r["prompt"], "completion": r["completion"]}) + "\n" for r in data.rows))
    base = resolve_base("smollm2-135m", ws.root)
    parity_rates, trl_rates = [], []
    for round_ in range(args.rounds):  # alternate, so drift in machine load hits both sides alike
        parity_rates.append(ours(ws.root, f"bench-{round_}", args.steps))
        trl_rates.append(plain_trl_process(rows_path, base.folder, args.steps, bf16))
        print(f"round {round_ + 1}: parity {parity_rates[-1]:.1f} tokens/s, plain TRL {trl_rates[-1]:.1f} tokens/s", flush=True)
    ratio = statistics.median(parity_rates) / statistics.median(trl_rates)
    print(
        f"SFT tokens/s, parity train sft / plain TRL: {ratio:.3f}  (target >= 0.9; {args.steps} steps, {args.rounds} rounds, bf16 {bf16} on both)"
    )


if __name__ == "__main__":
    main()

"""Training: data built from the corpus and checked against the ruler, an SFT adapter trained through
the CLI, killed and resumed from its checkpoint, registered, and used by an agent."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity.store import Store
from tests.helpers.cli import flags, run_parity, show_json
from tests.helpers.workspace import TINY_GATE, add_gates, write_agent


def _store(ws_dir: Path) -> Store:
    return Store(f"sqlite:///{ws_dir / '.parity' / 'parity.db'}")


def _train_until_checkpoint(ws_dir: Path, args: list[str], name: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`parity ARGS` started, and returned still running once its first checkpoint (step 2) is on disk."""
    process = subprocess.Popen(
        [sys.executable, "-m", "parity", *args],
        cwd=ws_dir,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    checkpoint = ws_dir / ".parity" / "adapters" / name / "checkpoints" / "checkpoint-2"
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None and not (checkpoint / "trainer_state.json").is_file():
        time.sleep(0.2)
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    time.sleep(1.0)  # let the checkpoint's last files land
    return process


def _corpus_slice(ws_dir: Path, n: int, extra: list[dict] | None = None) -> Path:
    lines = (ws_dir / "corpus" / "train.jsonl").read_text().splitlines()[:n]
    path = ws_dir / "slice.jsonl"
    path.write_text("\n".join(lines + [json.dumps(e) for e in extra or []]) + "\n")
    return path


def test_training_data_with_a_ruler_case_is_refused(ws_dir: Path) -> None:
    case = json.loads((ws_dir / "ruler" / "cases.jsonl").read_text().splitlines()[0])
    leaked = {"id": "leak-1", "input": case["input"].upper() + "  ", "answer": case["gold"]}
    data = _corpus_slice(ws_dir, 5, [leaked])
    result = run_parity("train", "sft", "--data", str(data), "--max-steps", "1", cwd=ws_dir)
    assert result.returncode == 2
    assert "1 corpus input(s) repeat a ruler case (e.g. leak-1)" in result.stderr and "\n" not in result.stderr.strip()
    assert not (ws_dir / ".parity" / "adapters").exists()


def test_bad_training_arguments_are_one_line(ws_dir: Path) -> None:
    served = run_parity("train", "sft", "--base", "openai:gpt-4o@http://127.0.0.1:9", "--max-steps", "1", cwd=ws_dir)
    assert served.returncode == 2 and "training needs local weights" in served.stderr
    nothing = run_parity("train", "sft", "--name", "never", "--resume", "--max-steps", "1", cwd=ws_dir)
    assert nothing.returncode == 2 and "nothing to resume for adapter 'never'" in nothing.stderr


@pytest.mark.slow
def test_sft_killed_then_resumed_registers_an_adapter_an_agent_uses(ws_dir: Path) -> None:
    add_gates(ws_dir, tiny=TINY_GATE)
    data = _corpus_slice(ws_dir, 12)
    args = ["train", "sft", *flags(name="tiny-sft", data=data, max_steps=4, save_steps=2, batch_size=2, grad_accum=1, rank=4, alpha=8)]
    process = _train_until_checkpoint(ws_dir, args, "tiny-sft")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    row = _store(ws_dir).adapter("tiny-sft")
    assert row is not None and row.status == "running" and row.curves["loss"][-1][0] <= 3

    again = run_parity(*args, cwd=ws_dir)
    assert again.returncode == 2 and "add --resume" in again.stderr
    resumed = run_parity(*args, "--resume", cwd=ws_dir)
    assert resumed.returncode == 0, resumed.stderr
    assert "adapter tiny-sft: 4 steps" in resumed.stdout
    row = _store(ws_dir).adapter("tiny-sft")
    assert row.status == "done" and row.recipe == "sft" and row.base_identity.startswith("sha256:")
    steps = [int(step) for step, _ in row.curves["loss"]]
    assert steps == sorted(set(steps)) and steps[-1] == 4  # no step recorded twice across the kill
    dataset = _store(ws_dir).dataset(row.dataset_fingerprint)
    assert dataset is not None and dataset.n_rows == 12 and dataset.provenance["source"] == str(data)
    assert (Path(row.path) / "adapter_config.json").is_file()

    write_agent(ws_dir, "tuned", "hf:smollm2-135m", adapter="tiny-sft", max_tokens=200)
    run = run_parity("run", "tuned", "--gate", "tiny", cwd=ws_dir)
    assert run.returncode == 0, run.stderr
    record = show_json(ws_dir)[-1]
    assert record["agent"] == "tuned" and record["n_cases"] == 2
    check_gguf_export_matches_adapter_on_base(ws_dir, "tiny-sft")
    check_serving_variants(ws_dir, "tiny-sft")


@pytest.mark.slow
def test_full_fine_tuning_leaves_a_whole_model_an_agent_serves_and_llama_cpp_runs_merged(ws_dir: Path) -> None:
    add_gates(ws_dir, tiny=TINY_GATE)
    data = _corpus_slice(ws_dir, 6)
    done = run_parity("train", "sft", *flags(name="full-1", data=data, max_steps=2, batch_size=2, grad_accum=1), "--full", cwd=ws_dir)
    assert done.returncode == 0, done.stderr
    assert "model: hf:.parity/adapters/full-1/adapter   (a whole model: no adapter: line)" in done.stdout
    row = _store(ws_dir).adapter("full-1")
    folder = Path(row.path)
    assert row.status == "done" and row.options["train"]["full"] is True and row.curves["loss"]
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file() and not (folder / "adapter_config.json").exists()

    write_agent(ws_dir, "whole", "hf:.parity/adapters/full-1/adapter", max_tokens=200)
    run = run_parity("run", "whole", "--gate", "tiny", cwd=ws_dir)
    assert run.returncode == 0, run.stderr
    assert show_json(ws_dir)[-1]["n_cases"] == 2
    exported = run_parity("export", "gguf", "full-1", "--quant", "f16", cwd=ws_dir)
    assert exported.returncode == 0, exported.stderr
    write_agent(ws_dir, "whole_gguf", f"llamacpp:{_store(ws_dir).adapter('full-1').summary['exports']['f16']}", max_tokens=200)
    served = run_parity("run", "whole_gguf", "--gate", "tiny", cwd=ws_dir)
    assert served.returncode == 0, served.stderr
    lora = run_parity("export", "gguf", "full-1", "--lora", cwd=ws_dir)
    assert lora.returncode == 2 and "it is a whole model, not a LoRA" in lora.stderr


@pytest.mark.slow
def test_rft_drafts_with_the_real_model_keeps_the_best_judged_and_trains_on_it(ws_dir: Path) -> None:
    done = run_parity("train", "rft", *flags(name="rft-1", inputs=3, drafts=2, max_steps=1, batch_size=2, grad_accum=1, rank=4), cwd=ws_dir)
    assert done.returncode == 0, done.stderr
    row = _store(ws_dir).adapter("rft-1")
    dataset = _store(ws_dir).dataset(row.dataset_fingerprint)
    assert row.status == "done" and dataset.kind == "rft" and dataset.provenance["inputs_drafted"] == 3
    assert dataset.provenance["judge"]["kind"] == "reference" and 0 <= dataset.provenance["mean_draft_quality"] <= 1
    rows = [json.loads(line) for line in Path(dataset.path).read_text().splitlines()]
    assert len(rows) == dataset.n_rows == 3 - sum(dataset.provenance["skipped"].values())
    assert all(len(json.loads(r["completion"][0]["content"])["questions"]) == 7 for r in rows)  # the agent's own drafts, parsed
    again = run_parity(
        "train", "rft", *flags(name="rft-2", inputs=3, drafts=2, max_steps=1, batch_size=2, grad_accum=1, rank=4), cwd=ws_dir
    )
    assert again.returncode == 0, again.stderr
    assert _store(ws_dir).adapter("rft-2").dataset_fingerprint == row.dataset_fingerprint  # the drafts came back from the cache


@pytest.mark.slow
def test_transformers_tokenizer_matches_llama_cpp_on_ruler_and_corpus(ws_dir: Path) -> None:
    """Training tokenizes with transformers, serving with llama.cpp: they must agree on every text,
    digits included (SmolLM2 splits numbers into single digits)."""
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    from parity.models.spec import embedded_model_path
    from parity.train.base import resolve_base

    base = resolve_base("smollm2-135m", ws_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(base.folder))
    engine = Llama(str(embedded_model_path("smollm2-135m")), vocab_only=True, verbose=False)
    texts = ["a budget of 12345 dollars in 2026, flight BA0117 at 07:45"]
    for name in ("ruler/cases.jsonl", "corpus/train.jsonl"):
        for line in (ws_dir / name).read_text().splitlines():
            row = json.loads(line)
            answers = [row.get("gold"), row.get("gold_alt"), row.get("answer")]
            texts += [row["input"]] + [json.dumps(a, ensure_ascii=False) for a in answers if a]
    mismatched = [
        t for t in texts if tokenizer.encode(t, add_special_tokens=False) != engine.tokenize(t.encode(), add_bos=False, special=False)
    ]
    assert not mismatched, mismatched[:3]
    assert len(texts) > 900
    digits = tokenizer.encode("12345", add_special_tokens=False)
    assert len(digits) == 5


def _greedy_free(model, agent, inputs: list[str], tokens: int) -> list[str]:
    import dataclasses

    return [model.complete(dataclasses.replace(agent.request(x), schema=None, max_tokens=tokens, temperature=0.0)).text for x in inputs]


def check_gguf_export_matches_adapter_on_base(ws_dir: Path, name: str) -> None:
    """The merged f16 export must be the same model as adapter-on-base: free greedy text agrees."""
    import gguf

    from parity.agent import load_agent
    from parity.models import open_model
    from parity.models.spec import parse_spec
    from parity.task import load_workspace

    ladder = run_parity("export", "gguf", name, "--quant", "f16,q8_0,q4_k_m", cwd=ws_dir)  # one merge for the three rungs
    assert ladder.returncode == 0, ladder.stderr
    assert "llama_model_loader" not in ladder.stderr and "falling back" not in ladder.stderr  # the quantizer log is not shown
    row = _store(ws_dir).adapter(name)
    assert set(row.summary["exports"]) == {"f16", "q8_0", "q4_k_m"}
    q4 = gguf.GGUFReader(row.summary["exports"]["q4_k_m"])
    assert q4.fields["parity.adapter"].contents().startswith(f"{name} (data ")
    assert q4.fields["general.file_type"].contents() == 15  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert Path(row.summary["exports"]["q4_k_m"]).stat().st_size < Path(row.summary["exports"]["q8_0"]).stat().st_size
    ws = load_workspace(ws_dir)
    agent = load_agent(ws, "baseline")
    inputs = [json.loads(line)["input"] for line in (ws_dir / "ruler" / "cases.jsonl").read_text().splitlines()[:3]]
    on_base = open_model(parse_spec("hf:smollm2-135m"), ws_dir, None, None, Path(row.path))
    merged = open_model(parse_spec(f"llamacpp:{row.summary['exports']['f16']}"), ws_dir, None, None, None)
    a, b = _greedy_free(on_base, agent, inputs, 48), _greedy_free(merged, agent, inputs, 48)
    assert sum(x == y for x, y in zip(a, b)) >= 2, list(zip(a, b))  # one near-tie may flip between engines
    for quant in ("q8_0", "q4_k_m"):
        quantized = open_model(parse_spec(f"llamacpp:{row.summary['exports'][quant]}"), ws_dir, None, None, None)
        assert all(text.strip() for text in _greedy_free(quantized, agent, inputs[:1], 16))
    missing = run_parity("export", "gguf", "nope", cwd=ws_dir)
    assert missing.returncode == 2 and "no trained adapter named 'nope'" in missing.stderr and "tiny-sft" in missing.stderr


def test_curves_record_each_logged_step_once_and_skip_the_run_average(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from parity.store import AdapterRow
    from parity.train.progress import RecordCurves

    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.save_adapter(AdapterRow(name="a", recipe="sft", base="b", base_identity="x", options={}, path="p"))
    callback = RecordCurves(store, "a", "sft a", curves={"loss": [[1, 3.0], [2, 2.9], [3, 2.8]]})  # resumed after step 2
    for step, logs in [(3, {"loss": 2.7, "learning_rate": 1e-4}), (4, {"loss": 2.6}), (4, {"train_loss": 2.75, "train_runtime": 9.0})]:
        callback.on_log(None, SimpleNamespace(global_step=step), None, logs=logs)
    assert store.adapter("a").curves == {"loss": [[1, 3.0], [2, 2.9], [3, 2.7], [4, 2.6]]}


@pytest.mark.slow
def test_onpolicy_pairs_then_dpo_and_orpo(ws_dir: Path) -> None:
    built = run_parity("pairs", "build", "--mode", "onpolicy", "--name", "p1", "--limit", "6", cwd=ws_dir)
    assert built.returncode == 0, built.stderr
    row = _latest_dataset(ws_dir)
    assert row.kind == "pairs-onpolicy" and row.n_rows >= 4 and row.provenance["agent"] == "baseline"
    pairs = [json.loads(line) for line in Path(row.path).read_text().splitlines()]
    assert all(p["chosen"] != p["rejected"] and p["prompt"][-1]["role"] == "user" for p in pairs)
    for recipe in ("dpo", "orpo"):
        options = flags(pairs="p1", name=f"{recipe}-1", max_steps=2, batch_size=2, grad_accum=1, rank=4)
        result = run_parity("train", recipe, *options, cwd=ws_dir)
        assert result.returncode == 0, result.stderr
        adapter = _store(ws_dir).adapter(f"{recipe}-1")
        assert adapter.status == "done" and adapter.dataset_fingerprint == row.fingerprint and adapter.curves["loss"]
    sft_data_for_dpo = run_parity("train", "dpo", "--name", "x", "--max-steps", "1", cwd=ws_dir)
    assert sft_data_for_dpo.returncode == 2 and "--pairs" in sft_data_for_dpo.stderr


def _latest_dataset(ws_dir: Path):
    datasets = _store(ws_dir).datasets()
    return datasets[-1] if datasets else None


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["grpo", "gad"])
def test_rl_recipes_record_reward_curves(ws_dir: Path, recipe: str) -> None:
    options = flags(name=f"{recipe}-1", max_steps=2, batch_size=2, num_generations=2, max_completion_length=64, rank=4)
    result = run_parity("train", recipe, *options, *(flags(discriminator_drafts=6) if recipe == "gad" else []), cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    adapter = _store(ws_dir).adapter(f"{recipe}-1")
    assert adapter.status == "done" and [step for step, _ in adapter.curves["reward"]] == [1, 2]
    assert "kl" in adapter.curves
    if recipe == "gad":
        assert adapter.curves["auc"] and all(0.0 <= auc <= 1.0 for _, auc in adapter.curves["auc"])
    shown = run_parity("show", cwd=ws_dir)
    assert f"adapter {recipe}-1: {recipe} on" in shown.stdout and "last reward" in shown.stdout and "last kl" in shown.stdout
    site = run_parity("export", "html", str(ws_dir / "site"), cwd=ws_dir)  # the dashboard's training page
    assert site.returncode == 0, site.stderr
    page = (ws_dir / "site" / "training.html").read_text()
    assert f'id="adapter-{recipe}-1"' in page and '"reward": [[1,' in page


def test_style_pairs_take_rejected_answers_from_the_other_style(ws_dir: Path) -> None:
    # A second teacher style to move away from: vague, compound questions.
    vague = [
        {
            "id": "travel-001",
            "answer": {"title": "Trip", "questions": ["When and where and how long?", "Budget and hotel?", "Anything else?"]},
        },
        {"id": "travel-002", "answer": "Honeymoon. What do you want? Where and when? How much?"},
        {"id": "nope-999", "answer": {"title": "x", "questions": ["y?"]}},
    ]
    rejected = ws_dir / "vague.jsonl"
    rejected.write_text("".join(json.dumps(v) + "\n" for v in vague))
    built = run_parity("pairs", "build", "--mode", "style", "--name", "style-1", "--rejected", str(rejected), cwd=ws_dir)
    assert built.returncode == 0, built.stderr
    row = _latest_dataset(ws_dir)
    assert row.kind == "pairs-style" and row.n_rows == 2 and row.provenance["rejected_from"] == str(rejected)
    pairs = {p["id"]: p for p in map(json.loads, Path(row.path).read_text().splitlines())}
    assert json.loads(pairs["travel-001"]["rejected"][0]["content"])["title"] == "Trip"
    assert pairs["travel-002"]["rejected"][0]["content"].startswith("Honeymoon.")
    assert json.loads(pairs["travel-001"]["chosen"][0]["content"])["title"] == "Cotswolds anniversary weekend from London"

    rejected.write_text(json.dumps({"id": "nope-1", "answer": "x"}) + "\n")
    unmatched = run_parity("pairs", "build", "--mode", "style", "--rejected", str(rejected), cwd=ws_dir)
    assert unmatched.returncode == 2 and "no id in" in unmatched.stderr
    missing = run_parity("pairs", "build", "--mode", "style", cwd=ws_dir)
    assert missing.returncode == 2 and "--rejected" in missing.stderr


def check_serving_variants(ws_dir: Path, name: str) -> None:
    """`parity analyze serving`: the adapter on its base, merged, two GGUF rungs, the GGUF LoRA on the f16
    and on the bundled Q4_1 base in process, and a real llama_cpp.server with the LoRA as an openai:
    endpoint, all on the identical ruler; one table in the store, each prompt checked against training's."""
    from parity.models.spec import embedded_model_path
    from tests.helpers.servers import LlamaServer

    lora = run_parity("export", "gguf", name, "--lora", cwd=ws_dir)
    assert lora.returncode == 0, lora.stderr
    lora_file = ws_dir / ".parity" / "exports" / f"{name}-lora.gguf"
    modelfile = (ws_dir / ".parity" / "exports" / f"{name}-lora.Modelfile").read_text()
    assert f"ADAPTER {lora_file}" in modelfile and "<|im_start|>{{ .Role }}" in modelfile and 'SYSTEM """You are a helpful' in modelfile
    write_agent(ws_dir, "on-device", "llamacpp:smollm2-135m", adapter=name, max_tokens=200)
    assert run_parity("run", "on-device", "--gate", "tiny", cwd=ws_dir).returncode == 0

    write_agent(ws_dir, "short", "llamacpp:smollm2-135m", max_tokens=200)
    with LlamaServer(ws_dir, embedded_model_path("smollm2-135m"), lora_file) as server:
        result = run_parity(
            "analyze", "serving", name, "--agent", "short", "--gate", "tiny", "--quant", "f16,q4_k_m",
            "--endpoint", f"openai:smollm2-lora@{server.base_url}", cwd=ws_dir,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    analysis = _store(ws_dir).analyses()[-1]
    assert analysis.kind == "serving"
    table = {row[0]: dict(zip(analysis.columns, row)) for row in analysis.rows}
    assert list(table) == [
        "adapter on base (transformers)",
        "merged (transformers)",
        "merged GGUF f16 (llama.cpp)",
        "merged GGUF q4_k_m (llama.cpp)",
        "GGUF LoRA on f16 base (llama.cpp)",
        "GGUF LoRA on q4_1 base (llama.cpp)",
        f"served openai:smollm2-lora@{server.base_url}",
    ]
    assert all(row["quality"] is not None for row in table.values())
    reference = table["adapter on base (transformers)"]
    assert reference["Δ vs adapter on base"] is None and reference["greedy agreement"] == 1.0
    for label, row in table.items():
        if "served" not in label:
            assert row["prompt as trained"] == "same", (label, analysis.params["prompt_parity"][label])
        else:
            assert row["prompt as trained"] == "count only", analysis.params["prompt_parity"][label]
    assert table["merged (transformers)"]["greedy agreement"] >= 0.5  # the same model, another summation order
    assert table["merged GGUF q4_k_m (llama.cpp)"]["size MB"] < table["merged GGUF f16 (llama.cpp)"]["size MB"]
    assert any(f.startswith(("cheapest variant within the noise", "no shipped variant")) for f in analysis.findings)
    experiments = {row.id: row for row in _store(ws_dir).experiments()}
    assert all(experiments[row["experiment"]].verdict == "reference" for row in table.values())  # never the running best
    report = run_parity("report", cwd=ws_dir)
    assert report.returncode == 0 and re.search(r"### #\d+ serving", report.stdout) and "Δ vs adapter on base" in report.stdout, (
        report.stderr
    )
    training = run_parity("export", "html", str(ws_dir / "serving-site"), cwd=ws_dir)
    assert training.returncode == 0 and "GGUF LoRA on q4_1 base" in (ws_dir / "serving-site" / "analyses.html").read_text()


def test_two_processes_train_one_adapter_through_accelerate_killed_and_resumed(ws_dir: Path) -> None:
    """`--launcher accelerate --num-processes 2` on the CPU (gloo): both processes train, only the main
    one writes; killed after its first checkpoint, `--resume` under the launcher finishes it; an agent
    evaluates the adapter."""
    add_gates(ws_dir, tiny=TINY_GATE)
    data = _corpus_slice(ws_dir, 12)
    args = ["train", "sft", *flags(name="ddp", data=data, max_steps=4, save_steps=2, batch_size=2, grad_accum=1, rank=4, alpha=8)]
    launcher = ["--launcher", "accelerate", "--num-processes", "2"]
    process = _train_until_checkpoint(ws_dir, [*args, *launcher], "ddp", {"OMP_NUM_THREADS": "1"})
    _kill_tree(process.pid)  # torchrun starts its workers in sessions of their own: each is killed by pid
    process.wait()
    row = _store(ws_dir).adapter("ddp")
    assert row is not None and row.status == "running"

    resumed = run_parity(*args, *launcher, "--resume", cwd=ws_dir, env={"OMP_NUM_THREADS": "1"})
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("adapter ddp: 4 steps") == 1  # the main process reports, the other is silent
    store = _store(ws_dir)
    assert [a.name for a in store.adapters()] == ["ddp"]
    row = store.adapter("ddp")
    assert row.status == "done" and row.options["placement"]["effective_batch"] == 2 * 1 * 2
    steps = [int(step) for step, _ in row.curves["loss"]]
    assert steps == sorted(set(steps)) and steps[-1] == 4  # one curve: no step written twice, by two processes or across the kill
    write_agent(ws_dir, "ddp-agent", "hf:smollm2-135m", adapter="ddp", max_tokens=200)
    run = run_parity("run", "ddp-agent", "--gate", "tiny", cwd=ws_dir)
    assert run.returncode == 0, run.stderr
    assert show_json(ws_dir)[-1]["n_cases"] == 2


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant, found through /proc (as a crash would end them all)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)

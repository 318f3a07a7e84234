"""Where training runs, decided without a GPU: the device auto picks, the precision each device gets,
QLoRA refused in one line where bitsandbytes cannot run it, gradient checkpointing by model size, the
LoRA targets by architecture, and what TrainingArguments and from_pretrained receive."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from parity.errors import ParityError
from parity.train.placement import (
    CHECKPOINTING_ABOVE,
    Device,
    Machine,
    Placement,
    Precision,
    Quantize,
    checkpointing,
    place,
    weights_params,
    world_size,
)
from parity.train.recipes.options import ALL_LINEAR, LLAMA_TARGETS, LoraOptions, TrainOptions, with_targets

CPU = Machine()
CPU_BF16 = Machine(cpu_bf16=True)
AMPERE = Machine(cuda=True, cuda_bf16=True, cuda_devices=2, bitsandbytes=True, cpu_bf16=True)
TURING = Machine(cuda=True, cuda_bf16=False, cuda_devices=1, bitsandbytes=False)
APPLE = Machine(mps=True, mps_bf16=False)
SMALL, LARGE = 135_000_000, 7_000_000_000


@pytest.mark.parametrize(
    ("machine", "device", "precision"),
    [
        (CPU, Device.CPU, Precision.FP32),
        (CPU_BF16, Device.CPU, Precision.BF16),
        (AMPERE, Device.CUDA, Precision.BF16),
        (TURING, Device.CUDA, Precision.FP16),
        (APPLE, Device.MPS, Precision.FP16),
        (Machine(mps=True, mps_bf16=True), Device.MPS, Precision.BF16),
        (Machine(cuda=True, mps=True, cuda_bf16=True), Device.CUDA, Precision.BF16),  # CUDA before MPS
    ],
)
def test_auto_picks_the_accelerator_and_its_native_precision(machine: Machine, device: Device, precision: Precision) -> None:
    placed = place("auto", "none", SMALL, machine)
    assert (placed.device, placed.precision, placed.quantize) == (device, precision, Quantize.NONE)


def test_the_cpu_can_be_asked_for_on_a_gpu_machine() -> None:
    placed = place("cpu", "none", SMALL, AMPERE)
    assert placed.device == Device.CPU and placed.precision == Precision.BF16  # this machine's CPU has native bf16
    assert placed.training_args() == {"use_cpu": True, "bf16": True, "fp16": False, "gradient_checkpointing": False}


@pytest.mark.parametrize(
    ("device", "quantize", "machine", "fragment"),
    [
        ("cuda", "none", CPU, "no CUDA device"),
        ("mps", "none", AMPERE, "no Apple GPU"),
        ("tpu", "none", CPU, "unknown device 'tpu'"),
        ("auto", "4bit", CPU, "--quantize 4bit (QLoRA) needs a CUDA GPU"),
        ("auto", "8bit", APPLE, "do not train on mps"),
        ("auto", "4bit", TURING, "needs bitsandbytes, which is not installed"),
        ("auto", "3bit", AMPERE, "unknown quantization '3bit'"),
    ],
)
def test_what_cannot_run_here_is_one_line(device: str, quantize: str, machine: Machine, fragment: str) -> None:
    with pytest.raises(ParityError) as caught:
        place(device, quantize, SMALL, machine)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_qlora_on_cuda_loads_4bit_with_the_compute_dtype_of_the_precision() -> None:
    pytest.importorskip("transformers")
    import torch

    placed = place("auto", "4bit", LARGE, AMPERE)
    assert placed == Placement(Device.CUDA, Precision.BF16, Quantize.FOUR_BIT, True)
    kwargs = placed.load_kwargs()
    config = kwargs["quantization_config"]
    assert config.load_in_4bit and config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_compute_dtype == torch.bfloat16
    assert kwargs["device_map"] == {"": 0}
    eight = place("cuda", "8bit", SMALL, Machine(cuda=True, bitsandbytes=True)).load_kwargs()
    assert eight["quantization_config"].load_in_8bit and eight["dtype"] == torch.float16
    assert place("auto", "none", SMALL, CPU).load_kwargs() == {"dtype": torch.float32}


def test_gradient_checkpointing_follows_the_model_size_unless_asked() -> None:
    assert place("auto", "none", CHECKPOINTING_ABOVE, CPU).gradient_checkpointing is False
    assert place("auto", "none", CHECKPOINTING_ABOVE + 1, CPU).gradient_checkpointing is True
    assert place("auto", "none", LARGE, CPU, checkpointing=False).gradient_checkpointing is False
    on = place("auto", "none", SMALL, CPU, checkpointing=True)
    assert on.training_args()["gradient_checkpointing_kwargs"] == {"use_reentrant": False}
    assert checkpointing(TrainOptions()) is None
    assert checkpointing(TrainOptions(gradient_checkpointing="on")) is True
    assert checkpointing(TrainOptions(gradient_checkpointing="OFF")) is False
    with pytest.raises(ParityError, match="unknown --gradient-checkpointing 'maybe'"):
        checkpointing(TrainOptions(gradient_checkpointing="maybe"))


def test_the_placement_record_is_plain_json() -> None:
    record = place("auto", "4bit", LARGE, AMPERE).record()
    assert json.loads(json.dumps(record)) == {"device": "cuda", "precision": "bf16", "quantize": "4bit", "gradient_checkpointing": True}


def _safetensors(path: Path, shapes: dict[str, list[int]]) -> None:
    header = {name: {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]} for name, shape in shapes.items()}
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)


def test_parameters_are_counted_from_the_headers_and_a_damaged_file_is_skipped(tmp_path: Path) -> None:
    _safetensors(tmp_path / "model-1.safetensors", {"a": [10, 20], "b": [5]})
    _safetensors(tmp_path / "model-2.safetensors", {"c": [3, 3, 3]})
    (tmp_path / "model-3.safetensors").write_bytes(b"\xff" * 12)
    assert weights_params(tmp_path) == 200 + 5 + 27


@pytest.mark.parametrize(
    ("model_type", "targets"),
    [
        ("llama", LLAMA_TARGETS),
        ("qwen2", LLAMA_TARGETS),
        ("gemma2", LLAMA_TARGETS),
        ("mistral", LLAMA_TARGETS),
        ("phi3", ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")),
        ("mamba", ALL_LINEAR),
    ],
)
def test_lora_targets_follow_the_architecture_unless_given(tmp_path: Path, model_type: str, targets: tuple[str, ...]) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert with_targets(LoraOptions(), tmp_path).targets == targets
    assert with_targets(LoraOptions(targets="q_proj,v_proj"), tmp_path).targets == ("q_proj", "v_proj")
    assert with_targets(LoraOptions(), tmp_path / "nowhere").targets == ALL_LINEAR


def test_world_size_reads_the_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert world_size() == 1
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert world_size() == 4
    monkeypatch.setenv("WORLD_SIZE", "-2")
    assert world_size() == 1

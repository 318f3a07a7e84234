"""Where training runs and in what precision, decided once from what the machine has: `--device
auto|cuda|mps|cpu`, `--quantize 4bit|8bit` (QLoRA through bitsandbytes, CUDA only) and gradient
checkpointing (on by default above a model size, where activations, not weights, fill the memory).
The decision is a plain value, so every rule is unit-tested without a GPU; `probe_machine` is the
only code that asks torch."""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from parity.errors import ParityError

# Above this many parameters gradient checkpointing is on unless asked otherwise: a 135M model's
# activations fit anywhere and recomputing them only costs time; a 1B+ model's do not fit a GPU's memory
# at useful batch sizes.
CHECKPOINTING_ABOVE = 1_000_000_000


class Device(StrEnum):
    AUTO = "auto"
    CUDA = "cuda"
    MPS = "mps"
    CPU = "cpu"


class Precision(StrEnum):
    BF16 = "bf16"
    FP16 = "fp16"
    FP32 = "fp32"


class Quantize(StrEnum):
    NONE = "none"
    FOUR_BIT = "4bit"
    EIGHT_BIT = "8bit"


@dataclass(frozen=True)
class Machine:
    """What this machine offers training (see `probe_machine`)."""

    cuda: bool = False
    cuda_bf16: bool = False  # Ampere or newer
    cuda_devices: int = 0
    mps: bool = False
    mps_bf16: bool = False
    cpu_bf16: bool = False  # native bf16 (AVX512-BF16 or AMX); emulated bf16 is slower than fp32
    bitsandbytes: bool = False


@dataclass(frozen=True)
class Placement:
    device: Device
    precision: Precision
    quantize: Quantize
    gradient_checkpointing: bool

    def training_args(self) -> dict[str, Any]:
        """The TrainingArguments fields this placement sets."""
        return {
            "use_cpu": self.device == Device.CPU,
            "bf16": self.precision == Precision.BF16,
            "fp16": self.precision == Precision.FP16,
            "gradient_checkpointing": self.gradient_checkpointing,
            # Non-reentrant checkpointing is what works with a frozen base under LoRA (the reentrant kind needs inputs that require grad).
            **({"gradient_checkpointing_kwargs": {"use_reentrant": False}} if self.gradient_checkpointing else {}),
        }

    def load_kwargs(self) -> dict[str, Any]:
        """`from_pretrained` arguments: the dtype the weights load in, and the 4/8-bit config for QLoRA."""
        import torch

        if self.quantize == Quantize.NONE:
            # Mixed precision trains from fp32 master weights; only the autocast runs in bf16/fp16.
            return {"dtype": torch.float32}
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if self.precision == Precision.BF16 else torch.float16
        if self.quantize == Quantize.FOUR_BIT:
            config = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute, bnb_4bit_use_double_quant=True
            )
        else:
            config = BitsAndBytesConfig(load_in_8bit=True)
        return {"dtype": compute, "quantization_config": config, "device_map": {"": 0}}

    def record(self) -> dict[str, Any]:
        return {key: str(value) if isinstance(value, StrEnum) else value for key, value in asdict(self).items()}


def probe_machine() -> Machine:
    import torch

    cuda = bool(torch.cuda.is_available())
    mps_backend = getattr(torch.backends, "mps", None)
    mps = bool(mps_backend is not None and mps_backend.is_available())
    return Machine(
        cuda=cuda,
        cuda_bf16=cuda and bool(torch.cuda.is_bf16_supported()),
        cuda_devices=torch.cuda.device_count() if cuda else 0,
        mps=mps,
        mps_bf16=mps and _mps_bf16(),
        cpu_bf16=cpu_bf16(),
        bitsandbytes=importlib.util.find_spec("bitsandbytes") is not None,
    )


def _mps_bf16() -> bool:
    import torch

    try:
        torch.zeros(1, dtype=torch.bfloat16, device="mps")
    except (RuntimeError, TypeError):
        return False
    return True


def cpu_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def place(device: str, quantize: str, n_params: int, machine: Machine, checkpointing: bool | None = None) -> Placement:
    """The placement for a run: the device asked for (auto: CUDA, else MPS, else the CPU), bf16 where
    it is native, fp16 on an accelerator without it, fp32 on a CPU without it; quantization only where
    bitsandbytes can run it; checkpointing on above CHECKPOINTING_ABOVE unless asked."""
    chosen = _device(device, machine)
    quant = _quantize(quantize, chosen, machine)
    if chosen == Device.CUDA:
        precision = Precision.BF16 if machine.cuda_bf16 else Precision.FP16
    elif chosen == Device.MPS:
        precision = Precision.BF16 if machine.mps_bf16 else Precision.FP16
    else:
        precision = Precision.BF16 if machine.cpu_bf16 else Precision.FP32
    checkpoint = checkpointing if checkpointing is not None else n_params > CHECKPOINTING_ABOVE
    return Placement(chosen, precision, quant, checkpoint)


def _device(device: str, machine: Machine) -> Device:
    try:
        asked = Device(device)
    except ValueError:
        raise ParityError(f"unknown device '{device}'", "--device", "use auto, cuda, mps or cpu") from None
    if asked == Device.AUTO:
        return Device.CUDA if machine.cuda else Device.MPS if machine.mps else Device.CPU
    if asked == Device.CUDA and not machine.cuda:
        raise ParityError(
            "no CUDA device: torch sees none (torch.cuda.is_available() is False)",
            "--device cuda",
            "install a CUDA build of torch on a machine with an NVIDIA GPU, or use --device auto",
        )
    if asked == Device.MPS and not machine.mps:
        raise ParityError("no Apple GPU (MPS) here", "--device mps", "use --device auto, or cpu")
    return asked


def _quantize(quantize: str, device: Device, machine: Machine) -> Quantize:
    try:
        asked = Quantize(quantize)
    except ValueError:
        raise ParityError(f"unknown quantization '{quantize}'", "--quantize", "use 4bit, 8bit or none") from None
    if asked == Quantize.NONE:
        return asked
    if device != Device.CUDA:
        raise ParityError(
            f"--quantize {asked} (QLoRA) needs a CUDA GPU: bitsandbytes' 4/8-bit kernels do not train on {device}",
            "--quantize",
            "leave --quantize out on this machine, or train on a CUDA GPU",
        )
    if not machine.bitsandbytes:
        raise ParityError(f"--quantize {asked} needs bitsandbytes, which is not installed", "--quantize", "pip install bitsandbytes")
    return asked


def checkpointing(options: Any) -> bool | None:
    """`--gradient-checkpointing auto|on|off` as place() takes it (None: decided by the model's size)."""
    value = str(options.gradient_checkpointing).lower()
    if value not in ("auto", "on", "off"):
        raise ParityError(f"unknown --gradient-checkpointing '{value}'", "--gradient-checkpointing", "use auto, on or off")
    return None if value == "auto" else value == "on"


def world_size() -> int:
    """How many processes train together (Accelerate and torchrun set WORLD_SIZE); 1 alone."""
    import os

    text = os.environ.get("WORLD_SIZE", "1")
    return int(text) if text.isdigit() and int(text) > 0 else 1


def weights_params(folder: Path) -> int:
    """The number of parameters in a transformers folder, from its safetensors headers (no weights read)."""
    import json
    import struct

    total = 0
    for file in folder.glob("*.safetensors"):
        try:
            with file.open("rb") as handle:
                size = struct.unpack("<Q", handle.read(8))[0]
                header = json.loads(handle.read(min(size, 100_000_000)))
            for name, entry in header.items():
                if name != "__metadata__":
                    count = 1
                    for n in entry["shape"]:
                        count *= int(n)
                    total += count
        except (OSError, ValueError, struct.error, KeyError, TypeError, AttributeError):
            continue  # a damaged file: loading the base says so, in its own words
    return total

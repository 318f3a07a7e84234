"""The options every recipe shares, typed: the LoRA adapter's shape and the optimizer's run. A recipe's
own options model subclasses `TrainOptions`, adding its fields and changing defaults with the aliases
below (they carry the help and the flag, so `parity train RECIPE` is generated from the model).

A field with a description is a `parity train` option; one without is set by code only."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# All of a llama-architecture block's linear layers: the usual LoRA targets for small models.
LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# Every linear layer of a block, by transformers' model_type; any other architecture gets PEFT's
# "all-linear" (every linear layer but the output head), which PEFT resolves to names when it trains.
ARCHITECTURE_TARGETS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "gemma3_text", "olmo2", "granite"), LLAMA_TARGETS),
    "phi3": ("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
    "phi": ("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2"),
    "gpt2": ("c_attn", "c_proj", "c_fc"),
    "gpt_neox": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
    "falcon": ("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"),
}
ALL_LINEAR = ("all-linear",)


def option(help: str, flag: str | None = None, **bounds: Any) -> Any:
    """A field shown as `--flag` (default: the field's name with dashes) with this help, within `bounds`
    (pydantic's gt, ge, le, allow_inf_nan): an out-of-range value is refused before anything is recorded."""
    return Field(description=help, json_schema_extra={"flag": flag} if flag else None, **bounds)


Epochs = Annotated[float, option("Passes over the data.", gt=0, allow_inf_nan=False)]
MaxSteps = Annotated[int, option("Optimizer steps; overrides --epochs when > 0.", ge=-1)]
LearningRate = Annotated[float, option("Learning rate.", "--lr", gt=0, allow_inf_nan=False)]
BatchSize = Annotated[int, option("Examples per device step.", ge=1)]
GradAccum = Annotated[int, option("Steps accumulated per optimizer step.", ge=1)]
MaxLength = Annotated[int, option("Tokens per example (longer ones are truncated).", ge=16)]
Seed = Annotated[int, option("Seed for data order and LoRA init.", ge=0)]
SaveSteps = Annotated[int, option("Checkpoint every this many optimizer steps.", ge=1)]
DeviceOpt = Annotated[str, option("Where to train: auto (CUDA, else MPS, else the CPU), cuda, mps or cpu.", "--device")]
QuantizeOpt = Annotated[str, option("Load the base in 4bit or 8bit through bitsandbytes (QLoRA; CUDA only), or none.", "--quantize")]
CheckpointingOpt = Annotated[str, option("Gradient checkpointing: auto (on above 1B parameters), on or off.", "--gradient-checkpointing")]
FullOpt = Annotated[
    bool,
    option("Fine-tune every weight of the base instead of a LoRA adapter; the result is a whole model (serve it as hf:FOLDER).", "--full"),
]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoraOptions(Options):
    rank: Annotated[int, option("LoRA rank.", ge=1)] = 16
    alpha: Annotated[int, option("LoRA alpha.", ge=1)] = 32
    dropout: float = Field(default=0.05, ge=0, lt=1)
    targets: Annotated[tuple[str, ...], option("Comma-separated module names LoRA adapts (default: by architecture).")] = ()

    @field_validator("targets", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return tuple(t.strip() for t in value.split(",") if t.strip()) if isinstance(value, str) else value


class TrainOptions(Options):
    """The optimizer's run, as every recipe records it; a recipe's own fields go to the record's `extra`."""

    epochs: Epochs = 1.0
    max_steps: MaxSteps = -1  # > 0 overrides epochs
    learning_rate: LearningRate = 2e-4
    batch_size: BatchSize = 4
    grad_accum: GradAccum = 2
    max_length: MaxLength = 768
    seed: Seed = 0
    save_steps: SaveSteps = 25
    device: DeviceOpt = "auto"
    quantize: QuantizeOpt = "none"
    gradient_checkpointing: CheckpointingOpt = "auto"
    full: FullOpt = False
    logging_steps: int = 1  # every optimizer step: a step takes seconds on a CPU, a store write milliseconds

    def record(self) -> dict[str, Any]:
        """The adapter's stored `train` options: the shared fields, and the recipe's own under `extra`."""
        values = self.model_dump()
        shared = {name: values.pop(name) for name in TrainOptions.model_fields}
        return {**shared, "extra": values}


def flag(name: str, field: Any) -> str:
    """The command-line flag of an options field."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    return str(extra.get("flag") or "--" + name.replace("_", "-"))


def with_targets(lora: LoraOptions, base_folder: Any) -> LoraOptions:
    """The LoRA options with targets chosen by the base's architecture when none were given."""
    import json
    from pathlib import Path

    if lora.targets:
        return lora
    try:
        model_type = str(json.loads((Path(base_folder) / "config.json").read_text(encoding="utf-8")).get("model_type", ""))
    except (OSError, ValueError, AttributeError):
        model_type = ""
    return lora.model_copy(update={"targets": ARCHITECTURE_TARGETS.get(model_type, ALL_LINEAR)})

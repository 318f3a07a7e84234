"""Where an RL recipe (GRPO, GAD) samples its drafts: transformers' `generate` on the training model, or
vLLM through TRL, colocated on the training GPU or on a `trl vllm-serve` server. Decided once, before any
work, from `--rollouts` and what the machine has; the decision is a plain value, unit-tested without a GPU."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from parity.errors import ParityError
from parity.train.placement import Device


class Rollouts(StrEnum):
    AUTO = "auto"
    TRANSFORMERS = "transformers"
    VLLM_COLOCATE = "vllm-colocate"
    VLLM_SERVER = "vllm-server"


@dataclass(frozen=True)
class RolloutEngine:
    kind: Rollouts  # never AUTO
    server: str = ""

    def grpo_args(self) -> dict[str, Any]:
        """The GRPOConfig fields this engine sets."""
        if self.kind == Rollouts.VLLM_COLOCATE:
            return {"use_vllm": True, "vllm_mode": "colocate"}
        if self.kind == Rollouts.VLLM_SERVER:
            return {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": self.server}
        return {"use_vllm": False}


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def choose_rollouts(asked: str, server: str, device: Device, vllm: bool) -> RolloutEngine:
    """auto: a given server, else vLLM colocated where it can run (a CUDA GPU with vLLM installed), else
    transformers. vLLM is refused in one line where it cannot run: TRL's vLLM paths (colocated, and the
    server's weight sync over NCCL) need vLLM installed and a CUDA GPU on the training side."""
    try:
        kind = Rollouts(asked)
    except ValueError:
        raise ParityError(f"unknown --rollouts '{asked}'", "--rollouts", "use auto, transformers, vllm-colocate or vllm-server") from None
    if kind == Rollouts.AUTO:
        kind = Rollouts.VLLM_SERVER if server else Rollouts.VLLM_COLOCATE if device == Device.CUDA and vllm else Rollouts.TRANSFORMERS
    if server and kind != Rollouts.VLLM_SERVER:
        raise ParityError(
            f"--vllm-server is only for --rollouts vllm-server, not {kind}", "--vllm-server", "leave it out, or use vllm-server"
        )
    if kind == Rollouts.TRANSFORMERS:
        return RolloutEngine(kind)
    if kind == Rollouts.VLLM_SERVER:
        _check_server(server)
    if not vllm:
        raise ParityError(f"--rollouts {kind} needs vLLM, which is not installed", "--rollouts", "pip install vllm, or use transformers")
    if device != Device.CUDA:
        raise ParityError(
            f"--rollouts {kind} needs a CUDA GPU on the training side; this run trains on {device}",
            "--rollouts",
            "use --rollouts transformers here, or train on a CUDA GPU",
        )
    return RolloutEngine(kind, server)


def _check_server(server: str) -> None:
    if not server:
        raise ParityError(
            "--rollouts vllm-server needs the server's URL",
            "--vllm-server",
            "start `trl vllm-serve --model BASE` and pass its http://HOST:PORT",
        )
    try:
        parsed = urlparse(server)
        parsed.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path not in ("", "/"):
        raise ParityError(f"--vllm-server '{server[:200]}' is not an http(s)://HOST:PORT URL", "--vllm-server", "e.g. http://10.0.0.2:8000")

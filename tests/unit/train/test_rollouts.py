"""Where GRPO and GAD sample their drafts, decided without a GPU: auto picks vLLM only where it can run,
vLLM is refused in one line elsewhere (before any work), and TRL's GRPOConfig takes what is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.errors import ParityError
from parity.train.placement import Device, Placement, Precision, Quantize
from parity.train.recipes.gad import GadOptions
from parity.train.recipes.grpo import RECIPE as GRPO
from parity.train.recipes.grpo import GrpoOptions
from parity.train.rollouts import RolloutEngine, Rollouts, choose_rollouts
from tests.helpers.cli import run_parity

SERVER = "http://10.0.0.2:8000"


@pytest.mark.parametrize(
    ("asked", "server", "device", "vllm", "kind"),
    [
        ("auto", "", Device.CPU, True, Rollouts.TRANSFORMERS),
        ("auto", "", Device.MPS, True, Rollouts.TRANSFORMERS),
        ("auto", "", Device.CUDA, False, Rollouts.TRANSFORMERS),
        ("auto", "", Device.CUDA, True, Rollouts.VLLM_COLOCATE),
        ("auto", SERVER, Device.CUDA, True, Rollouts.VLLM_SERVER),
        ("transformers", "", Device.CUDA, True, Rollouts.TRANSFORMERS),
        ("vllm-colocate", "", Device.CUDA, True, Rollouts.VLLM_COLOCATE),
        ("vllm-server", SERVER, Device.CUDA, True, Rollouts.VLLM_SERVER),
    ],
)
def test_auto_uses_vllm_only_where_it_can_run(asked: str, server: str, device: Device, vllm: bool, kind: Rollouts) -> None:
    assert choose_rollouts(asked, server, device, vllm) == RolloutEngine(kind, server)


@pytest.mark.parametrize(
    ("asked", "server", "device", "vllm", "fragment"),
    [
        ("vllm", "", Device.CUDA, True, "unknown --rollouts 'vllm'"),
        ("vllm-colocate", "", Device.CUDA, False, "--rollouts vllm-colocate needs vLLM, which is not installed"),
        ("vllm-colocate", "", Device.CPU, True, "needs a CUDA GPU on the training side; this run trains on cpu"),
        ("vllm-server", "", Device.CUDA, True, "--rollouts vllm-server needs the server's URL"),
        ("vllm-server", "10.0.0.2:8000", Device.CUDA, True, "is not an http(s)://HOST:PORT URL"),
        ("vllm-server", "http://h:port", Device.CUDA, True, "is not an http(s)://HOST:PORT URL"),
        ("vllm-server", "http://[::1", Device.CUDA, True, "is not an http(s)://HOST:PORT URL"),
        ("vllm-server", "http://h:8000/v1", Device.CUDA, True, "is not an http(s)://HOST:PORT URL"),
        ("vllm-server", SERVER, Device.MPS, True, "this run trains on mps"),
        ("transformers", SERVER, Device.CUDA, True, "--vllm-server is only for --rollouts vllm-server"),
    ],
)
def test_what_cannot_run_is_one_line(asked: str, server: str, device: Device, vllm: bool, fragment: str) -> None:
    with pytest.raises(ParityError) as raised:
        choose_rollouts(asked, server, device, vllm)
    assert fragment in str(raised.value) and "\n" not in str(raised.value)


def test_trl_takes_the_chosen_engine() -> None:
    from trl import GRPOConfig

    for engine in (
        RolloutEngine(Rollouts.VLLM_COLOCATE),
        RolloutEngine(Rollouts.VLLM_SERVER, SERVER),
        RolloutEngine(Rollouts.TRANSFORMERS),
    ):
        config = GRPOConfig(output_dir="/nonexistent", use_cpu=True, **engine.grpo_args())
        assert config.use_vllm == (engine.kind != Rollouts.TRANSFORMERS)
        if engine.kind == Rollouts.VLLM_SERVER:
            assert config.vllm_mode == "server" and config.vllm_server_base_url == SERVER
        elif engine.kind == Rollouts.VLLM_COLOCATE:
            assert config.vllm_mode == "colocate"


def test_the_recipe_records_auto_resolved() -> None:
    cpu = Placement(Device.CPU, Precision.FP32, Quantize.NONE, False)
    assert GRPO.check(GrpoOptions(), cpu).rollouts == "transformers"
    assert GRPO.check(GadOptions(discriminator_drafts=8), cpu).record()["extra"]["rollouts"] == "transformers"


def test_vllm_asked_for_here_is_refused_before_any_work(ws_dir: Path) -> None:
    refused = run_parity("train", "grpo", "--rollouts", "vllm-colocate", "--max-steps", "1", cwd=ws_dir)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "vllm-colocate" in refused.stderr and not (ws_dir / ".parity" / "adapters").exists()

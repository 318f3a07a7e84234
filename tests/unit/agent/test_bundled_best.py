"""The bundled `best` agent is the climb's running best as the loop evaluated it, and rebuilding it
takes the commands its header and the README give; without its adapter it is refused in one line."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from parity.examples import write_example
from parity.loop.proposal import apply_patch
from parity.train.base import serving_spec
from tests.helpers.cli import invoke_parity

ROOT = Path(__file__).resolve().parents[3]


def _agents(ws: Path) -> tuple[dict, dict]:
    read = lambda name: yaml.safe_load((ws / "agents" / f"{name}.yaml").read_text())  # noqa: E731
    return read("best"), read("baseline")


def test_best_is_the_baseline_served_with_the_sft_adapter_as_the_loop_built_it(tmp_path: Path) -> None:
    best, baseline = _agents(write_example("discovery", tmp_path / "ws"))
    trial = apply_patch(baseline, {"model": serving_spec(baseline["model"]), "adapter": "sft-e2"})
    assert best == trial


def test_the_rebuild_command_in_the_header_is_the_one_the_readme_gives(tmp_path: Path) -> None:
    header = (write_example("discovery", tmp_path / "ws") / "agents" / "best.yaml").read_text()
    commands = re.findall(r"^#\s+(parity train [^#\n]*?)\s*(?:#|$)", header, flags=re.M)
    assert commands == ["parity train sft --name sft-e2 --epochs 2 --lr 3e-4"]
    assert commands[0] in (ROOT / "README.md").read_text()


def test_best_without_its_adapter_is_refused_in_one_line_naming_the_command(tmp_path: Path) -> None:
    ws = write_example("discovery", tmp_path / "ws")
    result = invoke_parity("run", "best", "--gate", "dev", cwd=ws)
    assert result.returncode == 2, result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: agents/best.yaml: adapter not found: 'sft-e2'"), result.stderr
    assert "parity train RECIPE --name sft-e2" in lines[0]

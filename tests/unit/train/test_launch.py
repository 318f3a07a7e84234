"""`--launcher accelerate`: the command the launched processes run, Accelerate's launch line, which
process writes, and every bad launcher option refused in one line before anything starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from parity.errors import ParityError
from parity.train.launch import accelerate_command, is_main_process, relaunch, without_launcher_flags

COMMAND = ["train", "sft", "--name", "a", "--launcher", "accelerate", "--num-processes", "2", "--max-steps=4", "--accelerate-config=c.yaml"]


def test_the_launched_processes_run_the_command_without_the_launcher_flags() -> None:
    assert without_launcher_flags(COMMAND) == ["train", "sft", "--name", "a", "--max-steps=4"]


def test_accelerate_launches_parity_as_a_module_with_its_processes(tmp_path: Path) -> None:
    line = accelerate_command(COMMAND, 2, None)
    assert line[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert line[line.index("--num_processes") + 1] == "2" and "--multi_gpu" in line and "--config_file" not in line
    assert line[line.index("-m", 3) :] == ["-m", "parity", "train", "sft", "--name", "a", "--max-steps=4"]
    config = tmp_path / "fsdp.yaml"
    with_config = accelerate_command(COMMAND, 4, config)
    assert with_config[with_config.index("--config_file") + 1] == str(config) and "--multi_gpu" not in with_config
    assert "--multi_gpu" not in accelerate_command(COMMAND, 1, None)


def test_only_rank_zero_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    assert is_main_process()
    monkeypatch.setenv("RANK", "0")
    assert is_main_process()
    monkeypatch.setenv("RANK", "1")
    assert not is_main_process()


@pytest.mark.parametrize(
    ("launcher", "processes", "config", "fragment"),
    [
        ("slurm", 2, None, "unknown launcher 'slurm'"),
        ("accelerate", 0, None, "--num-processes must be at least 1"),
        ("accelerate", 2, "missing.yaml", "no accelerate config at"),
    ],
)
def test_bad_launcher_options_are_one_line(tmp_path: Path, launcher: str, processes: int, config: str | None, fragment: str) -> None:
    with pytest.raises(ParityError) as caught:
        relaunch(COMMAND, launcher, processes, tmp_path / config if config else None)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)

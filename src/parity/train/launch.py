"""`parity train RECIPE … --launcher accelerate --num-processes N [--accelerate-config FILE]`: the same
command, run data-parallel by Accelerate's own launcher (`accelerate launch -m parity train …`), which
starts N processes (DDP; FSDP or DeepSpeed ZeRO from an accelerate config file) and sets their ranks.
parity writes its own files from the main process only: the store rows, the curves and the adapter;
the other processes train and stay silent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from parity.errors import ParityError

LAUNCHED = "PARITY_LAUNCHED"  # set in the processes Accelerate starts, so they train instead of launching again
LAUNCHER_FLAGS = {"--launcher": True, "--num-processes": True, "--accelerate-config": True}  # flag -> takes a value


def is_main_process() -> bool:
    """Rank 0 of a launched run, or a run that was not launched at all."""
    rank = os.environ.get("RANK", "0")
    return not rank.isdigit() or int(rank) == 0


def launched() -> bool:
    return os.environ.get(LAUNCHED) == "1"


def without_launcher_flags(argv: list[str]) -> list[str]:
    """The command line the launched processes run: this one, less the launcher's own flags."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name, eq, _ = arg.partition("=")
        if name in LAUNCHER_FLAGS:
            skip = LAUNCHER_FLAGS[name] and not eq
            continue
        kept.append(arg)
    return kept


def accelerate_command(argv: list[str], num_processes: int, config: Path | None) -> list[str]:
    """`accelerate launch` for this command. Without a config file, several processes on one machine
    are Accelerate's multi-process launch (torchrun underneath: NCCL on GPUs, gloo on CPUs)."""
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(num_processes), "--num_machines", "1"]
    if config is not None:
        launch += ["--config_file", str(config)]
    elif num_processes > 1:
        launch += ["--multi_gpu"]  # Accelerate's name for its multi-process launcher; on a CPU the processes use gloo
    launch += ["--mixed_precision", "no", "--dynamo_backend", "no"]  # parity's placement decides the precision
    return [*launch, "-m", "parity", *without_launcher_flags(argv)]


def relaunch(argv: list[str], launcher: str, num_processes: int, config: Path | None) -> int:
    """Run this training command under the launcher and return its exit status."""
    if launcher != "accelerate":
        raise ParityError(f"unknown launcher '{launcher}'", "--launcher", "use accelerate, or leave --launcher out")
    if num_processes < 1:
        raise ParityError("--num-processes must be at least 1", "--num-processes", "pass the number of processes (GPUs) to train on")
    if config is not None and not config.is_file():
        raise ParityError(f"no accelerate config at {config}", "--accelerate-config", "write one with `accelerate config`, or leave it out")
    env = {**os.environ, LAUNCHED: "1"}
    process = subprocess.Popen(accelerate_command(argv, num_processes, config), env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # torchrun stops its workers on SIGINT; killed outright, it would leave them training on their own.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.terminate()
        raise

"""The command groups in-process: each `--help` lists exactly its commands (one command per job), and
input refused before any work starts is one line on stderr with exit code 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.cli import invoke_parity

GROUPS = {
    (): [
        "init",
        "gold",
        "run",
        "show",
        "compare",
        "calibrate",
        "loop",
        "program",
        "dashboard",
        "report",
        "ruler",
        "export",
        "train",
        "pairs",
        "analyze",
        "corpus",
    ],
    ("ruler",): ["verify", "lock", "restore", "check"],
    ("export",): ["gguf", "html"],
    ("analyze",): ["blind", "factors", "noise", "ceiling", "serving", "probe", "critic"],
    ("pairs",): ["build"],
    ("corpus",): ["synth", "import"],
}


def _listed(help_text: str) -> list[str]:
    """The command names of the help's Commands panel, in order."""
    panel = help_text.split("Commands ", 1)[1]
    return re.findall(r"^│ (\S+)\s", panel, re.M)


@pytest.mark.parametrize("group", list(GROUPS), ids=lambda g: " ".join(g) or "parity")
def test_each_group_lists_its_commands(tmp_path: Path, group: tuple[str, ...]) -> None:
    shown = invoke_parity(*group, "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert _listed(shown.stdout) == GROUPS[group]


def test_train_lists_a_command_per_recipe(tmp_path: Path) -> None:
    shown = invoke_parity("train", "--help", cwd=tmp_path)
    assert shown.returncode == 0 and {"sft", "dpo", "orpo"} <= set(_listed(shown.stdout))


@pytest.mark.parametrize(
    "args",
    [["rejudge", "1"], ["export", "--html", "site"], ["export", "sft-corpus", "--gguf"]],
    ids=["rejudge", "export --html", "export --gguf"],
)
def test_the_old_forms_are_gone(ws_dir: Path, args: list[str]) -> None:
    refused = invoke_parity(*args, cwd=ws_dir)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and refused.stderr.startswith("error: ")


def _one_line(result, fragment: str) -> None:
    assert result.returncode == 2, result.stderr + result.stdout
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "baseline", "--gate", "nightly"], "unknown gate 'nightly'"),
        (["run", "baseline", "--confirm", "--gate", "full"], "--confirm screens on the 'dev' gate and decides on 'full'"),
        (["run"], "name an agent, or --resume an experiment (not both)"),
        (["analyze", "noise", "9", "--times", "3"], "no experiment #9"),
        (["calibrate"], "say what to calibrate against"),
        (["calibrate", "--fit", "v2.json"], "--fit needs the labels to fit on"),
        (["calibrate", "--against", "reference"], "no experiments with stored answers on this ruler"),
        (["ruler", "restore"], "the store has no copy of ruler"),
        (["loop"], "the loop needs a limit"),
        (["export", "gguf", "nope"], "no trained adapter named 'nope'"),
    ],
)
def test_refused_input_is_one_line_and_exit_2(ws_dir: Path, args: list[str], fragment: str) -> None:
    """Also no progress bar before the error: the bar shows only once work has begun."""
    _one_line(invoke_parity(*args, cwd=ws_dir), fragment)


@pytest.mark.parametrize("args", [["show"], ["export", "html", "site"], ["analyze", "factors"], ["ruler", "verify"]])
def test_a_missing_workspace_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str]) -> None:
    _one_line(invoke_parity(*args, cwd=tmp_path), "not a parity workspace")
    assert list(tmp_path.iterdir()) == []

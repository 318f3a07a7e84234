"""`parity export gguf --quant`: a ladder of rungs, each a known weight type; refused in one line before
anything is loaded or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import invoke_parity


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--quant", "q3"], "unknown quantization 'q3'"),
        (["--quant", "f16,q4_k_s"], "unknown quantization 'q4_k_s'"),
        (["--quant", " , "], "unknown quantization"),
        (["--quant", "f16,q4_k_m", "--out", "one.gguf"], "--out names one file"),
        (["--quant", "f16", "--lora", "--out", "one.gguf"], "--out names one file"),
    ],
)
def test_a_bad_ladder_is_refused_in_one_line(ws_dir: Path, args: list[str], fragment: str) -> None:
    result = invoke_parity("export", "gguf", "any", *args, cwd=ws_dir)
    assert result.returncode == 2 and fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (ws_dir / ".parity" / "exports").exists() and not (ws_dir / "one.gguf").exists()


def test_a_good_ladder_gets_as_far_as_the_adapter(ws_dir: Path) -> None:
    result = invoke_parity("export", "gguf", "nope", "--quant", "q8_0,q6_k,q5_k_m,q4_k_m", cwd=ws_dir)
    assert result.returncode == 2 and "no trained adapter named 'nope'" in result.stderr


def test_lora_alone_gets_as_far_as_the_adapter(ws_dir: Path) -> None:
    result = invoke_parity("export", "gguf", "nope", "--lora", cwd=ws_dir)
    assert result.returncode == 2 and "no trained adapter named 'nope'" in result.stderr

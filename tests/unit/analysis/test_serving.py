"""`analyze serving`'s own arithmetic: which answer units agree, tokens per second, shipped sizes, and the
findings (within the noise, the cheapest such variant, what Q4_K_M costs, prompts that are not training's)."""

from __future__ import annotations

from pathlib import Path

from parity.analysis.prompt_parity import PromptParity
from parity.analysis.serving import REFERENCE, answer_units, findings, greedy_agreement, shipped_mb, tokens_per_s
from parity.store import CaseRow


def _row(case: str, answer: dict | None, tokens: int = 10, latency: float = 1.0) -> CaseRow:
    return CaseRow(case_id=case, answer=answer, completion_tokens=tokens, latency_s=latency)


def _q(title: str, *questions: str) -> dict:
    return {"title": title, "questions": list(questions)}


def test_answer_units_are_the_title_and_questions_each_json_field_or_the_text() -> None:
    assert answer_units(_q("Paris", "When?", "Budget?")) == ["Paris", "When?", "Budget?"]
    assert answer_units({"json": {"b": [1, 2], "a": "x"}}) == ['a="x"', "b=[1, 2]"]
    assert answer_units({"text": " Hello. "}) == ["Hello."]
    assert answer_units(None) == []


def test_greedy_agreement_counts_units_in_place_and_a_missing_answer_as_disagreement() -> None:
    reference = [_row("a", _q("T", "1?", "2?", "3?")), _row("b", _q("U", "x?")), _row("c", _q("V", "y?"))]
    other = [_row("a", _q("T", "1?", "3?", "2?")), _row("b", None), _row("c", _q("V", "y?", "extra?"))]
    # a: T and 1? in place, 3? and 2? swapped (2 of 4); b: nothing (0 of 2); c: V and y?, one extra (2 of 3)
    assert greedy_agreement(reference, other) == (2 + 0 + 2) / (4 + 2 + 3)
    assert greedy_agreement(reference, reference) == 1.0
    assert greedy_agreement(reference, []) is None


def test_tokens_per_s_skips_rows_without_timing(tmp_path: Path) -> None:
    assert tokens_per_s([_row("a", None, 30, 1.0), _row("b", None, 10, 1.0), _row("c", None, 0, 0.0)]) == 20.0
    assert tokens_per_s([_row("a", None, 0, 0.0)]) is None
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "w.bin").write_bytes(b"x" * 2_000_000)
    (tmp_path / "one.gguf").write_bytes(b"x" * 1_000_000)
    assert shipped_mb((tmp_path / "folder", tmp_path / "one.gguf")) == 3.0
    assert shipped_mb(()) is None


def _table_row(label: str, delta: float | None, low: float | None, high: float | None, agreement: float, size: float | None) -> list:
    return [label, 1, 0.3, 0.28, 0.32, delta, low, high, agreement, None, 80.0, size, "same"]


def test_findings_name_the_losers_the_cheapest_within_the_noise_and_what_q4_k_m_costs() -> None:
    rows = [
        _table_row(REFERENCE, None, None, None, 1.0, 600.0),
        _table_row("merged GGUF f16 (llama.cpp)", -0.004, -0.02, 0.012, 0.95, 270.0),
        _table_row("merged GGUF q4_k_m (llama.cpp)", -0.06, -0.09, -0.03, 0.40, 105.0),
        _table_row("GGUF LoRA on q4_1 base (llama.cpp)", 0.001, -0.015, 0.018, 0.85, 110.0),
    ]
    prompts = {"merged GGUF f16 (llama.cpp)": PromptParity("x", False, "differs from training's prompt at token 0 of 30", 0)}
    said = findings(rows, prompts)
    assert said[0].startswith("merged GGUF q4_k_m (llama.cpp) loses 0.060 [0.030, 0.090]")
    assert any(f.startswith("cheapest variant within the noise") and "GGUF LoRA on q4_1 base" in f and "110 MB" in f for f in said)
    assert any(f.startswith("what Q4_K_M costs: Δ -0.060 [-0.090, -0.030]") and "40%" in f for f in said)
    assert any("GGUF LoRA on q4_1 base (llama.cpp): greedy agreement" in f and "85%" in f for f in said)
    assert not any("merged GGUF f16 (llama.cpp): greedy agreement" in f for f in said)  # 95% is over the target
    assert any(f == "merged GGUF f16 (llama.cpp): the prompt differs from training's prompt at token 0 of 30" for f in said)


def test_when_every_variant_loses_the_findings_say_so() -> None:
    rows = [_table_row(REFERENCE, None, None, None, 1.0, 600.0), _table_row("merged (transformers)", -0.1, -0.2, -0.05, 0.1, 600.0)]
    assert f"no shipped variant is within the noise of {REFERENCE}" in findings(rows, {})

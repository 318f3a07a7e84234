"""The analyses' pure parts: style features, and what blinding and factors refuse to measure."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.analysis.blind import blinded_rubric
from parity.analysis.factors import factors
from parity.analysis.probe import STYLE_FEATURES, style_features
from parity.errors import ParityError
from parity.examples import write_example
from parity.ruler import load_ruler
from parity.store import Store
from parity.task import load_workspace


def test_style_features_read_the_answer_not_its_topic() -> None:
    plain = style_features("Paris trip", ["What dates suit you?", "How many people, and of what ages?"])
    assert len(plain) == len(STYLE_FEATURES)
    assert plain[0] == 2 and plain[1] == pytest.approx(5.5)  # title words; words per question
    assert plain[4] == pytest.approx(0.5)  # one comma over two questions
    assert plain[5] == pytest.approx(0.5) and plain[6] == pytest.approx(1.0)  # "you" once; both open with a wh-word
    assert style_features("Rome trip", ["What dates suit you?", "How many people, and of what ages?"])[1:] == plain[1:]


def test_blinding_and_factors_refuse_what_they_cannot_measure(tmp_path: Path) -> None:
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    rubric = blinded_rubric(ws, "coverage")
    assert "coverage" not in rubric.dimensions and len(rubric.dimensions) == len(ws.config.rubric.dimensions) - 1
    with pytest.raises(ParityError, match="no dimension 'tone'"):
        blinded_rubric(ws, "tone")
    with pytest.raises(ParityError, match="0 scored judgments"):
        factors(ws, load_ruler(ws), Store(f"sqlite:///{tmp_path / 'empty.db'}"))

"""The leak detector over every model answer of the calibration set (seconds of CPU, no model)."""

from __future__ import annotations

from pathlib import Path

from parity.examples import write_example
from parity.labels import labels_path, load_labels
from parity.leak import find_leak
from parity.task import load_workspace


def test_no_model_answer_in_the_calibration_set_is_taken_for_a_copy(tmp_path: Path) -> None:
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    labels = load_labels(labels_path(ws), ws)
    model = [i for i in labels.items if i.source.startswith(("agent:", "adapter:"))]
    assert len(model) >= 850
    assert [i.item for i in model if find_leak(i.case, list(i.candidate.units()))] == []

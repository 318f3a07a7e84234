"""A rubric dimension the workspace's judge cannot score is refused at `ruler lock` (and before any run),
in one line naming the dimension; a dimension that names a signal is scored by it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parity.judge.reference import ReferenceJudge
from parity.ruler import load_ruler
from parity.statuses import JudgmentStatus
from parity.task import load_workspace
from tests.helpers.cli import invoke_parity
from tests.unit.judge.test_text_features import HashEmbedder

CHARM = '[rubric.dimensions.charm]\nweight = 0.1\ndescription = "is it charming"\n'


def _add_dimension(ws_dir: Path, text: str, fitted: bool = True) -> None:
    config = ws_dir / "parity.toml"
    raw = config.read_text()
    if not fitted:
        raw = re.sub(r'^fitted = ".*"\n', "", raw, flags=re.MULTILINE)
    config.write_text(raw.replace("[rubric.dimensions.atomicity]", text + "\n[rubric.dimensions.atomicity]", 1))


@pytest.mark.parametrize(
    ("fitted", "fragment"),
    [
        (True, "parity.toml [judge] fitted: the fitted judge has no model for dimension(s) ['charm']"),
        (False, "parity.toml [rubric.dimensions.charm]: the reference judge has no signal 'charm' for dimension 'charm'"),
    ],
)
def test_a_dimension_the_judge_cannot_score_is_refused_at_lock(ws_dir: Path, fitted: bool, fragment: str) -> None:
    _add_dimension(ws_dir, CHARM, fitted)
    lock = (ws_dir / "ruler" / "LOCK").read_bytes()
    result = invoke_parity("ruler", "lock", cwd=ws_dir)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: " + fragment), result.stderr
    assert (ws_dir / "ruler" / "LOCK").read_bytes() == lock and not (ws_dir / ".parity").exists()


def test_an_llm_judge_reads_any_dimension(ws_dir: Path) -> None:
    _add_dimension(ws_dir, CHARM)
    config = ws_dir / "parity.toml"
    config.write_text(config.read_text().replace('kind = "reference"', 'kind = "llm"\nmodel = "openai:judge@http://127.0.0.1:9/v1"', 1))
    assert invoke_parity("ruler", "lock", cwd=ws_dir).returncode == 0


def test_a_dimension_that_names_a_signal_is_scored_by_it(ws_dir: Path) -> None:
    _add_dimension(
        ws_dir, '[rubric.dimensions.focus]\nweight = 0.1\ndescription = "one thing at a time"\nsignal = "atomicity"\n', fitted=False
    )
    assert invoke_parity("ruler", "lock", cwd=ws_dir).returncode == 0
    ws = load_workspace(ws_dir)
    case = load_ruler(ws).cases[0]
    judgment = ReferenceJudge(ws.config.rubric, HashEmbedder(), 0.05).judge(case, case.gold)
    assert judgment.status == JudgmentStatus.SCORED and judgment.scores["focus"] == judgment.scores["atomicity"]

"""Reference judge v2's model file: exported trees predict what scikit-learn fit, and a broken
parameters file is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from parity import examples
from parity.analysis.fit_judge import _boosted, _export
from parity.errors import ParityError
from parity.judge.fitted import Trees, load_params

BUNDLED = Path(examples.__file__).parent / "discovery" / "calibration" / "judge-fit.json"


def test_exported_trees_predict_exactly_what_scikit_learn_predicts() -> None:
    rng = np.random.default_rng(0)
    # Shares on a grid of sevenths, like the question features, so many values sit near split points.
    X = np.column_stack([rng.integers(0, 8, 400) / 7, rng.random(400), rng.integers(0, 2, 400).astype(float)])
    y = 2 * X[:, 0] - X[:, 1] * X[:, 2] + rng.normal(0, 0.1, 400)
    for depth, n in ((2, 50), (3, 100)):
        model = _boosted(depth, n).fit(X, y)
        trees = Trees(**_export(model, ["a", "b", "c"], X))
        assert np.allclose([trees(list(x)) for x in X], model.predict(X), atol=1e-9)
        assert set(trees.importance) == {"a", "b", "c"}


def _mutated(tmp_path: Path, change) -> Path:
    params = json.loads(BUNDLED.read_text())
    change(params)
    path = tmp_path / "judge-fit.json"
    path.write_text(json.dumps(params))
    return path


def _tree(params: dict) -> dict:
    return params["dimensions"]["coverage"]["trees"][0]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: _tree(p).update(left=[0] + _tree(p)["left"][1:]), "children must both be -1 or later nodes"),  # a cycle: node 0 → node 0
        (lambda p: _tree(p).update(right=[10_000] + _tree(p)["right"][1:]), "children must both be -1 or later nodes"),
        (lambda p: _tree(p).update(value=_tree(p)["value"][:-1]), "of one length"),
        (lambda p: _tree(p).update(feature=[99] + _tree(p)["feature"][1:]), "outside the feature list"),
        (lambda p: p["verdict"].pop("tie"), "verdict.tie"),
        (lambda p: p.update(features=p["features"] + ["made_up"]), "unknown features"),
    ],
)
def test_a_broken_parameters_file_is_a_one_line_error(tmp_path: Path, change, message: str) -> None:
    with pytest.raises(ParityError) as raised:
        load_params(_mutated(tmp_path, change), "calibration/judge-fit.json")
    assert message in str(raised.value) and "\n" not in str(raised.value)

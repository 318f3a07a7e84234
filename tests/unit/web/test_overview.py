"""The overview's running best, on a store filled directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.examples import write_example
from parity.store import Store
from parity.task import load_workspace
from parity.web import views


def _experiment(
    store: Store, fingerprint: str, quality: float | None, verdict: str, changes: dict | None = None, gate: str = "full"
) -> int:
    experiment_id = store.create_experiment(
        ruler_fingerprint=fingerprint,
        gate=gate,
        agent_name=f"a{quality}",
        agent_config={"model": "llamacpp:smollm2-135m"},
        model_identity="m",
        hypothesis=f"h {quality}",
        status="done" if quality is not None else "crashed",
    )
    store.update_experiment(
        experiment_id,
        verdict=verdict,
        quality=quality,
        ci_low=None if quality is None else quality - 0.02,
        ci_high=None if quality is None else quality + 0.02,
        ceiling=0.7,
        summary={"dimensions": {"atomicity": 3.0 + (quality or 0)}} if quality is not None else None,
        config_diff={"against": 1, "changes": changes} if changes else None,
    )
    return experiment_id


def test_overview_running_best_follows_kept_experiments_only(tmp_path: Path) -> None:
    ws = load_workspace(write_example("discovery", tmp_path / "ws"))
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    fp = "f" * 64
    _experiment(store, fp, 0.30, "kept")
    _experiment(store, fp, 0.45, "discarded", {"decoding.temperature": [0, 0.7]})  # higher but not kept: the line stays
    _experiment(store, fp, None, "crashed", {"strategy.kind": ["single", "vote"]})
    _experiment(store, fp, 0.38, "kept", {"fewshot.k": [None, 3], "prompt.system": ["a", "b"]})
    _experiment(store, fp, 0.50, "kept", gate="dev")  # another gate: not on this chart
    view = views.overview(ws, store, "full")
    assert [p["id"] for p in view["points"]] == [1, 2, 3, 4]
    assert [b["value"] for b in view["running_best"]] == [0.30, 0.30, 0.30, 0.38]
    assert [p["lever"] for p in view["points"]] == ["baseline", "decoding", "strategy", "fewshot+prompt"]
    assert view["ceiling"] == 0.7 and view["gates"] == ["dev", "full"]
    dim = views.overview(ws, store, "full", "atomicity")
    assert dim["running_best"][-1]["value"] == pytest.approx(3.38) and dim["ceiling"] is None
    with pytest.raises(Exception, match="unknown metric"):
        views.overview(ws, store, "full", "nope")

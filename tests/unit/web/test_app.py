"""The dashboard's routes and views in-process (FastAPI's TestClient), over a store of two experiments
run with a scripted model and judge: no browser, no server, no model."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from fastapi.testclient import TestClient

from parity.agent import load_agent
from parity.experiment import run_experiment
from parity.loop.rules import keep
from parity.ruler import load_ruler
from parity.store import Store
from parity.task import Workspace
from parity.web import views
from parity.web.app import create_app
from tests.helpers.scripted import STRONG, WEAK, ScriptedJudge, ScriptedModel, by_word, strong_when_hot, use_model


@pytest.fixture
def studied(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> tuple[Workspace, Store]:
    """#1 the greedy baseline (weak answers), #2 the same agent sampling (strong answers), both on dev."""
    use_model(monkeypatch, ScriptedModel(strong_when_hot))
    config = yaml.safe_load((ws.agents_dir / "baseline.yaml").read_text())
    config["decoding"]["temperature"] = 0.7
    (ws.agents_dir / "hot.yaml").write_text(yaml.safe_dump(config))
    ruler, store = load_ruler(ws), Store.for_workspace(ws)
    judge = ScriptedJudge(ws.config.rubric, by_word)
    for agent, hypothesis in (("baseline", "greedy"), ("hot", "sampling at 0.7")):
        run_experiment(ws, ruler, load_agent(ws, agent), judge, store, "dev", hypothesis, keep)
    return ws, store


def test_the_overview_view_plots_both_experiments_and_the_running_best(studied: tuple[Workspace, Store]) -> None:
    ws, store = studied
    view = views.overview(ws, store, "dev")
    assert [(p["id"], p["agent"], p["verdict"], p["hypothesis"]) for p in view["points"]] == [
        (1, "baseline", "kept", "greedy"),
        (2, "hot", "kept", "sampling at 0.7"),
    ]
    assert [p["quality"] for p in view["points"]] == pytest.approx([0.125, 1.0])
    assert [b["value"] for b in view["running_best"]] == pytest.approx([0.125, 1.0])
    assert view["gates"] == ["dev"] and view["ceiling"] == pytest.approx(0.5)  # gold_alt: score 3 and a tie


def test_the_routes_serve_the_overview_its_json_and_each_experiment(studied: tuple[Workspace, Store]) -> None:
    ws, store = studied
    client = TestClient(create_app(ws, store))

    root = client.get("/", follow_redirects=False)
    assert root.status_code in (302, 307) and root.headers["location"] == "index.html"

    page = client.get("/index.html")
    assert page.status_code == 200 and "sampling at 0.7" in page.text
    embedded = re.search(r'<script id="overview-data" type="application/json">(.*?)</script>', page.text, re.S)
    assert embedded is not None and "sampling at 0.7" in json.dumps(json.loads(embedded.group(1)))

    data = client.get("/api/overview.json", params={"gate": "dev", "metric": "coverage"}).json()
    assert data["metric"] == "coverage" and [p["value"] for p in data["points"]] == pytest.approx([2.0, 5.0])
    bad = client.get("/api/overview.json", params={"metric": "nope"})
    assert bad.status_code == 400 and bad.json()["detail"] == "unknown metric 'nope'"

    experiment = client.get("/experiment-2.html")
    assert experiment.status_code == 200
    assert f"{STRONG} plan" in experiment.text and "travel-easy" in experiment.text and f"{WEAK} plan" not in experiment.text
    assert client.get("/experiment-3.html").status_code == 404


def test_the_compare_view_pairs_every_case_with_its_gain(studied: tuple[Workspace, Store]) -> None:
    ws, store = studied
    view = views.compare_view(ws, store, load_ruler(ws), 2, 1)
    assert [c["delta"] for c in view["cases"]] == pytest.approx([0.875] * len(load_ruler(ws).gate("dev")))
    assert (view["a"]["id"], view["b"]["id"]) == (2, 1)
    page = TestClient(create_app(ws, store)).get("/compare-2-1.html")
    assert page.status_code == 200 and f"{STRONG} plan" in page.text and f"{WEAK} plan" in page.text


def test_the_experiment_view_marks_no_regression_against_a_worse_best(studied: tuple[Workspace, Store]) -> None:
    ws, store = studied
    view = views.experiment_view(ws, store, load_ruler(ws), 2)
    assert view["best"]["id"] == 1  # the running best other than #2 itself
    assert [c["quality"] for c in view["cases"]] == pytest.approx([1.0] * len(load_ruler(ws).gate("dev")))
    assert not any(c["regression"] for c in view["cases"])
    worse = views.experiment_view(ws, store, load_ruler(ws), 1)
    assert worse["best"]["id"] == 2 and all(c["regression"] for c in worse["cases"])

"""The dashboard against hostile input: stored text cannot break out of the page's script, unknown ids
are 404s that show no server path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.store import finished_experiment


def test_a_hostile_hypothesis_cannot_break_out_of_the_overview_script(ws_dir: Path) -> None:
    import re

    from parity.store import Store
    from parity.task import load_workspace
    from parity.web import pages

    ws = load_workspace(ws_dir)
    store = Store.for_workspace(ws)
    hostile = "<!--<script>alert(1)</script> & ' \" \u2028"
    finished_experiment(store, hypothesis=hostile)
    html = pages.overview_page(ws, store, live=False)
    data = re.search(r'<script id="overview-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in data and ">" not in data and "&" not in data

    def strings(value):
        if isinstance(value, dict):
            return [s for v in value.values() for s in strings(v)]
        if isinstance(value, list):
            return [s for v in value for s in strings(v)]
        return [value] if isinstance(value, str) else []

    assert any(hostile in text for text in strings(json.loads(data)))  # the page's data still holds it, intact
    assert "alert(1)</script>" not in html and "<!--<script>" not in html


@pytest.mark.parametrize(
    "path",
    [
        "/experiment-99999999999999999999.html",
        "/experiment-0.html",
        "/experiment-7.html",
        "/compare-1-99999999999999999999.html",
        "/experiment-abc.html",
    ],
)
def test_the_dashboard_answers_404_for_unknown_or_out_of_range_ids_and_shows_no_server_path(ws_dir: Path, path: str) -> None:
    from fastapi.testclient import TestClient

    from parity.store import Store
    from parity.task import load_workspace
    from parity.web.app import create_app

    ws = load_workspace(ws_dir)
    client = TestClient(create_app(ws, Store.for_workspace(ws)), raise_server_exceptions=False)
    response = client.get(path)
    assert response.status_code in (404, 422), response.text
    assert str(ws_dir) not in response.text and ".parity" not in response.text


def test_a_lone_surrogate_in_stored_text_is_shown_as_its_escape(ws_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from parity.store import Store
    from parity.task import load_workspace
    from parity.web.app import create_app

    ws = load_workspace(ws_dir)
    store = Store.for_workspace(ws)
    experiment = finished_experiment(store, agent_config={"model": "m\ud800"})  # JSON columns keep it as an escape
    client = TestClient(create_app(ws, store), raise_server_exceptions=False)
    for path in ("/", f"/experiment-{experiment}.html"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])

"""The dashboard, its static export and the training record, on a store of real experiments.

The end-to-end test drives the real server in Debian's headless Chromium through Playwright."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from parity.examples import write_example
from parity.ruler import load_ruler
from parity.store import Store
from parity.task import load_workspace
from tests.helpers.cli import run_parity, show_json
from tests.helpers.servers import free_port, wait_for_http
from tests.helpers.workspace import TINY_GATE, add_gates

CHROMIUM = Path("/usr/bin/chromium")


# Without the background-networking flags Chromium keeps dialling Google's hosts, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def studied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose store holds real experiments of the bundled model on two cases."""
    ws_dir = add_gates(write_example("discovery", tmp_path_factory.mktemp("dashboard") / "ws"), tiny=TINY_GATE)
    for agent, hypothesis in [("baseline", "stock SmolLM2-135M"), ("overgen_prune", "12 questions pruned to 7 by redundancy")]:
        result = run_parity("run", agent, "--gate", "tiny", "--hypothesis", hypothesis, cwd=ws_dir)
        assert result.returncode == 0, result.stderr
    return ws_dir


def _browser(playwright):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


POINTS = "#chart .scatterlayer .trace .points path.point"


@pytest.mark.slow
def test_dashboard_in_headless_chromium(studied: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    store = Store.for_workspace(load_workspace(studied))
    case = store.case_rows(1)[0]
    gold = {c.id: c for c in load_ruler(load_workspace(studied)).cases}[case.case_id].gold
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "parity", "dashboard", "--port", str(port)], cwd=studied, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/index.html", server, 60, "parity dashboard")
        with sync_playwright() as p:
            browser = _browser(p)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector(POINTS)
            assert page.locator(POINTS).count() == 2
            assert page.locator("#chart .scatterlayer .trace .js-line").count() == 1  # the running best
            assert "running best" in page.locator("#chart .legend").text_content()
            page.screenshot(path=str(tmp_path / "overview.png"))
            assert (tmp_path / "overview.png").stat().st_size > 10_000

            # live: an experiment finishing while the page is open appears without a reload
            result = run_parity("run", "baseline", "--gate", "tiny", "--hypothesis", "the same again", cwd=studied)
            assert result.returncode == 0, result.stderr
            page.wait_for_function(f"document.querySelectorAll('{POINTS}').length === 3", timeout=20_000)

            page.click("#experiments a[href='experiment-1.html']")
            page.wait_for_url("**/experiment-1.html")
            shown = page.locator(f"#case-{case.case_id}")
            assert gold.title in shown.locator(".gold").inner_text()
            assert case.answer["title"] in shown.locator(".answer").inner_text()
            note = next(n for n in case.notes.values() if n)
            assert note in shown.locator(".judgment").inner_text()
            page.screenshot(path=str(tmp_path / "experiment.png"), full_page=True)

            page.goto(f"http://127.0.0.1:{port}/compare-2-1.html")
            paired = page.locator("#paired").inner_text()
            assert "paired cases" in paired and "2" in paired
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_static_export_opens_from_disk(studied: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    site = tmp_path / "site"
    result = run_parity("export", "html", str(site), cwd=studied)
    assert result.returncode == 0, result.stderr
    assert {"index.html", "training.html", "plotly.min.js", "experiment-1.html", "compare-2-1.html"} <= {p.name for p in site.iterdir()}
    assert "cdn" not in (site / "index.html").read_text().lower()
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page()
        page.goto(site.joinpath("index.html").as_uri())
        page.wait_for_selector(POINTS)
        assert page.locator(POINTS).count() == len([e for e in show_json(studied) if e["gate"] == "tiny"])
        page.select_option("#metric", "coverage")  # the selector works offline: every view is in the page
        assert "coverage" in page.locator("#chart .g-ytitle").text_content()
        browser.close()
    again = run_parity("export", "html", str(site), cwd=studied)  # an earlier export is replaced whole
    assert again.returncode == 0, again.stderr
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused = run_parity("export", "html", str(tmp_path / "other"), cwd=studied)
    assert refused.returncode == 2 and "holds other files" in refused.stderr


@pytest.mark.slow
def test_report_numbers_match_show_json(studied: Path, tmp_path: Path) -> None:
    out = tmp_path / "record.md"
    result = run_parity("report", "--out", str(out), cwd=studied)
    assert result.returncode == 0, result.stderr
    record = out.read_text()
    experiments = show_json(studied)
    for e in experiments:
        row = next(line for line in record.splitlines() if line.startswith(f"| #{e['id']} |"))
        assert f"{e['quality']:.3f} [{e['ci_low']:.3f}, {e['ci_high']:.3f}]" in row and e["agent"] in row
    for section in (
        "## Score progression",
        "## Categories and difficulties",
        "## Training configurations",
        "## Datasets",
        "## Cost",
        "## Findings",
    ):
        assert section in record
    totals = next(line for line in record.splitlines() if line.startswith("| all |")).split("|")
    assert int(totals[3]) == sum(e["prompt_tokens"] for e in experiments)
    assert int(totals[4]) == sum(e["completion_tokens"] for e in experiments)
    best = None
    for e in experiments:  # Δ is against the best kept before it, as the keep rule saw it
        row = next(line for line in record.splitlines() if line.startswith(f"| #{e['id']} |")).split("|")
        assert row[6].strip() == ("–" if best is None else f"{e['quality'] - best:+.3f}")
        if e["verdict"] == "kept":
            best = e["quality"] if best is None else max(best, e["quality"])


def test_dashboard_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    import socket

    ws_dir = write_example("discovery", tmp_path / "ws")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_parity("dashboard", "--port", str(port), cwd=ws_dir, timeout=60)
    assert result.returncode == 2 and f"cannot serve on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_a_dashboard_bound_beyond_loopback_warns(ws_dir: Path) -> None:
    import subprocess
    import sys

    from tests.helpers.servers import free_port

    process = subprocess.Popen(
        [sys.executable, "-m", "parity", "dashboard", "--host", "0.0.0.0", "--port", str(free_port())],
        cwd=ws_dir,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stderr.readline()
        while "Warn" in first and "warning:" not in first:
            first = process.stderr.readline()
        assert first.startswith("warning: --host 0.0.0.0") and "no login" in first
    finally:
        process.terminate()
        process.wait(timeout=30)

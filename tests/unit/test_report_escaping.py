"""`parity report` against hostile stored text: hypotheses, agent names, levers, categories, gates,
adapters, datasets and analyses are data, so none of them can break a Markdown table, inject HTML or
make a link; the report's own numbers and formatting come out as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from parity.report import training_record
from parity.store import AdapterRow, AnalysisRow, DatasetRow, Store
from parity.task import Workspace, load_workspace
from tests.helpers.store import finished_experiment

HOSTILE = (
    "a | b\nc\r\nd\u2028e <script>alert(1)</script> <!-- x --> `code | span` [x](javascript:alert(1)) "
    "<javascript:alert(3)> <img src=x onerror=alert(4)> \\| \\` &lt;b&gt; ![i](javascript:alert(5)) [r]: javascript:alert(2)"
)
SUMMARY = {"quality": 0.3, "n_cases": 2, "dimensions": {"coverage": 3.0}, "categories": {HOSTILE: {"quality": 0.3, "n": 2}}}


@pytest.fixture
def hostile_store(ws_dir: Path) -> tuple[Workspace, Store]:
    ws = load_workspace(ws_dir)
    store = Store.for_workspace(ws)
    finished_experiment(store, verdict="kept", quality=0.2, summary={**SUMMARY, "quality": 0.2})
    finished_experiment(
        store, verdict="kept", quality=0.3, agent_name=HOSTILE, hypothesis=HOSTILE, method=HOSTILE, decision=HOSTILE, summary=SUMMARY
    )
    finished_experiment(store, gate=HOSTILE, config_diff={"against": 1, "changes": {HOSTILE: [1, 2]}}, summary=SUMMARY)
    store.save_adapter(
        AdapterRow(name=HOSTILE, recipe="sft", base=HOSTILE, base_identity="b", options={"train": {"learning_rate": HOSTILE}}, path="p")
    )
    store.save_dataset(DatasetRow(name=HOSTILE, kind=HOSTILE, fingerprint="f" * 64, n_rows=3, path="p", provenance={"source": HOSTILE}))
    store.save_analysis(
        AnalysisRow(
            kind="blind",
            ruler_fingerprint="f" * 64,
            params={},
            columns=[HOSTILE, "n"],
            rows=[[HOSTILE, 1], ["x", 0.5]],
            findings=[HOSTILE, "[r]: javascript:alert(6)"],
            png=b"",
            svg="",
        )
    )
    return ws, store


def tables(markdown: str) -> list[list[str]]:
    """Each block of consecutive table lines, the lines split where Markdown ends one (\\n, \\r\\n or \\r)."""
    blocks: list[list[str]] = []
    previous = False
    for line in re.split(r"\r\n|\r|\n", markdown):
        is_row = line.startswith("|")
        if is_row and not previous:
            blocks.append([])
        if is_row:
            blocks[-1].append(line)
        previous = is_row
    return blocks


def cells(row: str) -> int:
    """Cells of a GFM table row: split at every pipe that no backslash escapes."""
    return len(re.split(r"(?<!\\)\|", row.strip())) - 2


def test_hostile_stored_text_keeps_every_table_whole_and_injects_nothing(hostile_store: tuple[Workspace, Store]) -> None:
    ws, store = hostile_store
    record = training_record(ws, store)

    assert all(len(line.splitlines()) <= 1 for line in record.split("\n"))  # no line break of another kind inside a line
    found = tables(record)
    assert len(found) >= 8
    for block in found:  # a header, its separator and rows, all as wide as the header
        width = cells(block[0])
        assert len(block) >= 2 and block[1] == "|" + " --- |" * width, block
        assert all(cells(row) == width for row in block), block

    for raw in ("<script", "<!--", "<img", "<javascript:"):
        assert raw not in record
    assert not re.search(r"(?<!\\)\]\s*[(:]\s*javascript:", record, re.I)  # no inline link, image or link definition

    html = MarkdownIt("commonmark").enable("table").render(record)  # raw HTML passes through this renderer
    assert html.count("<table>") == len(found)
    assert "<script" not in html and "<!--" not in html and "<img" not in html and "<code>" not in html
    assert "javascript:" not in " ".join(re.findall(r'(?:href|src)="([^"]*)"', html))
    # the text itself is kept, shown as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "[x](javascript:alert(1))" in html and "&amp;lt;b&amp;gt;" in html


def test_the_reports_own_numbers_and_formatting_are_unchanged(hostile_store: tuple[Workspace, Store]) -> None:
    ws, store = hostile_store
    record = training_record(ws, store)
    first = next(line for line in record.splitlines() if line.startswith("| #1 |"))
    assert first == "| #1 | a | baseline | 0.200 [0.100, 0.300] | – | – | kept | h |"
    assert "| # | agent | lever | quality [95% CI] | parity | Δ vs best before | verdict | hypothesis |" in record
    assert "### full gate" in record and "## Score progression" in record and "### #1 blind" in record
    assert "- Largest gains on full: #2 " in record and " +0.100 (0.200 → 0.300): " in record

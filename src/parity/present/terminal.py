"""The terminal's table shapes. The CLI's consoles read no markup, so stored or labelled text in a cell
is printed as it is."""

from __future__ import annotations

from rich.table import Table

from parity.analysis.record import Analysis
from parity.present.numbers import DASH, analysis_cell, fmt


def num(value: float | None, digits: int = 3) -> str:
    """A number in a summary table: a missing one is a dash."""
    return fmt(value, digits, none=DASH)


def kv_table(title: str) -> Table:
    """The two-column "name: value" table every summary uses."""
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    return table


def columns_table(title: str, columns: tuple[str, ...] | list[str], first_left: bool = False) -> Table:
    """A titled table with these columns: long text folds; with `first_left`, the first column is
    names (left) and the others numbers (right)."""
    table = Table(title=title)
    for index, column in enumerate(columns):
        if first_left:
            table.add_column(column, justify="left" if index == 0 else "right")
        else:
            table.add_column(column, overflow="fold")
    return table


def analysis_table(analysis: Analysis, analysis_id: int, columns: int | None = None) -> Table:
    """A saved analysis's table, as `parity analyze` prints it: its first `columns` columns when a
    terminal cannot hold them all (the report and the dashboard show every one)."""
    shown = analysis.columns[:columns]
    # A cut table is a wide one: names on the left, numbers sized to fit, rather than every column folded alike.
    table = columns_table(f"analysis #{analysis_id}: {analysis.kind}", [str(column) for column in shown], first_left=columns is not None)
    for row in analysis.rows:
        table.add_row(*[analysis_cell(value) for value in row[: len(shown)]])
    return table

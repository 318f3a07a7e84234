"""Numbers as parity shows them, in the terminal, in the Markdown report and on the dashboard alike."""

from __future__ import annotations

import json

NO_VALUE = "–"  # a missing number in Markdown, on the dashboard and in analysis tables
DASH = "—"  # a missing number in the terminal's summary tables


def fmt(value: float | None, digits: int = 3, none: str = NO_VALUE) -> str:
    """`value` to `digits` decimals; `none` when there is no value."""
    return none if value is None else f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 3, none: str = NO_VALUE) -> str:
    """A difference, always with its sign: +0.012, −0.300 as -0.300."""
    return none if value is None else f"{value:+.{digits}f}"


def percent(value: float | None, digits: int = 0, none: str = NO_VALUE) -> str:
    return none if value is None else f"{value:.{digits}%}"


def usd(value: float | None) -> str:
    """A cost in US dollars, to a hundredth of a cent; an unrecorded cost is 0."""
    return f"{value or 0:.4f}"


def with_ci(
    value: float | None, low: float | None, high: float | None, digits: int = 3, ci_digits: int | None = None, none: str = NO_VALUE
) -> str:
    """`0.512 [0.40, 0.61]`: a value and its confidence interval."""
    inner = digits if ci_digits is None else ci_digits
    return f"{fmt(value, digits, none)} [{fmt(low, inner, none)}, {fmt(high, inner, none)}]"


def signed_ci(values: list[float] | None, none: str = DASH) -> str:
    """A difference and its interval, `[diff, low, high]`, all signed: `+0.120 [+0.050, +0.190]`."""
    return none if not values else f"{values[0]:+.3f} [{values[1]:+.3f}, {values[2]:+.3f}]"


def analysis_cell(value: object) -> str:
    """One cell of an analysis table: floats to 3 decimals, a missing value as a dash, the rest as text."""
    if isinstance(value, float):
        return fmt(value)
    return NO_VALUE if value is None else str(value)


def short(value: object, limit: int = 40) -> str:
    """A config value on one line, cut to `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"

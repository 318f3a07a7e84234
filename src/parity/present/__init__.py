"""How parity shows its results, in one place: numbers (`numbers`, shared by the terminal, the Markdown
report and the dashboard's templates), the terminal's table shapes (`terminal`), experiments and
comparisons (`experiments`), and how far to trust a judge (`judging`).

It reads the typed results of the layers below (experiment summaries, analyses) and computes nothing
the record does not hold."""

from parity.metrics import parity_ratio
from parity.present.numbers import DASH, NO_VALUE, analysis_cell, fmt, percent, short, signed, signed_ci, usd, with_ci

__all__ = ["DASH", "NO_VALUE", "analysis_cell", "fmt", "parity_ratio", "percent", "short", "signed", "signed_ci", "usd", "with_ci"]

"""One error type for everything a user can get wrong; the CLI prints it as one line."""

from __future__ import annotations


class ParityError(Exception):
    """A user-facing failure: what went wrong, where, and how to fix it."""

    def __init__(self, what: str, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text} — {self.fix}" if self.fix else text

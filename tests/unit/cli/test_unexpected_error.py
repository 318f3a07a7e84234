"""A bug in parity is one line and exit 1 on the terminal, with the traceback in a file."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_an_unexpected_error_is_one_line_exit_1_with_the_traceback_in_a_file(monkeypatch, capsys) -> None:
    from parity import cli

    def broken(**_: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(cli, "app", broken)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: unexpected RuntimeError: boom — this is a bug in parity")
    log = Path(lines[0].rsplit(" ", 1)[1])
    assert "RuntimeError: boom" in log.read_text() and "Traceback" in log.read_text()

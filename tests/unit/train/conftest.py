from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.training import SmallWorkspace, small_workspace


@pytest.fixture
def small(ws_dir: Path, monkeypatch: pytest.MonkeyPatch) -> SmallWorkspace:
    """The bundled workspace cut to six corpus entries, embedded without a model."""
    return small_workspace(ws_dir, monkeypatch)

"""`parity export --html DIR`: every dashboard page as a file that opens from disk.

Written into a temporary folder beside DIR and renamed into place, so DIR is never half-written."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rich.progress import Progress

from parity.errors import ParityError
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace
from parity.web import pages


def export_html(ws: Workspace, store: Store, ruler: Ruler | None, out: Path) -> int:
    """Write the site; returns how many pages were written."""
    if out.exists() and not out.is_dir():
        raise ParityError(f"{out} is a file", "--html", "pass a folder (it is created, or replaced if it holds an earlier export)")
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise ParityError(f"{out} holds other files", "--html", "pass an empty folder or an earlier export")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = store.experiments()
    files: dict[str, str] = {"index.html": pages.overview_page(ws, store, live=False), "training.html": pages.training_page(ws, store),
                             "analyses.html": pages.analyses_page(ws, store)}
    with Progress(transient=True) as progress:
        task = progress.add_task("rendering experiments", total=len(rows))
        for row in rows:
            files[f"experiment-{row.id}.html"] = pages.experiment_page(ws, store, ruler, row.id)
            best = store.running_best(row.ruler_fingerprint, row.gate, exclude=row.id)
            if best is not None and row.quality is not None:
                try:
                    files[f"compare-{row.id}-{best.id}.html"] = pages.compare_page(ws, store, ruler, row.id, best.id)
                except ParityError:
                    pass  # no scored case in common (only when judgments failed): no comparison to write
            progress.advance(task)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the site from a web server or another user
    try:
        for name, html in files.items():
            (staging / name).write_text(html, encoding="utf-8")
        shutil.copyfile(pages.plotly_js(), staging / "plotly.min.js")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(files)

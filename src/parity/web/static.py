"""`parity export html DIR`: every dashboard page as a file that opens from disk.

Written into a temporary folder beside DIR and renamed into place, so DIR is never half-written. DIR
must be new, empty, or an earlier export: a marker file lists what parity wrote there, and an earlier
export is replaced only while it holds nothing else, so no file parity did not write is ever deleted."""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import suppress
from pathlib import Path

from parity.errors import ParityError
from parity.progress import Progress
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace
from parity.web import pages

MARKER = ".parity-export"  # the names of the files parity wrote into an export


def _earlier_export(out: Path) -> list[Path]:
    """The files of an earlier export at `out` that may be replaced; refuses a folder holding anything else."""
    if out.exists() and not out.is_dir():
        raise ParityError(
            f"{out} is a file", "parity export html", "pass a folder (it is created, or replaced if it holds an earlier export)"
        )
    if not out.is_dir():
        return []
    entries = list(out.iterdir())
    if not entries:
        return []
    try:
        written = set(json.loads((out / MARKER).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        raise ParityError(
            f"{out} holds other files",
            "parity export html",
            "pass an empty folder or an earlier export (parity replaces only what it wrote)",
        ) from None
    foreign = sorted(e.name for e in entries if e.name != MARKER and (e.name not in written or not e.is_file() or e.is_symlink()))
    if foreign:
        raise ParityError(
            f"{out} holds other files besides an earlier export: {', '.join(foreign[:5])}",
            "parity export html",
            "move them out, or pass another folder",
        )
    return entries


def export_html(ws: Workspace, store: Store, ruler: Ruler | None, out: Path) -> int:
    """Write the site; returns how many pages were written."""
    earlier = _earlier_export(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = store.experiments()
    files: dict[str, str] = {
        "index.html": pages.overview_page(ws, store, live=False),
        "training.html": pages.training_page(ws, store),
        "analyses.html": pages.analyses_page(ws, store),
    }
    with Progress(transient=True) as progress:
        task = progress.add_task("rendering experiments", total=len(rows))
        for row in rows:
            files[f"experiment-{row.id}.html"] = pages.experiment_page(ws, store, ruler, row.id)
            best = store.running_best(row.ruler_fingerprint, row.gate, exclude=row.id)
            if best is not None and row.quality is not None:
                with suppress(ParityError):  # no scored case in common (only when judgments failed): no comparison to write
                    files[f"compare-{row.id}-{best.id}.html"] = pages.compare_page(ws, store, ruler, row.id, best.id)
            progress.advance(task)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the site from a web server or another user
    try:
        for name, html in files.items():
            (staging / name).write_text(html, encoding="utf-8")
        shutil.copyfile(pages.plotly_js(), staging / "plotly.min.js")
        (staging / MARKER).write_text(json.dumps(sorted([*files, "plotly.min.js"])), encoding="utf-8")
        for path in earlier:  # only what the last export wrote: checked above
            path.unlink()
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(files)

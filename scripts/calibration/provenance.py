"""Write calibration/PROVENANCE.json for a workspace's label set: counts, fingerprint, the brief's hash,
who judged, and the labels' own inter-judge agreement (a test recomputes it from the rows).

Usage: python scripts/calibration/provenance.py WORKSPACE [LABELS NAME]
  LABELS (default calibration/labels.jsonl) and NAME (default calibration/PROVENANCE.json), both
  relative to the workspace, for a second set such as calibration/labels-levers.jsonl.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from parity.analysis.calibration import inter_judge_agreement
from parity.io import atomic_write_text
from parity.labels import labels_path, load_labels
from parity.task import load_workspace


def main() -> None:
    ws = load_workspace(Path(sys.argv[1]))
    shown = sys.argv[2] if len(sys.argv) > 2 else "calibration/labels.jsonl"
    out = sys.argv[3] if len(sys.argv) > 3 else "calibration/PROVENANCE.json"
    labels = load_labels(ws.root / shown, ws, shown) if len(sys.argv) > 2 else load_labels(labels_path(ws), ws)
    brief = ws.root / "calibration" / "BRIEF.md"
    items = labels.items
    record = {
        "labels": shown,
        "fingerprint": labels.fingerprint,
        "brief": "calibration/BRIEF.md",
        "brief_sha256": hashlib.sha256(brief.read_bytes()).hexdigest(),
        "n_rows": len(items),
        "n_tasks": {split: len({i.case.id for i in items if i.split.value == split}) for split in ("fit", "heldout")},
        "rows_by_split": dict(Counter(i.split.value for i in items)),
        "rows_by_source": dict(sorted(Counter(i.source for i in items).items())),
        "judges": sorted({(j.extra.labeller or "unknown").split(", batch")[0] for i in items for j in i.judgings}),
        "n_judgings": sum(len(i.judgings) for i in items),
        "inter_judge": inter_judge_agreement(ws, list(items)),
    }
    atomic_write_text(ws.root / out, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: record[k] for k in ("n_rows", "n_tasks", "n_judgings", "inter_judge")}, indent=1))


if __name__ == "__main__":
    main()

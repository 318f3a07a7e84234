"""Frontier-label rows for calibration-set tests: three sources of clear quality over four tasks."""

from __future__ import annotations

import json
from pathlib import Path

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


GOLD = {"title": "Paris trip", "questions": [f"Gold question {i} about Paris?" for i in range(7)]}


def label_row(
    item: str, task: str, source: str, scores: list[int], verdict: str, split: str = "heldout", second: list[int] | None = None
) -> dict:
    judgings = [{"judge": "frontier-a", "brief": "sha", "scores": dict(zip(DIMS, scores)), "verdict": verdict}]
    if second is not None:
        judgings.append({"judge": "frontier-b", "brief": "sha", "scores": dict(zip(DIMS, second)), "verdict": verdict})
    candidate = {"title": "t", "questions": [f"{item} question {i} for {task}?" for i in range(7)]}
    return {
        "item": item,
        "task_id": task,
        "split": split,
        "input": f"plan {task}",
        "gold": GOLD,
        "gold_alt": GOLD,
        "candidate": candidate,
        "source": source,
        "judgings": judgings,
    }


def write_labels(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def label_set(tmp_path: Path) -> list[dict]:
    """Three sources over four tasks, with clear quality levels and one double-judged item per task."""
    rows = []
    for t in range(4):
        rows.append(label_row(f"a{t}", f"task{t}", "agent:weak", [2, 1 + t % 2, 1, 2, 2], "loss", second=[2, 1, 1, 2, 3]))
        rows.append(label_row(f"b{t}", f"task{t}", "agent:strong", [4, 4, 3 + t % 2, 4, 5], "loss"))
        rows.append(label_row(f"c{t}", f"task{t}", "gold_alt", [5, 5, 5, 5, 5], "tie", split="heldout" if t < 3 else "fit"))
    return rows

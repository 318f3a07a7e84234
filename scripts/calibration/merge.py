"""Merge blind judgings back onto the candidate pool: one label row per pool row (calibration/labels.jsonl).

Usage: python scripts/calibration/merge.py OUT.jsonl --brief BRIEF.md --key KEY.json [--key ...]
         --judged DIR [--judge-name NAME] [--append]

Reads every DIR/<batch>.out.jsonl written by a judge for DIR/<batch>.jsonl. A pool row whose
candidate was never judged is left out (and counted). Rows sharing one candidate (two agents gave
the same answer) share its judgings.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")
VERDICT = {"candidate": "win", "tie": "tie", "reference": "loss"}


def read_judgings(folder: Path, brief: str, judge_name: str, dims: tuple[str, ...]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("*.out.jsonl")):
        batch = path.name.removesuffix(".out.jsonl")
        asked = {json.loads(line)["item"] for line in (folder / f"{batch}.jsonl").read_text().splitlines() if line.strip()}
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("item") not in asked or row.get("verdict") not in VERDICT:
                continue
            scores = {d: int(row[d]) for d in dims}
            out.setdefault(row["item"], []).append(
                {"judge": f"{judge_name}, batch {batch}", "brief": brief, "scores": scores, "verdict": VERDICT[row["verdict"]]}
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--brief", type=Path, required=True)
    ap.add_argument("--key", type=Path, action="append", required=True)
    ap.add_argument("--judged", type=Path, required=True)
    ap.add_argument("--judge-name", default="frontier model (Claude, a parity session helper), blind")
    ap.add_argument("--dims", default=",".join(DIMS))
    args = ap.parse_args()
    brief = hashlib.sha256(args.brief.read_bytes()).hexdigest()
    judgings = read_judgings(args.judged, brief, args.judge_name, tuple(args.dims.split(",")))
    rows, missing = [], 0
    for key_path in args.key:
        key = json.loads(key_path.read_text())
        pool = [json.loads(line) for line in Path(key["pool"]).read_text().splitlines()]
        for item, indices in key["items"].items():
            if item not in judgings:
                missing += len(indices)
                continue
            for n, index in enumerate(indices):
                p = pool[index]
                rows.append(
                    {
                        "item": item if n == 0 else f"{item}.{n}",
                        "task_id": p["task_id"],
                        "split": p["split"],
                        "category": p["category"],
                        "difficulty": p["difficulty"],
                        "input": p["input"],
                        "gold": p["gold"],
                        "gold_alt": p["gold_alt"],
                        "candidate": p["candidate"],
                        "source": p["source"],
                        "judgings": judgings[item][:2],
                    }
                )
    rows.sort(key=lambda r: (r["split"], r["task_id"], r["source"], r["item"]))
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    twice = sum(len(r["judgings"]) > 1 for r in rows if "." not in r["item"])
    print(f"{len(rows)} label rows ({twice} unique items judged twice); {missing} pool rows not judged yet -> {args.out}")


if __name__ == "__main__":
    main()

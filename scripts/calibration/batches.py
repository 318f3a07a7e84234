"""Blind judging batches from a candidate pool (collect.py): no source, shuffled, deduplicated.

Usage: python scripts/calibration/batches.py POOL.jsonl OUTDIR --prefix d1 [--size 75] [--double 0.22] [--seen KEY ...]

Writes OUTDIR/<prefix>-NN.jsonl (first judgings) and OUTDIR/<prefix>-rNN.jsonl (second, independent
judgings of a random share of the items, given to other judges), plus OUTDIR/private/<prefix>-key.json
mapping each opaque item id to its pool rows. With --seen, items judged in an earlier wave keep their
id and are not batched again, so the newest key maps the whole pool: merge with it alone. Judges see only `item`, `task`, `reference` and
`candidate` (questions or text); titles are not scored.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path


def _shown(answer: dict) -> object:
    return answer["text"] if "text" in answer else answer["questions"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("pool", type=Path)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--size", type=int, default=75)
    ap.add_argument("--double", type=float, default=0.22)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seen", type=Path, action="append", default=[], help="an earlier key: its items are not batched again")
    args = ap.parse_args()
    seen = {item.split("-", 1)[1]: item for path in args.seen for item in json.loads(path.read_text())["items"]}
    rng = random.Random(args.seed)
    pool = [json.loads(line) for line in args.pool.read_text().splitlines()]
    unique: dict[str, dict] = {}
    key: dict[str, list[int]] = {}
    for index, row in enumerate(pool):
        shown = {"task": row["input"], "reference": _shown(row["gold"]), "candidate": _shown(row["candidate"])}
        digest = hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:10]
        if digest in seen:  # judged in an earlier wave: mapped to that item, not batched again
            key.setdefault(seen[digest], []).append(index)
            continue
        item = f"{args.prefix}-{digest}"
        unique.setdefault(item, {"item": item, **shown})
        key.setdefault(item, []).append(index)
    items = list(unique.values())
    rng.shuffle(items)
    twice = rng.sample(items, round(len(items) * args.double))
    rng.shuffle(twice)
    (args.outdir / "private").mkdir(parents=True, exist_ok=True)
    for label, chosen in (("", items), ("r", twice)):
        for n in range(0, len(chosen), args.size):
            path = args.outdir / f"{args.prefix}-{label}{n // args.size + 1:02d}.jsonl"
            path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in chosen[n : n + args.size]))
    (args.outdir / "private" / f"{args.prefix}-key.json").write_text(json.dumps({"pool": str(args.pool.resolve()), "items": key}))
    print(f"{len(pool)} pool rows -> {len(items)} unique items, {len(twice)} judged twice, batches of {args.size} in {args.outdir}")


if __name__ == "__main__":
    main()

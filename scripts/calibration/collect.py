"""Collect the candidate answers of a calibration set into one pool (no labels yet).

Usage: python scripts/calibration/collect.py OUT.jsonl --task-file TASKS.jsonl [--store WS ...]
  [--degraded FILE ...] [--rename OLD=NEW ...]

Each pool row: task_id, split, category, difficulty, input, gold, gold_alt, candidate, source.
Sources: `agent:NAME` (every experiment in each workspace store, by agent name; with --by-experiment
`agent:NAME#ID`, which keeps apart a loop's trials, all named after the loop's base agent; --rename
turns an agent that serves an adapter into `adapter:NAME`),
`gold_alt`, `degraded:KIND` from hand-written files, and three mechanical degradations that need no
writing: another task's gold (`degraded:other_task_gold`), the gold with four questions swapped for
generic filler (`degraded:generic_filler`) and the gold's first question seven times
(`degraded:repeated`); for free text, the gold's first sentence five times (`degraded:looped`) and
its first two fifths, cut mid-thought (`degraded:cut_off`).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
from pathlib import Path

GENERIC = [
    "Can you tell me more about what you need?",
    "What is your budget?",
    "What is your timeline?",
    "Do you have any preferences?",
    "What are your goals?",
    "Is there anything else I should know?",
    "Are there any constraints I should be aware of?",
    "What have you tried so far?",
]


def stored_answers(workspace: Path, by_experiment: bool = False) -> list[tuple[str, str, dict]]:
    """(case_id, source, answer) for every finished experiment's answers in a workspace's SQLite store."""
    db = sqlite3.connect(workspace / ".parity" / "parity.db")
    rows = db.execute(
        "select e.id, e.agent_name, c.case_id, c.answer from case_results c join experiments e on e.id = c.experiment_id "
        "where e.status = 'done' and c.answer is not null order by e.id, c.id"
    ).fetchall()
    answers = [
        (case_id, f"agent:{agent}#{eid}" if by_experiment else f"agent:{agent}", json.loads(answer)) for eid, agent, case_id, answer in rows
    ]
    return [a for a in answers if a[2] is not None]  # an agent failure has no answer to label


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--task-file", type=Path, required=True, help="tasks: id, category, difficulty, input, gold, gold_alt, split")
    ap.add_argument("--store", type=Path, action="append", default=[])
    ap.add_argument("--degraded", type=Path, action="append", default=[])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--by-experiment", action="store_true", help="name sources agent:NAME#ID, one per stored experiment")
    ap.add_argument(
        "--rename",
        action="append",
        default=[],
        help="OLD=NEW source names, e.g. agent:sft_s25=adapter:sft-s25 (an adapter served as a GGUF)",
    )
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tasks = {t["id"]: t for t in map(json.loads, args.task_file.read_text().splitlines())}
    pool: list[dict] = []

    renamed = dict(spec.split("=", 1) for spec in args.rename)

    def add(task_id: str, source: str, candidate: dict) -> None:
        t = tasks[task_id]
        source = renamed.get(source, source)
        pool.append(
            {k: t[k] for k in ("category", "difficulty", "input", "gold", "gold_alt", "split")}
            | {"task_id": task_id, "candidate": candidate, "source": source}
        )

    for ws in args.store:
        for case_id, source, answer in stored_answers(ws, args.by_experiment):
            if case_id in tasks:
                add(case_id, source, answer)
    for path in args.degraded:
        for row in map(json.loads, path.read_text().splitlines()):
            if row["case_id"] in tasks:
                add(row["case_id"], f"degraded:{row['kind']}", row["answer"])
    ids = sorted(tasks)
    for task_id in ids:
        t = tasks[task_id]
        if t.get("gold_alt"):
            add(task_id, "gold_alt", t["gold_alt"])
        other = rng.choice([i for i in ids if tasks[i]["category"] != t["category"]])
        add(task_id, "degraded:other_task_gold", tasks[other]["gold"])
        if "text" in t["gold"]:
            text = t["gold"]["text"]
            first = text.split(". ")[0].rstrip(".") + "."
            add(task_id, "degraded:looped", {"text": " ".join([first] * 5)})
            words = text.split()
            add(task_id, "degraded:cut_off", {"text": " ".join(words[: max(8, len(words) * 2 // 5)])})
            continue
        questions = list(t["gold"]["questions"])
        for slot, filler in zip(sorted(rng.sample(range(7), 4)), rng.sample(GENERIC, 4)):
            questions[slot] = filler
        add(task_id, "degraded:generic_filler", {"title": t["gold"]["title"], "questions": questions})
        add(task_id, "degraded:repeated", {"title": t["gold"]["title"], "questions": [t["gold"]["questions"][0]] * 7})
    args.out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in pool))
    print(f"{len(pool)} candidates over {len({r['task_id'] for r in pool})} tasks -> {args.out}")


if __name__ == "__main__":
    main()

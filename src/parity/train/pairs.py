"""Preference pairs for DPO and ORPO, from the corpus only.

- onpolicy: chosen = the teacher's answer, rejected = the current agent's own draft for the same
  corpus input (what the model does now is what it should move away from);
- style: chosen and rejected from two teacher styles: the corpus answer and a second file of
  answers to the same ids, written in the style to move away from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from parity.agent import Agent
from parity.errors import ParityError
from parity.io import read_jsonl
from parity.progress import Progress
from parity.ruler import Ruler
from parity.task import Workspace
from parity.train.data import TrainingData, check_no_ruler_inputs, prompt_messages


def _turn(answer: Any) -> list[dict[str, str]]:
    """An answer as the assistant's turn; a structured answer as its JSON."""
    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
    return [{"role": "assistant", "content": text}]


def onpolicy_pairs(ws: Workspace, ruler: Ruler, agent: Agent, name: str, limit: int | None = None) -> TrainingData:
    corpus = agent.corpus
    check_no_ruler_inputs(corpus, ruler, ws.shown(ws.corpus_path))
    demos = corpus.demos[:limit] if limit else corpus.demos
    rows, skipped = [], {"failed": 0, "same_as_teacher": 0}
    with Progress(transient=True) as progress:
        task = progress.add_task(f"drafting with {agent.name}", total=len(demos))
        for demo in demos:
            output = agent.answer(demo.input)
            progress.advance(task)
            if output.answer is None:
                skipped["failed"] += 1
                continue
            draft = output.answer.as_output()
            if draft == demo.answer_text():
                skipped["same_as_teacher"] += 1
                continue
            rows.append(
                {"id": demo.id, "prompt": prompt_messages(agent, demo.input), "chosen": _turn(demo.answer_text()), "rejected": _turn(draft)}
            )
    provenance = {
        "mode": "onpolicy",
        "corpus_fingerprint": corpus.fingerprint,
        "agent": agent.name,
        "agent_config": agent.config.model_dump(),
        "skipped": skipped,
        "n": len(rows),
    }
    return TrainingData(name, "pairs-onpolicy", rows, provenance)


def style_pairs(ws: Workspace, ruler: Ruler, agent: Agent, name: str, rejected_file: Path) -> TrainingData:
    corpus = agent.corpus
    check_no_ruler_inputs(corpus, ruler, ws.shown(ws.corpus_path))
    if not rejected_file.is_file():
        raise ParityError(f"no file at {rejected_file}", "--rejected", "pass a JSONL file of {id, answer} in the style to move away from")
    other = {str(row.get("id")): row.get("answer") for _, row in read_jsonl(rejected_file, str(rejected_file))}
    rows = [
        {
            "id": d.id,
            "prompt": prompt_messages(agent, d.input),
            "chosen": _turn(d.answer_text()),
            "rejected": _turn(other[d.id]),
        }
        for d in corpus.demos
        if d.id in other
    ]
    if not rows:
        raise ParityError(f"no id in {rejected_file} matches a corpus id", "--rejected", "use the corpus ids (corpus/train.jsonl)")
    provenance = {"mode": "style", "corpus_fingerprint": corpus.fingerprint, "rejected_from": str(rejected_file), "n": len(rows)}
    return TrainingData(name, "pairs-style", rows, provenance)

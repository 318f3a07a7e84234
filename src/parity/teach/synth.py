"""`parity corpus synth`: new corpus inputs written by the teacher from seed examples, a category at a
time in turn, each refused when it repeats (MiniLM cosine ≥ NEAR_DUPLICATE, or the same text normalized)
a corpus input, an input written earlier in the run, or any ruler input; then answered by the teacher and
validated against the task. Each row is added to corpus/train.jsonl atomically as soon as it validates.

`--n N` is how many synthesized rows (ids `synth-…`) the corpus should hold: a run stopped by a kill or the
budget, run again, asks the teacher the same questions (the completion cache answers them), refuses what
it already wrote as a repeat, and tops the corpus up to N: nothing lost, nothing twice."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity.agent.corpus import NEAR_DUPLICATE
from parity.cases import input_text
from parity.errors import ParityError
from parity.io import atomic_write_text, parse_json, read_jsonl
from parity.leak import normalize_question
from parity.models import Request
from parity.models.embedder import Embedder
from parity.task import Workspace
from parity.teach.teacher import Teacher

PER_CALL = 5  # inputs asked for in one call
MIN_CHARS = 3  # an input with fewer letters or digits than this is no input ("1.", ",")
SEEDS_SHOWN = 4  # seed examples in each call
SYNTH_PREFIX = "synth-"
WRITE_INPUTS = (
    "You write realistic inputs for this feature: {description}\n"
    "Here are examples of real inputs:\n{examples}\n\n"
    "Write {n} new inputs{category}, each different from the examples and from each other in situation, "
    'wording and length. Reply with only a JSON object {{"inputs": [...]}}.'
)


@dataclass
class SynthReport:
    written: list[str] = field(default_factory=list)
    repeats: int = 0  # inputs refused as repeats of the corpus, of this run, or of the ruler (or as empty)
    ruler_repeats: int = 0  # of them, near a ruler input
    failed: dict[str, str] = field(default_factory=dict)  # input (clipped) -> why the teacher's answer was refused
    calls: int = 0


def synthesize(
    ws: Workspace,
    teacher: Teacher,
    embedder: Embedder,
    n: int,
    seeds: list[str],
    categories: list[str | None],
    ruler_inputs: list[str],
    report: SynthReport,
    step: Callable[[], None] = lambda: None,
) -> SynthReport:
    """Add rows until the corpus holds `n` synthesized ones; `report` is filled as they are written, so what a
    stop leaves behind can still be recorded."""
    corpus = CorpusFile(ws)
    rows = corpus.rows
    if not seeds:
        raise ParityError(
            "no seed examples to write new inputs from", "--seeds", "pass --seeds FILE (JSONL with an input per line), or add corpus rows"
        )
    guard = RepeatGuard(embedder, [input_text(row.get("input"), ws.task) for row in rows if "input" in row], ruler_inputs)
    have = sum(str(row.get("id", "")).startswith(SYNTH_PREFIX) for row in rows)
    max_calls = 4 * max(1, -(-n // PER_CALL)) * max(1, len(categories)) + 8
    call = 0
    while have < n:
        if call >= max_calls:
            raise ParityError(
                f"the teacher wrote only {have} of {n} new inputs in {call} calls; the rest repeated earlier ones",
                "--n",
                "ask for fewer, give more varied --seeds, or use another --teacher",
            )
        category = categories[call % len(categories)]
        for candidate in _new_inputs(ws, teacher, seeds, category, call):
            if have >= n:
                break
            try:
                text = input_text(candidate, ws.task)
            except ValueError:
                continue
            verdict = "empty" if len(re.findall(r"\w", text)) < MIN_CHARS else guard.admit(text)
            if verdict is not None:
                report.repeats += 1
                report.ruler_repeats += verdict == "ruler"
                continue
            taught = teacher.answer(text)
            if taught.answer is None:
                report.failed[text[:80]] = taught.failure or "no answer"
                continue
            row = corpus.add(SYNTH_PREFIX, text, candidate, taught.answer.shown(), category)
            report.written.append(row["id"])
            have += 1
            step()
        call += 1
        report.calls = call
    return report


def _new_inputs(ws: Workspace, teacher: Teacher, seeds: list[str], category: str | None, call: int) -> list[Any]:
    rng = np.random.default_rng(call)
    shown = [seeds[i] for i in rng.choice(len(seeds), size=min(SEEDS_SHOWN, len(seeds)), replace=False)]
    prompt = WRITE_INPUTS.format(
        description=ws.task.description,
        examples="\n".join(f"- {example}" for example in shown),
        n=PER_CALL,
        category=f" in the category '{category}'" if category else "",
    )
    request = Request(
        messages=({"role": "user", "content": prompt},),
        temperature=0.9,
        top_p=0.95,
        max_tokens=1024,
        seed=call,
        schema=inputs_schema(ws),
        repeat=call,
    )
    completion = teacher.complete(request)
    try:
        inputs = parse_json(completion.text).get("inputs", [])
    except (ValueError, AttributeError):
        return []
    return inputs if isinstance(inputs, list) else []


def inputs_schema(ws: Workspace) -> dict[str, Any]:
    fields = ws.task.input_fields
    item: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 1000}
    if fields:
        item = {"type": "object", "properties": dict.fromkeys(fields, item), "required": fields, "additionalProperties": False}
    return {
        "type": "object",
        "properties": {"inputs": {"type": "array", "items": item, "minItems": 1, "maxItems": PER_CALL}},
        "required": ["inputs"],
        "additionalProperties": False,
    }


class CorpusFile:
    """corpus/train.jsonl as rows; each added row rewrites the file atomically, so a kill leaves it whole."""

    def __init__(self, ws: Workspace):
        self.path = ws.corpus_path
        self.rows = [row for _, row in read_jsonl(self.path, ws.shown(self.path))] if self.path.is_file() else []

    def add(self, prefix: str, text: str, value: Any, answer: Any, category: str | None) -> dict[str, Any]:
        row = {"id": prefix + hashlib.sha256(text.encode()).hexdigest()[:12], "input": value, "answer": answer}
        if category is not None:
            row["category"] = category
        self.rows.append(row)
        atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rows))
        return row


class RepeatGuard:
    """Admits an input unless it repeats a known one: the same text normalized, or MiniLM ≥ NEAR_DUPLICATE."""

    def __init__(self, embedder: Embedder, known: list[str], ruler: list[str]):
        self.embedder = embedder
        self.texts = {normalize_question(t) for t in known}
        self.ruler_texts = {normalize_question(t) for t in ruler}
        self.vectors = [*embedder.encode(known)] if known else []
        self.ruler_vectors = embedder.encode(ruler) if ruler else np.zeros((0, 1))

    def admit(self, text: str) -> str | None:
        """None when admitted (and remembered); "ruler" or "repeat" when refused."""
        normal = normalize_question(text)
        vector = self.embedder.encode([text])[0]
        if normal in self.ruler_texts or (len(self.ruler_vectors) and float((self.ruler_vectors @ vector).max()) >= NEAR_DUPLICATE):
            return "ruler"
        if normal in self.texts or (self.vectors and float((np.stack(self.vectors) @ vector).max()) >= NEAR_DUPLICATE):
            return "repeat"
        self.texts.add(normal)
        self.vectors.append(vector)
        return None


def ruler_inputs(ws: Workspace) -> list[str]:
    """Every ruler input, read from the lines as they are (the ruler may still lack its gold)."""
    if not ws.cases_path.is_file():
        return []
    found = []
    for where, row in read_jsonl(ws.cases_path, ws.shown(ws.cases_path)):
        try:
            found.append(input_text(row.get("input"), ws.task))
        except ValueError as exc:
            raise ParityError(str(exc), where, "fix the input on that line") from None
    return found


def seed_inputs(ws: Workspace, path: str | None) -> tuple[list[str], list[str]]:
    """(seed inputs, their categories): from --seeds FILE, else the corpus's own rows."""
    source = ws.root / path if path else ws.corpus_path
    shown = path or ws.shown(ws.corpus_path)
    if path and not source.is_file():
        raise ParityError("seeds file not found", shown, "pass a JSONL file with an input (and optionally a category) per line")
    if not source.is_file():
        return [], []
    seeds, categories = [], []
    for where, row in read_jsonl(source, shown):
        try:
            seeds.append(input_text(row.get("input"), ws.task))
        except ValueError as exc:
            raise ParityError(str(exc), where, "fix the input on that line") from None
        if isinstance(row.get("category"), str) and row["category"] not in categories:
            categories.append(row["category"])
    return seeds, categories

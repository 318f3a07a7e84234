"""`parity corpus import FILE --format openai-chat|jsonl`: logged teacher calls become corpus rows, through
the same checks as synthesized ones: the input and the answer validated against the task, and an input
that repeats the corpus, an earlier line or a ruler input refused (teach/synth.py's RepeatGuard).

- `openai-chat`: one chat-completions call a line, either `{"messages": [..., {"role": "assistant", ...}]}`
  (the fine-tuning and stored-completions shape) or `{"request": {"messages": [...]}, "response":
  {"choices": [{"message": {"content": ...}}]}}` (a logged request and its response). The input is the last
  user message (for object inputs, its JSON text); the answer is the assistant's reply, read as the model's
  output is read.
- `jsonl`: the corpus's own shape, `{"input": ..., "answer": ...}`.

A line that cannot be read or validated is skipped and counted, the first reason shown; running the same
import again adds nothing twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.agent.corpus import Corpus
from parity.cases import input_text
from parity.io import parse_json, read_jsonl
from parity.models.embedder import Embedder
from parity.task import Workspace, answer_from_text, parse_answer
from parity.teach.synth import CorpusFile, RepeatGuard

FORMATS = ("openai-chat", "jsonl")
IMPORT_PREFIX = "import-"


@dataclass
class ImportReport:
    written: list[str] = field(default_factory=list)
    repeats: int = 0
    ruler_repeats: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # file:line -> why


def import_rows(ws: Workspace, path: Path, shown: str, fmt: str, embedder: Embedder, ruler_inputs: list[str]) -> ImportReport:
    corpus = CorpusFile(ws)
    Corpus.load(ws.corpus_path, None, ws.shown(ws.corpus_path), ws.task)  # a bad entry already there is named before anything is added
    guard = RepeatGuard(embedder, [input_text(row.get("input"), ws.task) for row in corpus.rows if "input" in row], ruler_inputs)
    report = ImportReport()
    rows = list(read_jsonl(path, shown))  # the whole file read first: a bad line further down writes nothing
    for where, obj in rows:
        try:
            value, answer = _openai_chat(obj, ws) if fmt == "openai-chat" else _jsonl(obj, ws)
            text = input_text(value, ws.task)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            report.skipped[where] = str(exc) or type(exc).__name__
            continue
        verdict = guard.admit(text)
        if verdict is not None:
            report.repeats += 1
            report.ruler_repeats += verdict == "ruler"
            continue
        category = obj.get("category") if isinstance(obj.get("category"), str) else None
        report.written.append(corpus.add(IMPORT_PREFIX, text, value, answer, category)["id"])
    return report


def _jsonl(obj: dict[str, Any], ws: Workspace) -> tuple[Any, Any]:
    return obj["input"], parse_answer(obj["answer"], ws.task).shown()


def _openai_chat(obj: dict[str, Any], ws: Workspace) -> tuple[Any, Any]:
    messages = obj.get("messages") or obj["request"]["messages"]
    if not isinstance(messages, list):
        raise ValueError("'messages' is not a list")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users or not isinstance(users[-1].get("content"), str):
        raise ValueError("no user message with text content")
    if "response" in obj:
        reply = obj["response"]["choices"][0]["message"]["content"]
    else:
        replies = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
        if not replies:
            raise ValueError("no assistant reply")
        reply = replies[-1].get("content")
    if not isinstance(reply, str):
        raise ValueError("the reply has no text content")
    content = users[-1]["content"]
    value = parse_json(content) if ws.task.input_fields else content
    return value, answer_from_text(reply, ws.task).shown()

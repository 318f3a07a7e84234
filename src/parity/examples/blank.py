"""A blank workspace for the user's own feature (`parity init DIR --task "what the feature does"`): a
commented parity.toml for a json task, a schema stub, an empty ruler with a note on filling it, an empty
corpus folder with its own note, and a baseline agent on the bundled model."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import tomlkit

from parity.errors import ParityError

CONFIG = """\
# parity workspace: {name}.
# Everything in [task], [rubric], [judge], [metric] and [gates], and task/schema.json, is the frozen
# ruler: `parity ruler lock` fingerprints it, and `parity run` refuses once it changes until you re-lock.
# Every key is in docs/configuration.md.

[task]
name = {name_toml}
description = {description}
kind = "json"                 # answers are JSON objects; "free_text" for prose replies
schema = "task/schema.json"   # the answers' JSON Schema: edit it to your feature's output
# Inputs are strings. For inputs with named parts, declare them; prompts then use {{input.FIELD}}:
# input_fields = ["subject", "message"]

[rubric]
scale_min = 1
scale_max = 5

# One table per dimension. `fields` names the answer fields a dimension is about (the reference judge
# compares those fields with the gold; an LLM judge reads the description). Weights need not sum to 1.
[rubric.dimensions.correct]
weight = 1.0
description = "The answer is what a careful expert would return for this input."
# fields = ["answer"]

[metric]
rubric_weight = 0.5
pairwise_weight = 0.5
confidence = 0.95
bootstrap_samples = 2000
seed = 0

[judge]
# The offline reference judge compares each field with the gold: exact for enums, numbers and
# booleans, MiniLM similarity for text. It is a screening judge; for decisions use an LLM judge:
#   kind = "llm"
#   model = "litellm:anthropic/claude-sonnet-4-5"
kind = "reference"
embedder = "all-minilm-l6-v2"
tie_margin = 0.05

[gates]
# Once the ruler has cases, list about ten of their ids as the quick screening gate:
# dev = ["case-1", "case-2"]
dev = "all"
full = "all"

[store]
# Leave unset for SQLite at .parity/parity.db (the PARITY_DB environment variable wins).
"""

SCHEMA = {
    "$comment": "The JSON Schema every answer must satisfy; part of the ruler. Replace this stub with your feature's output.",
    "type": "object",
    "properties": {"answer": {"type": "string", "minLength": 1, "maxLength": 1000}},
    "required": ["answer"],
    "additionalProperties": False,
}

RULER_NOTE = """\
# The ruler: held-out cases with gold answers

`cases.jsonl` holds one case per line; it is empty until you fill it, and `parity ruler lock` refuses
an empty ruler. A case:

    {"id": "case-1", "category": "a group you report by", "difficulty": "easy",
     "input": "the input, as your feature receives it",
     "gold": {...the answer a careful expert would give, valid under task/schema.json...},
     "gold_alt": {...a second expert's answer, written without seeing gold (optional: it sets the ceiling)...},
     "meta": {...anything you want kept with the case (optional)...}}

`difficulty` is easy, medium or hard. Pick inputs your feature really gets, over every kind you care
about, and keep them out of `corpus/`. Then `parity ruler lock`.
"""

CORPUS_NOTE = """\
# The corpus: what agents may learn from

`train.jsonl` (one row per line: {"id": ..., "input": ..., "answer": ...}) holds the teacher's answers
that few-shot retrieval shows and training learns from. It must never repeat a ruler input.
"""

AGENT = """\
# The stock embedded model, one call, greedy: the baseline every experiment is compared with.
model: llamacpp:smollm2-135m
prompt:
  system: |
    {task_description}
  user: |
    {input}

    Answer with only a JSON object that follows this JSON Schema:
    {schema}
decoding:
  temperature: 0.0
  max_tokens: 512
  seed: 0
strategy: single
"""


def write_blank(target: Path, task: str) -> Path:
    description = task.strip()
    if not description:
        raise ParityError("--task is empty", "--task", 'say in a sentence what the feature does, e.g. --task "triage support emails"')
    target = target.resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ParityError("directory is not empty", str(target), "choose a new directory, or empty this one")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", target.name).strip("-") or "feature"
    description_toml = _toml_string(description)  # refuses text no file can hold before anything is written
    files = {
        "parity.toml": CONFIG.format(name=name, name_toml=tomlkit.string(name).as_string(), description=description_toml),
        "task/schema.json": json.dumps(SCHEMA, indent=2) + "\n",
        "ruler/cases.jsonl": "",
        "ruler/README.md": RULER_NOTE,
        "corpus/README.md": CORPUS_NOTE,
        "agents/baseline.yaml": AGENT,
    }
    # Write into a sibling temp folder, then rename: a failed init leaves nothing half-written.
    staging = target.with_name(f".{target.name}.parity-init")
    if staging.exists():
        raise ParityError("a folder from an interrupted init is in the way", str(staging), "remove it, then run parity init again")
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)  # parity's own half-written folder
        raise ParityError(f"cannot write the workspace ({exc.strerror})", str(target), "choose a folder you can write") from None
    return target


def _toml_string(text: str) -> str:
    """A TOML string holding `text` exactly (quotes, backslashes, control characters escaped)."""
    try:
        text.encode("utf-8")
        return tomlkit.string(text).as_string()
    except (ValueError, tomlkit.exceptions.TOMLKitError):  # UnicodeEncodeError (a lone surrogate) is a ValueError
        raise ParityError("--task holds characters a TOML file cannot", "--task", "use plain text") from None

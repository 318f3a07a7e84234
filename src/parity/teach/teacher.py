"""The teacher: a model spec asked for answers in the task's format, validated, asked once more when an
answer does not validate, and kept within a budget. Calls go through the completion cache, so a command
run again after a kill, or with the same teacher, costs nothing for what it already asked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import parity.json_shape as json_shape
from parity.errors import ParityError
from parity.io import one_line
from parity.models import Completion, Model, Request, open_model, parse_spec
from parity.models.cost import Budget, estimate
from parity.store import DatasetRow, Store
from parity.task import Answer, TaskSpec, Workspace, answer_from_text, answer_schema

SYSTEM = "You are the expert whose answers set the standard for this task: {description}\n{shape}"
INDEPENDENT = "\nAnother expert answers the same input separately; write your own answer from your own judgment, not the most obvious one."
SHAPES = {
    "json": "Reply with only a JSON object that follows this JSON Schema:\n{schema}",
    "questions": 'Reply with only a JSON object: {{"title": a short restatement of the task, "questions": exactly {n} clarifying questions}}.',
    "free_text": "Reply with the answer itself, in prose, and nothing else.",
}
ATTEMPTS = 2  # an answer that fails validation is asked for once more, then recorded as failed
MAX_TOKENS = 1024


class BudgetStop(Exception):
    """The next call could exceed --budget-usd: nothing more is asked; what was written stays."""


def prompt_hash() -> str:
    """Part of every provenance record: which prompts the teacher was given."""
    return hashlib.sha256("\x00".join([SYSTEM, INDEPENDENT, *SHAPES.values()]).encode()).hexdigest()


@dataclass
class Taught:
    answer: Answer | None
    failure: str | None  # why no answer: the validation error of the last attempt
    cost_usd: float


class Teacher:
    def __init__(self, ws: Workspace, spec: str, budget: Budget, use_cache: bool = True, option: str = "--teacher"):
        self.spec = spec
        self.task = ws.task
        self.budget = budget
        cache = ws.state_dir / "cache" / "completions" if use_cache else None
        self.model: Model = open_model(parse_spec(spec, option), ws.root, cache, where=option)

    def system(self, independent: bool) -> str:
        return SYSTEM.format(description=self.task.description, shape=shape(self.task)) + (INDEPENDENT if independent else "")

    def answer(self, case_input: str, *, independent: bool = False, seed: int = 0, attempt_offset: int = 0) -> Taught:
        """The teacher's answer to one input, validated; `independent` (a second expert) is told to answer on
        its own; `seed` and `attempt_offset` make another draw of the same question (not a cache hit)."""
        messages = ({"role": "system", "content": self.system(independent)}, {"role": "user", "content": case_input})
        failure, spent = None, 0.0
        for attempt in range(ATTEMPTS):
            request = Request(
                messages=messages,
                temperature=0.0 if attempt + attempt_offset == 0 else 0.7,
                top_p=1.0,
                max_tokens=MAX_TOKENS,
                seed=seed,
                schema=answer_schema(self.task),
                repeat=attempt + attempt_offset,
            )
            completion = self.complete(request)
            spent += 0.0 if completion.cached else completion.cost_usd
            if completion.finish_reason == "length":
                failure = f"truncated at {MAX_TOKENS} tokens"
                continue
            try:
                return Taught(answer_from_text(completion.text, self.task), None, spent)
            except ValueError as exc:  # a JSONDecodeError is one
                failure = f"invalid answer: {exc}"
        return Taught(None, failure, spent)

    def complete(self, request: Request) -> Completion:
        worst = estimate(self.model, [request]).high_usd
        if not self.budget.reserve(worst):
            raise BudgetStop
        completion = self.model.complete(request)
        self.budget.settle(worst, 0.0 if completion.cached else completion.cost_usd)
        return completion


def shape(task: TaskSpec) -> str:
    if task.is_json:
        return SHAPES["json"].format(schema=json_shape.for_prompt(task.output_schema))
    return SHAPES[task.kind].format(n=task.n_questions)


def budget_error(budget: Budget, done: str, command: str) -> ParityError:
    return ParityError(
        f"stopped before exceeding --budget-usd {budget.limit} (spent ${budget.spent:.4f}); {done}",
        "--budget-usd",
        f"what was written is kept: run `{command}` again with a larger budget to go on",
    )


def record(store: Store, path: Path, shown: str, kind: str, teachers: list[Teacher], details: dict[str, Any]) -> None:
    """The store's provenance of what teachers wrote into `path`: who, with which prompts, when, what failed."""
    when = datetime.now(UTC)
    store.save_dataset(
        DatasetRow(
            name=f"{kind}-{when:%Y%m%d-%H%M%S}",
            kind=kind,
            fingerprint=hashlib.sha256(path.read_bytes()).hexdigest(),
            n_rows=len(details.get("written", [])),
            path=shown,
            provenance={
                "teachers": [t.spec for t in teachers],
                "prompt_hash": prompt_hash(),
                "date": when.isoformat(),
                **{
                    k: ({key: one_line(str(v)) for key, v in value.items()} if isinstance(value, dict) else value)
                    for k, value in details.items()
                },
            },
        )
    )

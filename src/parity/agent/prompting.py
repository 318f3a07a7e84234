"""Turn an agent's prompt templates and a case input into chat messages."""

from __future__ import annotations

from pathlib import Path

import parity.json_shape as json_shape
from parity.agent.settings import PromptConfig, TemplateInput, input_fields_used
from parity.cases import input_values
from parity.errors import ParityError
from parity.task import TaskSpec


def build_messages(
    prompt: PromptConfig, task: TaskSpec, case_input: str, n_questions: int | None = None, system: bool = True
) -> tuple[dict[str, str], ...]:
    values = {
        "input": TemplateInput(case_input, input_values(case_input, task)),
        "n_questions": n_questions or task.n_questions,
        "task_description": task.description,
        "schema": json_shape.for_prompt(task.output_schema) if task.is_json else "",
    }
    messages = []
    if system and prompt.system.strip():
        messages.append({"role": "system", "content": prompt.system.format_map(values).strip()})
    messages.append({"role": "user", "content": prompt.user.format_map(values).strip()})
    return tuple(messages)


def check_input_fields(prompt: PromptConfig, task: TaskSpec, path: Path, shown: str) -> None:
    """Refuse, when the agent loads, a template naming an input field the task's inputs do not have."""
    declared = task.input_fields or []
    for template in (prompt.system, prompt.user):
        for name in input_fields_used(template):
            if name not in declared:
                have = f"the task's inputs have {', '.join(declared)}" if declared else "the task's inputs are plain strings"
                line = _line_of(path, "{input." + name)
                raise ParityError(
                    f"the prompt uses {{input.{name}}}, but {have}",
                    f"{shown}:{line}" if line else shown,
                    "fix the field name, or declare it in parity.toml [task] input_fields",
                )


def _line_of(path: Path, needle: str) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((number for number, line in enumerate(lines, start=1) if needle in line), None)

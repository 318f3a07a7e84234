"""Question tasks (`[task] kind = "questions"`): an answer is a restated title and exactly `n_questions`
clarifying questions, as JSON. Its schema (what backends constrain generation with) and its check (what
every gold, corpus answer and model output passes) are here; parity/json_shape.py is the same for json
tasks, and parity/task.py picks one by the task's kind."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only a type here: task.py reads this module to parse its answers
    from parity.task import TaskSpec


def schema(task: TaskSpec, n: int) -> dict[str, Any]:
    question = {"type": "string", "minLength": 1, "maxLength": task.max_question_chars}
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": task.max_title_chars},
            "questions": {"type": "array", "items": question, "minItems": n, "maxItems": n},
        },
        "required": ["title", "questions"],
        "additionalProperties": False,
    }


def parse(obj: Any, task: TaskSpec, what: str, n_questions: int | None) -> tuple[str, tuple[str, ...]]:
    """(title, questions), stripped; ValueError names the problem. `n_questions`: what a pipeline asked for."""
    if not isinstance(obj, dict):
        raise ValueError(f"{what} must be an object with 'title' and 'questions'")
    for key in ("title", "questions"):
        if key not in obj:
            raise ValueError(f"{what} is missing field '{key}'")
    extra = set(obj) - {"title", "questions"}
    if extra:
        raise ValueError(f"{what} has unknown field(s) {sorted(extra)}")
    title, questions = obj["title"], obj["questions"]
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"{what}.title must be a non-empty string")
    if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
        raise ValueError(f"{what}.questions must be a list of non-empty strings")
    n = n_questions or task.n_questions
    if len(questions) != n:
        asker = "the task requires" if n_questions is None else "the pipeline asked for"
        raise ValueError(f"{what} has {len(questions)} questions, {asker} {n}")
    title, questions = title.strip(), [q.strip() for q in questions]
    if len(title) > task.max_title_chars:
        raise ValueError(f"{what}.title has {len(title)} characters, the task allows {task.max_title_chars}")
    for i, q in enumerate(questions, 1):
        if len(q) > task.max_question_chars:
            raise ValueError(f"{what} question {i} has {len(q)} characters, the task allows {task.max_question_chars}")
    return title, tuple(questions)

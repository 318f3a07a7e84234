"""Turn an agent's prompt templates and a case input into chat messages."""

from __future__ import annotations

from parity.agent.settings import PromptConfig
from parity.task import TaskSpec


def build_messages(
    prompt: PromptConfig, task: TaskSpec, case_input: str, n_questions: int | None = None, system: bool = True
) -> tuple[dict[str, str], ...]:
    values = {"input": case_input, "n_questions": n_questions or task.n_questions, "task_description": task.description}
    messages = []
    if system and prompt.system.strip():
        messages.append({"role": "system", "content": prompt.system.format_map(values).strip()})
    messages.append({"role": "user", "content": prompt.user.format_map(values).strip()})
    return tuple(messages)

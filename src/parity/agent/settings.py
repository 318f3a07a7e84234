"""The sections of an agent file that every agent has (prompt, decoding, few-shot), the strict base every
section extends and the prompt-template check. The strategy sections live with their strategies
(agent/strategies/); agent/config.py assembles the whole file."""

from __future__ import annotations

import json
from string import Formatter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from parity.task import INPUT_FIELD

# Variables a prompt template may use; anything else is refused when the agent is loaded.
PROMPT_VARIABLES = {
    "input": "the case input as the user typed it (an object input: its JSON text; {input.FIELD}: one field)",
    "n_questions": "how many questions the task requires",
    "task_description": "the task description from parity.toml",
    "schema": "the answers' JSON Schema (json tasks)",
}


class TemplateInput:
    """`{input}` in a template: the input's text; `{input.FIELD}`: that field of an object input."""

    def __init__(self, text: str, values: dict[str, Any]):
        self._text = text
        self._values = values

    def __format__(self, spec: str) -> str:
        return format(self._text, spec)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._values.get(name, "")
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def input_fields_used(template: str) -> list[str]:
    """The FIELD names of every `{input.FIELD}` in a template (already checked by checked_template)."""
    return [name.split(".", 1)[1] for _, name, _, _ in Formatter().parse(template) if name and name.startswith("input.")]


DEFAULT_SYSTEM = "You are a planning assistant. Before planning anything, you ask the user clarifying questions."
DEFAULT_USER = (
    "Task: {input}\n\nRestate the task as a short title, then write exactly {n_questions} clarifying questions "
    'you need answered before you can plan it.\nAnswer in JSON with the keys "title" and "questions".'
)


class Strict(BaseModel):
    """A section of an agent file: an unknown key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


def checked_template(template: str, variables: tuple[str, ...]) -> str:
    """A template that will render: only `variables`, and no conversion, format spec or field access
    that would fail mid-run (`{input!z}`, `{n_questions:d}` on text, `{input.x}`)."""
    allowed = ", ".join("{" + v + "}" for v in variables)
    try:
        fields = [(name, conversion) for _, name, _, conversion in Formatter().parse(template) if name is not None]
    except ValueError as exc:  # a lone brace
        raise ValueError(f"malformed template ({exc}); write a literal brace as {{{{ or }}}}") from None
    for name, conversion in fields:
        if conversion is not None:  # !s, !r, !a would show the model a Python repr instead of the text
            raise ValueError(f"template conversion !{conversion} in {{{name}!{conversion}}} is not allowed; write {{{name}}}")
    names = [name for name, _ in fields]
    for name in names:
        base, _, attribute = name.partition(".")
        if base == "input" and "input" in variables and attribute:
            if not INPUT_FIELD.fullmatch(attribute):
                raise ValueError(
                    f"unknown template variable {{{name}}}: an input field is a plain name (a letter, then letters, digits, _)"
                )
            continue
        if name not in variables:
            raise ValueError(f"unknown template variable {{{name}}}; allowed: {allowed}")
    samples: dict[str, Any] = {v: 7 if v == "n_questions" else "x" for v in variables}
    if "input" in samples:
        samples["input"] = TemplateInput("x", {})
    try:
        template.format(**samples)  # the types they get at run time
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"template cannot be filled ({exc}); use plain variables: {allowed}") from None
    return template


class PromptConfig(Strict):
    system: str = DEFAULT_SYSTEM
    user: str = DEFAULT_USER

    @field_validator("system", "user")
    @classmethod
    def _known_variables(cls, template: str) -> str:
        return checked_template(template, tuple(PROMPT_VARIABLES))


class DecodingConfig(Strict):
    temperature: float = Field(default=0.0, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: int = Field(default=512, ge=16, le=8192)
    seed: int = 0


class FewshotConfig(Strict):
    """Demonstrations drawn from the corpus only, shown as earlier chat turns."""

    k: int = Field(default=3, ge=1, le=8)
    retrieval: Literal["knn", "mmr", "random"] = "knn"
    mmr_lambda: float = Field(default=0.5, ge=0, le=1)  # mmr: weight of similarity to the case vs diversity among demos
    seed: int = Field(default=0, ge=0)  # random: which demos

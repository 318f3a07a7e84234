"""critique_revise: draft, then a free-text critique of the draft, then a constrained revision."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from parity.agent.context import AgentContext
from parity.agent.settings import TemplateInput, checked_template
from parity.agent.strategies.base import Diagram, Node, Strategy, StrategyConfig
from parity.agent.strategies.helpers import require_answer, with_system
from parity.cases import input_values
from parity.errors import ParityError
from parity.task import Answer, TaskSpec

CRITIQUE_PROMPT = (
    "Task: {input}\n\nA planner drafted these clarifying questions:\n{draft}\n\n"
    "Point out, briefly, which questions are vague, ask two things at once, repeat another question, "
    "or do not fit this task, and which important unknown is missing."
)
REVISE_PROMPT = (
    "Task: {input}\n\nDraft questions:\n{draft}\n\nReview of the draft:\n{critique}\n\n"
    "Write the final answer: a short title restating the task and exactly {n_questions} improved clarifying questions.\n"
    'Answer in JSON with the keys "title" and "questions".'
)


class CritiqueRevise(StrategyConfig):
    """Draft, then a free-text critique of the draft, then a constrained revision."""

    kind: Literal["critique_revise"]
    rounds: int = Field(default=1, ge=1, le=3)
    critique_prompt: str = CRITIQUE_PROMPT  # variables: {input}, {draft}
    revise_prompt: str = REVISE_PROMPT  # variables: {input}, {draft}, {critique}, {n_questions}
    critique_max_tokens: int = Field(default=200, ge=16, le=2048)

    @field_validator("critique_prompt")
    @classmethod
    def _critique_template(cls, template: str) -> str:
        return checked_template(template, ("input", "draft"))

    @field_validator("revise_prompt")
    @classmethod
    def _revise_template(cls, template: str) -> str:
        return checked_template(template, ("input", "draft", "critique", "n_questions"))


def critique_revise(ctx: AgentContext, case_input: str, cfg: CritiqueRevise) -> Answer:
    answer = require_answer(ctx.ask(case_input, step="draft"), ctx)
    for round_ in range(1, cfg.rounds + 1):
        draft = answer.as_output() if answer.questions == () else "\n".join(f"{i}. {q}" for i, q in enumerate(answer.questions, start=1))
        shown_input = TemplateInput(case_input, input_values(case_input, ctx.task))
        critique_prompt = cfg.critique_prompt.format(input=shown_input, draft=draft)
        critique = ctx.generate(
            with_system(ctx, critique_prompt), max_tokens=cfg.critique_max_tokens, step=f"critique:{round_}"
        ).text.strip()
        revise_prompt = cfg.revise_prompt.format(input=shown_input, draft=draft, critique=critique, n_questions=ctx.task.n_questions)
        revised = ctx.ask(messages=with_system(ctx, revise_prompt), step=f"revise:{round_}")
        if revised is None:
            break  # a failed revision keeps the last good answer; the trace says why
        answer = revised
    return answer


def check(cfg: CritiqueRevise, task: TaskSpec, where: str) -> None:
    if task.kind != "questions" and (cfg.critique_prompt == CRITIQUE_PROMPT or cfg.revise_prompt == REVISE_PROMPT):
        shape = "free text" if task.free_text else "JSON objects"
        raise ParityError(
            f"critique_revise's default prompts critique clarifying questions; this task's answers are {shape}",
            where,
            "write strategy.critique_prompt and strategy.revise_prompt for this task (variables: {input}, {draft}, {critique})",
        )


def nodes(cfg: CritiqueRevise, diagram: Diagram) -> list[Node]:
    result = [Node("call", f"draft: {diagram.model}", f"{diagram.decoding}; {diagram.schema}")]
    for r in range(1, cfg.rounds + 1):
        result.append(
            Node("call", f"critique {r}: free text", f"≤ {cfg.critique_max_tokens} tokens on vagueness, compounds, repeats, gaps")
        )
        result.append(Node("call", f"revise {r}: draft + critique", f"{diagram.schema}; a failed revision keeps the draft"))
    return result


STRATEGY = Strategy(
    config=CritiqueRevise,
    run=critique_revise,
    calls=lambda cfg: 1 + 2 * cfg.rounds,  # the draft, then a critique and a revision each round
    nodes=nodes,
    check=check,
    order=30,
)

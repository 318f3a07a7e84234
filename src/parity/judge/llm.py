"""The LLM judge: rubric scores with notes, and a pairwise verdict against gold judged in both orders.

A judgment that cannot be read is unscored with its reason (parse, truncated, refused, error),
never guessed. The overall score is computed here from the dimension scores, never taken from the
judge. Every prompt and raw response is kept with the judgment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from parity.cases import Case
from parity.judge.base import JudgeRecord, Judgment, Verdict, scored
from parity.judge.parsing import Parsed, parse_pairwise, parse_rubric
from parity.judge.prompts import PAIRWISE_SCHEMA, pairwise_messages, rubric_messages, rubric_schema
from parity.models.base import Model, Request
from parity.models.resilience import BackendError
from parity.statuses import JudgmentStatus, UnscoredKind
from parity.task import Answer, RubricSpec, TaskSpec

TRUNCATION_GROWTH = 2  # a truncated judgment is asked again with this many times the token limit


@dataclass
class CallLog:
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return sum(c["cost_usd"] for c in self.calls)

    @property
    def tokens(self) -> int:
        return sum(c["prompt_tokens"] + c["completion_tokens"] for c in self.calls)


class Unscored(Exception):
    def __init__(self, kind: UnscoredKind, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(eq=False)
class LLMJudge:
    thread_safe = True

    model: Model
    task: TaskSpec
    rubric: RubricSpec
    temperature: float
    seed: int
    max_tokens: int
    weights: dict[str, float] = field(init=False)

    def __post_init__(self) -> None:
        self.weights = self.rubric.normalized_weights()

    def judge(self, case: Case, answer: Answer, repeat: int = 0) -> Judgment:
        log = CallLog()
        candidate, gold = answer.shown(), case.gold.shown()  # a JSON answer as its own object
        try:
            rubric = self._ask(
                rubric_messages(self.task, self.rubric, case.input, gold, candidate),
                rubric_schema(self.rubric),
                lambda t: parse_rubric(t, self.rubric),
                repeat,
                log,
            )
            first = self._ask(
                pairwise_messages(self.task, self.rubric, case.input, candidate, gold), PAIRWISE_SCHEMA, parse_pairwise, repeat, log
            )
            second = self._ask(
                pairwise_messages(self.task, self.rubric, case.input, gold, candidate), PAIRWISE_SCHEMA, parse_pairwise, repeat, log
            )
        except Unscored as exc:
            return Judgment(
                case.id,
                JudgmentStatus.UNSCORED,
                reason=exc.reason,
                unscored=exc.kind,
                extra=JudgeRecord(calls=log.calls, cost_usd=log.cost_usd),
            )
        scores = {name: float(rubric["dimensions"][name]["score"]) for name in self.weights}
        notes = {name: rubric["dimensions"][name]["note"] for name in self.weights}
        notes["overall"] = rubric["overall_note"]
        verdict, consistent = combine_orders(first["winner"], second["winner"])
        notes["pairwise"] = (
            f"{verdict} (candidate first: {first['winner']}, gold first: {second['winner']}; {'consistent' if consistent else 'inconsistent → tie'})"
        )
        return scored(
            case.id,
            scores,
            self.weights,
            verdict,
            notes,
            JudgeRecord(calls=log.calls, cost_usd=log.cost_usd, position_consistent=consistent),
        )

    def _ask(
        self, messages: tuple[dict[str, str], ...], schema: dict[str, Any], parse: Callable[[str], Parsed], repeat: int, log: CallLog
    ) -> dict[str, Any]:
        """One question to the judge: retry a truncation with a larger limit, re-ask once when unreadable."""
        limit = self.max_tokens
        conversation = messages
        asked_again = False
        while True:
            request = Request(
                messages=conversation, temperature=self.temperature, max_tokens=limit, seed=self.seed, schema=schema, repeat=repeat
            )
            try:
                completion = self.model.complete(request)
            except BackendError as exc:
                raise Unscored(UnscoredKind.ERROR, f"error: {exc}") from None
            log.calls.append(
                {
                    "messages": list(conversation),
                    "raw": completion.text,
                    "finish_reason": completion.finish_reason,
                    "prompt_tokens": completion.prompt_tokens,
                    "completion_tokens": completion.completion_tokens,
                    "cost_usd": 0.0 if completion.cached else completion.cost_usd,
                }
            )
            if completion.finish_reason == "length":
                if limit > self.max_tokens:
                    raise Unscored(UnscoredKind.TRUNCATED, f"truncated: judgment hit max_tokens={limit} twice")
                limit *= TRUNCATION_GROWTH
                continue
            parsed = parse(completion.text)
            if parsed.value is not None:
                return parsed.value
            if parsed.refused or asked_again:
                raise Unscored(UnscoredKind.REFUSED if parsed.refused else UnscoredKind.PARSE, parsed.reason or "parse: unreadable")
            asked_again = True
            conversation = (
                *messages,
                {"role": "assistant", "content": completion.text},
                {
                    "role": "user",
                    "content": f"That reply was not usable ({parsed.reason}). Reply again with only the JSON object, every field filled.",
                },
            )


def combine_orders(candidate_first: str, gold_first: str) -> tuple[Verdict, bool]:
    """Map both orders to the candidate's view; if they disagree, it is a tie."""
    as_candidate = {"A": Verdict.WIN, "B": Verdict.LOSS, "tie": Verdict.TIE}[candidate_first]
    swapped = {"A": Verdict.LOSS, "B": Verdict.WIN, "tie": Verdict.TIE}[gold_first]
    if as_candidate == swapped:
        return as_candidate, True
    return Verdict.TIE, False

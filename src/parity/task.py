"""The task and its workspace: what is being specialized and how it is measured (`parity.toml`)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parity.errors import ParityError
from parity.models.resilience import BackendOptions

CONFIG_NAME = "parity.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskSpec(_Strict):
    name: str
    description: str
    kind: Literal["questions"] = "questions"
    n_questions: int = Field(7, ge=1, le=50)
    max_question_chars: int = Field(200, ge=20)
    max_title_chars: int = Field(100, ge=10)


class Dimension(_Strict):
    weight: float = Field(gt=0)
    description: str


class RubricSpec(_Strict):
    scale_min: int = 1
    scale_max: int = 5
    dimensions: dict[str, Dimension]

    @model_validator(mode="after")
    def _check(self) -> "RubricSpec":
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be greater than scale_min")
        if not self.dimensions:
            raise ValueError("declare at least one dimension")
        return self

    def normalized_weights(self) -> dict[str, float]:
        total = sum(d.weight for d in self.dimensions.values())
        return {name: d.weight / total for name, d in self.dimensions.items()}


class MetricSpec(_Strict):
    rubric_weight: float = Field(0.5, ge=0, le=1)
    pairwise_weight: float = Field(0.5, ge=0, le=1)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    bootstrap_samples: int = Field(2000, ge=100)
    seed: int = 0

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> "MetricSpec":
        if abs(self.rubric_weight + self.pairwise_weight - 1.0) > 1e-9:
            raise ValueError("rubric_weight + pairwise_weight must equal 1")
        return self


class JudgeSpec(_Strict):
    kind: Literal["reference", "llm"] = "reference"
    # reference judge
    embedder: str = "all-minilm-l6-v2"
    tie_margin: float = Field(0.05, ge=0, lt=1)
    # LLM judge
    model: str | None = None
    temperature: float = Field(0.0, ge=0, le=2)
    seed: int = 0
    max_tokens: int = Field(768, ge=64, le=16384)
    backend: BackendOptions = BackendOptions()

    @model_validator(mode="after")
    def _llm_needs_model(self) -> "JudgeSpec":
        if self.kind == "llm":
            if not self.model:
                raise ValueError("an llm judge needs model = \"SPEC\" (e.g. \"litellm:anthropic/claude-sonnet-4-5\")")
            from parity.models.spec import parse_spec

            try:
                parse_spec(self.model)
            except ParityError as exc:
                raise ValueError(f"{exc.what} ({exc.fix})") from None
        return self


class StoreSpec(_Strict):
    url: str | None = None


class ParamSpec(_Strict):
    """One dimension of the loop's search space: an agent field (dotted) and the values it may take."""

    choice: list[Any] | None = None
    range: list[int] | list[float] | None = None  # [low, high]; integer steps when both bounds are integers
    log: bool = False  # sample a range on a log scale
    grid: list[Any] | None = None  # the values the grid proposer tries for a range (default: low and high)
    when: dict[str, Any] | None = None  # only when other fields have these values, e.g. {"strategy.kind" = "vote"}

    @model_validator(mode="after")
    def _one_kind(self) -> "ParamSpec":
        if (self.choice is None) == (self.range is None):
            raise ValueError("give exactly one of choice = [...] or range = [low, high]")
        if self.range is not None and (len(self.range) != 2 or self.range[0] >= self.range[1]):
            raise ValueError("range must be [low, high] with low < high")
        return self

    @property
    def is_int(self) -> bool:
        return self.range is not None and all(isinstance(x, int) for x in self.range)

    def grid_values(self) -> list[Any]:
        if self.choice is not None:
            return list(self.choice)
        if self.grid is not None:
            return list(self.grid)
        assert self.range is not None
        return list(self.range)


class LoopSpec(_Strict):
    """The research loop: not part of the ruler, so it can change freely."""

    base_agent: str = "baseline"  # every proposal is a patch on this agent
    screen_gate: str = "dev"
    decide_gate: str = "full"
    keep_confidence: float = Field(0.90, gt=0.5, lt=1)
    confirm_rejudge: bool = True  # re-judge a candidate before keeping it; both judgments must agree
    plateau: int = Field(4, ge=2, le=50)  # this many experiments in a row without a keep is a plateau
    space: dict[str, ParamSpec] = Field(default_factory=dict)


class WorkspaceConfig(_Strict):
    task: TaskSpec
    rubric: RubricSpec
    metric: MetricSpec = MetricSpec()
    judge: JudgeSpec = JudgeSpec()
    gates: dict[str, list[str] | Literal["all"]]
    store: StoreSpec = StoreSpec()
    loop: LoopSpec = LoopSpec()

    @field_validator("gates")
    @classmethod
    def _full_gate(cls, gates: dict[str, Any]) -> dict[str, Any]:
        if "full" not in gates:
            raise ValueError("declare a 'full' gate (full = \"all\")")
        return gates


@dataclass(frozen=True)
class Workspace:
    """A user's project folder with its validated configuration."""

    root: Path
    config: WorkspaceConfig

    @property
    def task(self) -> TaskSpec:
        return self.config.task

    @property
    def cases_path(self) -> Path:
        return self.root / "ruler" / "cases.jsonl"

    @property
    def lock_path(self) -> Path:
        return self.root / "ruler" / "LOCK"

    @property
    def corpus_path(self) -> Path:
        return self.root / "corpus" / "train.jsonl"

    @property
    def agents_dir(self) -> Path:
        return self.root / "agents"

    @property
    def state_dir(self) -> Path:
        return self.root / ".parity"

    def shown(self, path: Path) -> str:
        """A path as the user should see it in messages: relative to the workspace when possible."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def load_workspace(root: Path) -> Workspace:
    root = root.resolve()
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ParityError(
            f"not a parity workspace (no {CONFIG_NAME})",
            str(root),
            "run inside a workspace, pass --workspace DIR, or create one with: parity init --example discovery DIR",
        )
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ParityError(f"invalid TOML ({exc})", f"{CONFIG_NAME}:{line}" if line else CONFIG_NAME, "fix the syntax") from None
    try:
        config = WorkspaceConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        keys = [str(k) for k in err["loc"]]
        line = _line_of_key(text, keys)
        where = f"{CONFIG_NAME}:{line}" if line else CONFIG_NAME
        raise ParityError(f"{'.'.join(keys)}: {err['msg'].removeprefix('Value error, ')}", where, "fix the value in parity.toml") from None
    return Workspace(root=root, config=config)


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _line_of_key(text: str, keys: list[str]) -> int | None:
    """Best-effort line of a dotted key in TOML text: the key's own line, else its table header."""
    section: list[str] = []
    best: int | None = None
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        header = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]", line)
        if header:
            section = [part.strip().strip('"') for part in header.group(1).split(".")]
            if section == keys[: len(section)] and best is None:
                best = number
            continue
        assignment = re.match(r"([A-Za-z0-9_\-\"]+)\s*=", line)
        if assignment and section + [assignment.group(1).strip('"')] == keys[: len(section) + 1]:
            return number
    return best


@dataclass(frozen=True)
class Answer:
    """One answer in the task's output format: a restated title and the questions."""

    title: str
    questions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "questions": list(self.questions)}


def answer_schema(task: TaskSpec, n_questions: int | None = None) -> dict[str, Any]:
    """The JSON schema every answer must satisfy; backends use it to constrain generation.
    `n_questions` overrides the task's count (over-generation asks for more, then prunes)."""
    n = n_questions or task.n_questions
    question = {"type": "string", "minLength": 1, "maxLength": task.max_question_chars}
    return {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": task.max_title_chars},
            "questions": {
                "type": "array",
                "items": question,
                "minItems": n,
                "maxItems": n,
            },
        },
        "required": ["title", "questions"],
        "additionalProperties": False,
    }


def parse_answer(obj: Any, task: TaskSpec, what: str = "answer", n_questions: int | None = None) -> Answer:
    """Validate an object against the task's output format; raise ValueError naming the problem."""
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
    return Answer(title=title.strip(), questions=tuple(q.strip() for q in questions))

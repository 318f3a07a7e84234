"""The task and its workspace: what is being specialized and how it is measured (`parity.toml`)."""

from __future__ import annotations

import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

import parity.json_shape as json_shape
import parity.questions_shape as questions_shape
from parity.errors import ParityError
from parity.io import is_text, one_line, parse_json, read_text
from parity.models.resilience import BackendOptions

CONFIG_NAME = "parity.toml"
STATE_DIR = ".parity"  # parity's own files in a workspace: the default store, caches, exports


class _Strict(BaseModel):
    # A NaN or an infinity passes `ge`/`le` checks (or makes them meaningless) and then breaks a run.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


INPUT_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class TaskSpec(_Strict):
    """What an answer is. "questions": a restated title and exactly n_questions questions, as JSON;
    "free_text": one reply in prose, with no fixed shape (a persona's answer, say); "json": any JSON
    object its JSON Schema (`schema`, a file in the workspace) allows (parity/json_shape.py)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    name: str
    description: str
    kind: Literal["questions", "free_text", "json"] = "questions"
    schema_file: str | None = Field(default=None, alias="schema")  # json: the answers' JSON Schema, relative to the workspace
    # Inputs that are objects with these fields (prompts use {input.FIELD}); unset: every input is one string.
    input_fields: list[str] | None = Field(default=None, min_length=1)
    n_questions: int = Field(default=7, ge=1, le=50)
    max_question_chars: int = Field(default=200, ge=20)
    max_title_chars: int = Field(default=100, ge=10)
    max_answer_chars: int | None = Field(default=None, ge=20)  # free_text: longer answers are refused (unset: no limit)

    _output_schema: dict[str, Any] | None = PrivateAttr(default=None)  # json: the schema file's content, set by load_workspace

    @field_validator("input_fields")
    @classmethod
    def _field_names(cls, names: list[str] | None) -> list[str] | None:
        for name in names or []:
            if not INPUT_FIELD.fullmatch(name):
                raise ValueError(f"input field {name!r} is not a plain name (letters, digits, _)")
        if names is not None and len(set(names)) != len(names):
            raise ValueError("an input field is listed twice")
        return names

    @model_validator(mode="after")
    def _schema_for_json(self) -> TaskSpec:
        if self.kind == "json" and not self.schema_file:
            raise ValueError('a json task needs schema = "task/schema.json" (its answers\' JSON Schema)')
        if self.kind != "json" and self.schema_file:
            raise ValueError('schema is for kind = "json" only')
        return self

    @property
    def free_text(self) -> bool:
        return self.kind == "free_text"

    @property
    def is_json(self) -> bool:
        return self.kind == "json"

    @property
    def output_schema(self) -> dict[str, Any]:
        if self._output_schema is None:
            raise ParityError(
                "the task's JSON Schema was not loaded", "parity.toml [task] schema", "load the workspace with load_workspace"
            )
        return self._output_schema

    def attach_schema(self, schema: dict[str, Any]) -> None:
        self._output_schema = schema

    def answer_shape(self) -> str:
        """The answer's shape in a few words, for diagrams and messages."""
        if self.is_json:
            return "JSON: " + ", ".join(json_shape.schema_fields(self.output_schema))
        return "free text" if self.free_text else f"title + {self.n_questions} questions"


class Dimension(_Strict):
    weight: float = Field(gt=0, allow_inf_nan=False)
    description: str
    # Which of the reference judge's signals scores this dimension (unset: the dimension's own name);
    # the signals are listed in docs/reference-judge.md. LLM judges read the description instead.
    signal: str | None = None
    # json tasks: the answer fields this dimension scores (unset: every field); the reference judge averages them.
    fields: list[str] | None = Field(default=None, min_length=1)


class RubricSpec(_Strict):
    scale_min: int = 1
    scale_max: int = 5
    dimensions: dict[str, Dimension]

    @model_validator(mode="after")
    def _check(self) -> RubricSpec:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be greater than scale_min")
        if not self.dimensions:
            raise ValueError("declare at least one dimension")
        return self

    def normalized_weights(self) -> dict[str, float]:
        total = sum(d.weight for d in self.dimensions.values())
        return {name: d.weight / total for name, d in self.dimensions.items()}


class MetricSpec(_Strict):
    rubric_weight: float = Field(default=0.5, ge=0, le=1)
    pairwise_weight: float = Field(default=0.5, ge=0, le=1)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    bootstrap_samples: int = Field(default=2000, ge=100, le=100_000)  # more gives no steadier CI, only minutes per summary
    seed: int = Field(default=0, ge=0, lt=2**32)  # what numpy's and optuna's generators take

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> MetricSpec:
        if abs(self.rubric_weight + self.pairwise_weight - 1.0) > 1e-9:
            raise ValueError("rubric_weight + pairwise_weight must equal 1")
        return self


class JudgeSpec(_Strict):
    kind: Literal["reference", "llm"] = "reference"
    # reference judge
    embedder: str = "all-minilm-l6-v2"
    tie_margin: float = Field(default=0.05, ge=0, lt=1)
    number_tolerance: float = Field(default=0.0, ge=0)  # json tasks: a number this close to the gold's is the same number
    # reference judge v2: weights fit to frontier labels (a JSON file written by `parity calibrate --fit`)
    fitted: str | None = None
    # LLM judge
    model: str | None = None
    temperature: float = Field(default=0.0, ge=0, le=2)
    seed: int = Field(default=0, ge=0, lt=2**32)
    max_tokens: int = Field(default=768, ge=64, le=16384)
    backend: BackendOptions = BackendOptions()

    @model_validator(mode="after")
    def _llm_needs_model(self) -> JudgeSpec:
        if self.kind == "llm":
            if not self.model:
                raise ValueError('an llm judge needs model = "SPEC" (e.g. "litellm:anthropic/claude-sonnet-4-5")')
            from parity.models.spec import parse_spec

            try:
                parse_spec(self.model)
            except ParityError as exc:
                raise ValueError(f"{exc.what} ({exc.fix})") from None
        return self


class StoreSpec(_Strict):
    url: str | None = None


def _finite(value: Any) -> bool:
    """No nan or inf anywhere in a value, lists and tables included."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


class ParamSpec(_Strict):
    """One dimension of the loop's search space: an agent field (dotted) and the values it may take."""

    choice: list[Any] | None = None
    range: list[int] | list[float] | None = None  # [low, high]; integer steps when both bounds are integers
    log: bool = False  # sample a range on a log scale
    grid: list[Any] | None = None  # the values the grid proposer tries for a range (default: low and high)
    when: dict[str, Any] | None = None  # only when other fields have these values, e.g. {"strategy.kind" = "vote"}

    @model_validator(mode="after")
    def _one_kind(self) -> ParamSpec:
        if (self.choice is None) == (self.range is None):
            raise ValueError("give exactly one of choice = [...] or range = [low, high]")
        if self.range is not None and (len(self.range) != 2 or self.range[0] >= self.range[1]):
            raise ValueError("range must be [low, high] with low < high")
        values = [*(self.choice or []), *(self.grid or []), *(self.when or {}).values()]
        if not all(_finite(v) for v in values):
            raise ValueError("choice, grid and when take finite numbers only (no nan or inf)")
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
    keep_confidence: float = Field(default=0.90, gt=0.5, lt=1)
    confirm_rejudge: bool = True  # re-judge a candidate before keeping it; both judgments must agree
    plateau: int = Field(default=4, ge=2, le=50)  # this many experiments in a row without a keep is a plateau
    space: dict[str, ParamSpec] = Field(default_factory=dict)


class PythonAgentsSpec(_Strict):
    """How Python agents run: not part of the ruler."""

    case_time_limit_s: float = Field(default=600.0, gt=0, le=86_400, allow_inf_nan=False)  # per case, model calls included
    # Where the OS has no sandbox (Landlock), Python agents are refused unless this is true; they can
    # then read the ruler and write the workspace, as any program the user runs can.
    unsandboxed: bool = False


class DetectorSpec(_Strict):
    """A critical failure: an answer matching any of these regular expressions fails its case
    whatever the judge says (a character break, an anachronism)."""

    description: str = ""
    patterns: list[str] = Field(min_length=1)
    ignore_case: bool = True

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression ({exc})") from None
            except (OverflowError, RecursionError) as exc:  # a{99999999999}, groups nested thousands deep
                raise ValueError(f"pattern {pattern[:80]!r} cannot be compiled ({type(exc).__name__})") from None
        return patterns


class WorkspaceConfig(_Strict):
    task: TaskSpec
    rubric: RubricSpec
    metric: MetricSpec = MetricSpec()
    judge: JudgeSpec = JudgeSpec()
    detectors: dict[str, DetectorSpec] = Field(default_factory=dict)
    gates: dict[str, list[str] | Literal["all"]]
    store: StoreSpec = StoreSpec()
    loop: LoopSpec = LoopSpec()
    python_agents: PythonAgentsSpec = PythonAgentsSpec()

    @field_validator("gates")
    @classmethod
    def _full_gate(cls, gates: dict[str, Any]) -> dict[str, Any]:
        if "full" not in gates:
            raise ValueError("declare a 'full' gate (full = \"all\")")
        for name, ids in gates.items():
            if isinstance(ids, list) and not ids:
                raise ValueError(f"gate '{name}' is empty: list at least one case id, or \"all\"")
            if isinstance(ids, list) and len(set(ids)) != len(ids):
                twice = sorted({i for i in ids if ids.count(i) > 1})
                raise ValueError(f"gate '{name}' lists {', '.join(twice)} more than once")
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
        return self.root / STATE_DIR

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
    text = read_text(path, CONFIG_NAME if path.name == CONFIG_NAME else str(path))
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise ParityError(f"invalid TOML ({exc})", f"{CONFIG_NAME}:{line}" if line else CONFIG_NAME, "fix the syntax") from None
    except RecursionError:
        raise ParityError("arrays or tables nested too deeply", CONFIG_NAME, "flatten them") from None
    except ValueError:  # Python reads no integer of more than 4300 digits
        raise ParityError("a number has too many digits", CONFIG_NAME, "shorten it") from None
    try:
        config = WorkspaceConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        keys = [str(k) for k in err["loc"]]
        line = _line_of_key(text, keys)
        where = f"{CONFIG_NAME}:{line}" if line else CONFIG_NAME
        what = one_line(f"{'.'.join(keys)}: {err['msg'].removeprefix('Value error, ')}")
        raise ParityError(what, where, "fix the value in parity.toml") from None
    if config.task.is_json:
        config.task.attach_schema(json_shape.load_output_schema(root, config.task.schema_file))
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
    """One answer in the task's output format: a restated title and the questions, (free-text tasks)
    the reply's text, or (json tasks) the JSON object."""

    title: str = ""
    questions: tuple[str, ...] = ()
    text: str | None = None
    data: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """As the store keeps it; a JSON answer is wrapped, so its own fields never look like another kind's."""
        if self.data is not None:
            return {"json": self.data}
        if self.text is not None:
            return {"text": self.text}
        return {"title": self.title, "questions": list(self.questions)}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Answer:
        """An answer as the store keeps it (`to_dict`)."""
        if "json" in obj:
            return cls(data=obj["json"])
        if "text" in obj:
            return cls(text=obj["text"])
        return cls(obj["title"], tuple(obj["questions"]))

    def shown(self) -> Any:
        """The answer as the user wrote it in a file: the object itself for a JSON answer."""
        return self.data if self.data is not None else self.to_dict()

    def as_output(self) -> str:
        """Exactly what a model should write to give this answer (training targets, pairs)."""
        if self.data is not None:
            return json.dumps(self.data, ensure_ascii=False)
        return self.text if self.text is not None else json.dumps(self.to_dict(), ensure_ascii=False)

    def render(self) -> str:
        """For embeddings, text features and detectors: the text, the title and one question per line,
        or one `field: value` line per field."""
        if self.data is not None:
            return json_shape.render(self.data)
        if self.text is not None:
            return self.text
        return "\n".join([self.title, *self.questions])

    def units(self) -> list[str]:
        """What the answer is made of: its questions, the sentences of its text, or its string fields' sentences."""
        if self.data is not None:
            sentences = (s for text in json_shape.strings(self.data) for s in split_sentences(text))
            return [s.strip() for s in sentences if len(s.split()) >= json_shape.MIN_UNIT_WORDS]
        if self.text is not None:
            return split_sentences(self.text)
        return list(self.questions)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences of prose, split after '.', '!' or '?'."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part.strip()]


def answer_schema(task: TaskSpec, n_questions: int | None = None) -> dict[str, Any] | None:
    """The JSON schema every answer must satisfy; backends use it to constrain generation.
    `n_questions` overrides the task's count (over-generation asks for more, then prunes).
    A free-text answer has no schema: the model writes prose."""
    if task.free_text:
        return None
    if task.is_json:
        return task.output_schema
    return questions_shape.schema(task, n_questions or task.n_questions)


def answer_from_text(text: str, task: TaskSpec, n_questions: int | None = None) -> Answer:
    """A model's raw output as an answer: JSON for question tasks, the text itself for free text."""
    # strict=False: a raw line break inside a string is still the answer the model meant (servers built on
    # llama-cpp-python's grammar let control characters into strings).
    return parse_answer(text if task.free_text else parse_json(text, strict=False), task, n_questions=n_questions)


def parse_answer(obj: Any, task: TaskSpec, what: str = "answer", n_questions: int | None = None) -> Answer:
    """Validate an object against the task's output format; raise ValueError naming the problem."""
    if not is_text(obj):  # a model's \\ud800: the store, the report and the dashboard could not write it
        raise ValueError(f"{what} holds a lone surrogate escape (\\ud800–\\udfff), which is not text")
    if task.free_text:
        return _parse_free_text(obj, task, what)
    if task.is_json:
        return Answer(data=json_shape.validate(obj, task.output_schema, what))
    title, questions = questions_shape.parse(obj, task, what, n_questions)
    return Answer(title=title, questions=questions)


def _parse_free_text(obj: Any, task: TaskSpec, what: str) -> Answer:
    if isinstance(obj, dict) and set(obj) == {"text"}:
        obj = obj["text"]
    if not isinstance(obj, str) or not obj.strip():
        raise ValueError(f"{what} must be a non-empty string (this task's answers are free text)")
    text = obj.strip()
    if task.max_answer_chars is not None and len(text) > task.max_answer_chars:
        raise ValueError(f"{what} has {len(text)} characters, the task allows {task.max_answer_chars}")
    return Answer(text=text)

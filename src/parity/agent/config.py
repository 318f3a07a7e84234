"""Agent files (`agents/NAME.yaml`): validated, with errors that name the file, the line and the field."""

from __future__ import annotations

from pathlib import Path
from string import Formatter
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from parity.errors import ParityError
from parity.io import read_text
from parity.models.resilience import BackendOptions
from parity.models.spec import ModelSpec, parse_spec

# Variables a prompt template may use; anything else is refused when the agent is loaded.
PROMPT_VARIABLES = {
    "input": "the case input as the user typed it",
    "n_questions": "how many questions the task requires",
    "task_description": "the task description from parity.toml",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


DEFAULT_SYSTEM = "You are a planning assistant. Before planning anything, you ask the user clarifying questions."
DEFAULT_USER = (
    "Task: {input}\n\nRestate the task as a short title, then write exactly {n_questions} clarifying questions "
    'you need answered before you can plan it.\nAnswer in JSON with the keys "title" and "questions".'
)


class PromptConfig(_Strict):
    system: str = DEFAULT_SYSTEM
    user: str = DEFAULT_USER

    @field_validator("system", "user")
    @classmethod
    def _known_variables(cls, template: str) -> str:
        return checked_template(template, tuple(PROMPT_VARIABLES))


def checked_template(template: str, variables: tuple[str, ...]) -> str:
    """A template that will render: only `variables`, and no conversion, format spec or field access
    that would fail mid-run (`{input!z}`, `{n_questions:d}` on text, `{input.x}`)."""
    allowed = ", ".join("{" + v + "}" for v in variables)
    try:
        names = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError as exc:  # a lone brace
        raise ValueError(f"malformed template ({exc}); write a literal brace as {{{{ or }}}}") from None
    for name in names:
        if name not in variables:
            raise ValueError(f"unknown template variable {{{name}}}; allowed: {allowed}")
    try:
        template.format(**{v: 7 if v == "n_questions" else "x" for v in variables})  # the types they get at run time
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"template cannot be filled ({exc}); use plain variables: {allowed}") from None
    return template


class DecodingConfig(_Strict):
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(512, ge=16, le=8192)
    seed: int = 0


class FewshotConfig(_Strict):
    """Demonstrations drawn from the corpus only, shown as earlier chat turns."""

    k: int = Field(3, ge=1, le=8)
    retrieval: Literal["knn", "mmr", "random"] = "knn"
    mmr_lambda: float = Field(0.5, ge=0, le=1)  # mmr: weight of similarity to the case vs diversity among demos
    seed: int = 0  # random: which demos


class SingleStrategy(_Strict):
    kind: Literal["single"] = "single"


class OvergeneratePrune(_Strict):
    """Ask for m > n questions in one call, keep n."""

    kind: Literal["overgenerate_prune"]
    m: int = Field(12, ge=2, le=30)
    prune: Literal["redundancy", "mmr", "topic_bank"] = "redundancy"
    mmr_lambda: float = Field(0.6, ge=0, le=1)  # mmr and topic_bank: relevance vs diversity
    topics: int = Field(48, ge=4, le=512)  # topic_bank: clusters mined from the corpus questions


class BestOfN(_Strict):
    """A pool of drafts over several temperatures; a selector that never sees gold picks one."""

    kind: Literal["best_of_n"]
    temperatures: list[float] = Field(default_factory=lambda: [0.0, 0.5, 0.8, 1.0], min_length=2, max_length=16)
    selector: Literal["centrality", "self_consistency"] = "centrality"
    match_threshold: float = Field(0.75, gt=0, lt=1)  # self_consistency: cosine at which two questions agree

    @field_validator("temperatures")
    @classmethod
    def _in_range(cls, temps: list[float]) -> list[float]:
        if any(not 0 <= t <= 2 for t in temps):
            raise ValueError("every temperature must be between 0 and 2")
        return temps


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


class CritiqueRevise(_Strict):
    """Draft, then a free-text critique of the draft, then a constrained revision."""

    kind: Literal["critique_revise"]
    rounds: int = Field(1, ge=1, le=3)
    critique_prompt: str = CRITIQUE_PROMPT  # variables: {input}, {draft}
    revise_prompt: str = REVISE_PROMPT  # variables: {input}, {draft}, {critique}, {n_questions}
    critique_max_tokens: int = Field(200, ge=16, le=2048)

    @field_validator("critique_prompt")
    @classmethod
    def _critique_template(cls, template: str) -> str:
        return checked_template(template, ("input", "draft"))

    @field_validator("revise_prompt")
    @classmethod
    def _revise_template(cls, template: str) -> str:
        return checked_template(template, ("input", "draft", "critique", "n_questions"))


class Vote(_Strict):
    """Several samples; the questions that recur across the most samples win."""

    kind: Literal["vote"]
    samples: int = Field(5, ge=2, le=16)
    temperature: float = Field(0.8, gt=0, le=2)
    match_threshold: float = Field(0.75, gt=0, lt=1)  # cosine at which two questions count as the same


Strategy = Annotated[SingleStrategy | OvergeneratePrune | BestOfN | CritiqueRevise | Vote, Field(discriminator="kind")]
STRATEGY_KINDS = ("single", "overgenerate_prune", "best_of_n", "critique_revise", "vote")


class AgentConfig(_Strict):
    name: str | None = None
    model: str = "llamacpp:smollm2-135m"
    adapter: str | None = None  # a PEFT LoRA adapter folder put on an hf: base model
    prompt: PromptConfig = PromptConfig()
    fewshot: FewshotConfig | None = None
    decoding: DecodingConfig = DecodingConfig()
    strategy: Strategy = SingleStrategy()
    backend: BackendOptions = BackendOptions()

    @field_validator("strategy", mode="before")
    @classmethod
    def _kind_shorthand(cls, value: Any) -> Any:
        # `strategy: vote` is short for `strategy: {kind: vote}` with every default.
        if isinstance(value, str):
            if value not in STRATEGY_KINDS:
                raise ValueError(f"unknown strategy '{value}'; allowed: {', '.join(STRATEGY_KINDS)}")
            return {"kind": value}
        return value

    @field_validator("model")
    @classmethod
    def _valid_spec(cls, text: str) -> str:
        try:
            parse_spec(text)
        except ParityError as exc:  # pydantic locates ValueErrors; the loader adds file and line
            raise ValueError(f"{exc.what} ({exc.fix})") from None
        return text


AGENT_SUFFIXES = (".yaml", ".yml", ".py")


def resolve_agent_path(agents_dir: Path, name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in AGENT_SUFFIXES and candidate.is_file():
        return candidate.resolve()
    for suffix in AGENT_SUFFIXES:
        path = agents_dir / f"{name_or_path}{suffix}"
        if path.is_file():
            return path
    known = sorted({p.stem for p in agents_dir.iterdir() if p.suffix in AGENT_SUFFIXES}) if agents_dir.is_dir() else []
    raise ParityError(
        f"no agent named '{name_or_path}'",
        str(agents_dir),
        f"use one of: {', '.join(known)}" if known else "add an agents/NAME.yaml or agents/NAME.py file",
    )


def load_agent_config(path: Path, shown: str) -> tuple[AgentConfig, ModelSpec]:
    text = read_text(path, shown)
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark else shown
        raise ParityError(f"invalid YAML ({getattr(exc, 'problem', exc)})", where, "fix the syntax") from None
    if not isinstance(raw, dict):
        raise ParityError("an agent file must be a YAML mapping", shown, "see agents/baseline.yaml for the format")
    config = validate_agent_config(raw, shown, lambda keys: _yaml_line(root, keys))
    if config.name is None:
        config = config.model_copy(update={"name": path.stem})
    return config, parse_spec(config.model)


def validate_agent_config(raw: dict[str, Any], shown: str, line_of: Any = None) -> AgentConfig:
    """Validate a raw agent mapping; the error names the field, the allowed values and, if known, the line."""
    try:
        return AgentConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        keys = _field_path(err["loc"])
        line = line_of(keys) if line_of else None
        message = err["msg"].removeprefix("Value error, ")
        fix = None
        if err["type"] == "extra_forbidden":
            fix = _allowed_hint(err["loc"])
        elif err["type"] == "union_tag_not_found":
            message, fix = "missing kind", f"set kind: one of {', '.join(STRATEGY_KINDS)}"
        raise ParityError(f"{'.'.join(keys)}: {message}", f"{shown}:{line}" if line else shown, fix) from None


def _field_path(loc: tuple[Any, ...]) -> list[str]:
    """The location as the user wrote it: without the union tag pydantic inserts after `strategy`."""
    keys = [str(k) for k in loc]
    if len(keys) > 1 and keys[0] == "strategy" and keys[1] in STRATEGY_KINDS:
        del keys[1]
    return keys


def _allowed_hint(loc: tuple[Any, ...]) -> str:
    model: Any = AgentConfig
    for key in [str(k) for k in loc[:-1]]:
        if key in STRATEGY_KINDS and model is None:
            model = _STRATEGY_MODELS[key]
            continue
        field = getattr(model, "model_fields", {}).get(key)
        if field is None:
            return "fix the value"
        annotation = field.annotation
        model = (
            None
            if key == "strategy"
            else next(
                (a for a in (annotation, *getattr(annotation, "__args__", ())) if isinstance(a, type) and issubclass(a, BaseModel)), None
            )
        )
    if model is None:
        return "fix the value"
    return f"allowed fields here: {', '.join(model.model_fields)}"


_STRATEGY_MODELS: dict[str, type[BaseModel]] = {
    "single": SingleStrategy,
    "overgenerate_prune": OvergeneratePrune,
    "best_of_n": BestOfN,
    "critique_revise": CritiqueRevise,
    "vote": Vote,
}


def _yaml_line(node: Any, keys: list[str]) -> int | None:
    """Line (1-based) of the deepest key of `keys` found in the composed YAML tree."""
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        for key_node, value_node in node.value:
            if key_node.value == key:
                line = key_node.start_mark.line + 1
                node = value_node
                break
        else:
            break
    return line

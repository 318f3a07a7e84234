"""Rewards for RL recipes. Both score drafts for corpus inputs only: the ruler's cases never reach
training, so a reward can never be learned from the ruler's own golds.

- JudgeReward: the workspace's judge (reference or LLM) scores the draft against the corpus
  teacher's answer, blended into the same 0–1 quality the ruler uses.
- DiscriminatorReward (GAD): P(teacher-like) from a logistic regression over MiniLM embeddings,
  refit on fresh drafts as the policy moves; its held-out AUC is recorded each round."""

from __future__ import annotations

from typing import Any

import numpy as np

from parity.io import parse_json
from parity.judge import Judge
from parity.metrics import case_quality
from parity.ruler import Case
from parity.task import Answer, TaskSpec, Workspace, answer_from_text


def completion_text(completion: Any) -> str:
    """TRL passes conversational completions as [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, list):
        return "".join(turn.get("content", "") for turn in completion if isinstance(turn, dict))
    return str(completion)


def parsed(text: str, task: TaskSpec) -> Answer | None:
    try:
        return answer_from_text(text, task)
    except (ValueError, TypeError):
        return None


def lenient(text: str, task: TaskSpec) -> Answer | None:
    """The draft as an answer even when it is not JSON: sampled training drafts are unconstrained,
    while the served agent's grammar takes care of the format. Questions are the lines ending in
    '?', the title the first other line; a draft without questions earns nothing."""
    strict = parsed(text, task)
    if strict is not None or task.kind != "questions":  # only a list of questions can be read out of loose text
        return strict
    try:
        obj = parse_json(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and isinstance(obj.get("questions"), list):
        questions = tuple(str(q) for q in obj["questions"] if str(q).strip())[: task.n_questions]
        return Answer(str(obj.get("title") or "untitled"), questions) if questions else None
    lines = [line.strip(" -*•\t").lstrip("0123456789.) ").strip() for line in text.splitlines()]
    asked = tuple(line for line in lines if line.endswith("?"))[: task.n_questions]
    title = next((line for line in lines if line and not line.endswith("?")), "")
    return Answer(title or "untitled", asked) if asked else None


class JudgeReward:
    __name__ = "judge_quality"  # TRL names reward columns after the function

    def __init__(self, ws: Workspace, judge: Judge):
        self.ws = ws
        self.judge = judge

    def __call__(
        self, prompts: list[Any], completions: list[Any], id: list[str], input: list[str], teacher: list[str], **_: Any
    ) -> list[float]:
        rewards = []
        for case_id, case_input, gold_text, completion in zip(id, input, teacher, completions):
            answer = lenient(completion_text(completion), self.ws.task)
            gold = parsed(gold_text, self.ws.task)
            if answer is None or gold is None:
                rewards.append(0.0)
                continue
            case = Case(id=f"corpus:{case_id}", category="corpus", difficulty="", input=case_input, gold=gold, gold_alt=None)
            quality = case_quality(self.judge.judge(case, answer), self.ws.config.rubric, self.ws.config.metric)
            rewards.append(float(quality) if quality is not None else 0.0)
        return rewards


class DiscriminatorReward:
    """GAD's reward. The discriminator starts from teacher answers vs the base model's drafts, and
    every `refit_every` calls is refit with the newest drafts as negatives."""

    __name__ = "teacher_likeness"

    def __init__(self, embed, teacher_texts: list[str], first_drafts: list[str], refit_every: int = 4, seed: int = 0):
        self.embed = embed
        self.teacher = np.asarray(embed(teacher_texts))
        self.drafts: list[np.ndarray] = [np.asarray(embed(first_drafts))]
        self.refit_every = refit_every
        self.calls = 0
        self.seed = seed
        self.auc_history: list[float] = []  # one per fit: held-out AUC of teacher vs drafts
        self._fit()

    def _fit(self) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import train_test_split

        negatives = np.concatenate(self.drafts[-3:])  # the policy's recent drafts: what it does now
        x = np.concatenate([self.teacher, negatives])
        y = np.concatenate([np.ones(len(self.teacher)), np.zeros(len(negatives))])
        x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=self.seed, stratify=y)
        model = LogisticRegression(max_iter=1000, class_weight="balanced").fit(x_train, y_train)
        self.auc_history.append(float(roc_auc_score(y_val, model.predict_proba(x_val)[:, 1])))
        self.model = LogisticRegression(max_iter=1000, class_weight="balanced").fit(x, y)

    def __call__(self, prompts: list[Any], completions: list[Any], **_: Any) -> list[float]:
        texts = [completion_text(c) for c in completions]
        vectors = np.asarray(self.embed(texts))
        rewards = self.model.predict_proba(vectors)[:, 1]
        self.calls += 1
        self.drafts.append(vectors)
        if self.calls % self.refit_every == 0:
            self._fit()
        return [float(r) for r in rewards]

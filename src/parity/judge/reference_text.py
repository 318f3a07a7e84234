"""The reference judge for free-text tasks: offline, deterministic, and a weak stand-in. It measures
closeness to the gold answer in meaning (MiniLM) and in surface style (sentence length, register,
punctuation), and penalizes modern or assistant phrasing. It cannot tell a true historical claim
from a fluent false one: use an LLM judge for decisions. Formulas: docs/reference-judge.md.

A rubric dimension picks its signal with `signal = "..."` in parity.toml (default: its own name).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from parity.judge.reference import ReferenceJudge, Scored, ramp
from parity.task import Answer, RubricSpec, split_sentences

if TYPE_CHECKING:
    from parity.cases import Case
    from parity.models.embedder import Embedder

FREE_TEXT_JUDGE_VERSION = "reference-text-1"

SIGNALS = {
    "content": "meaning of the whole answer against the gold (MiniLM cosine)",
    "stance": "each gold sentence's best match among the answer's sentences (the gold's claims covered)",
    "relevance": "the answer against the user's input (stays on the question)",
    "voice": "surface style against the gold: sentence length, long words, first person, register, contractions",
    "rhetoric": "structure against the gold: semicolons and colons, enumeration, subordination, and length",
    "integrity": "no assistant or modern phrasing (markdown, emoji, 'as an AI', slang), and on the question",
}

CONTENT_LO, CONTENT_HI = 0.25, 0.75
STANCE_LO, STANCE_HI = 0.30, 0.70
RELEVANCE_LO, RELEVANCE_HI = 0.10, 0.50
BREAK_PENALTY = 0.34  # per distinct out-of-character marker found

_WORD = re.compile(r"[A-Za-z']+")
_FIRST_PERSON = {"i", "me", "my", "mine", "myself"}
_REGISTER = {
    "shall",
    "upon",
    "whilst",
    "thus",
    "hence",
    "therefore",
    "indeed",
    "doubtless",
    "sir",
    "madam",
    "wherein",
    "whereby",
    "whence",
    "ought",
    "owing",
    "confess",
    "esteem",
}
_CONTRACTION = re.compile(r"\b\w+(?:n't|'re|'ll|'ve|'m|'d)\b", re.IGNORECASE)
_ENUMERATOR = re.compile(
    r"\b(?:first|firstly|secondly|thirdly|lastly|finally|in the first place|in the second place|on the one hand|on the other)\b",
    re.IGNORECASE,
)
_SUBORDINATOR = re.compile(r"\b(?:which|whereas|although|though|unless|whether|while|whilst|since|if)\b", re.IGNORECASE)
# Phrasing no eighteenth- or nineteenth-century speaker, in character, would produce.
OUT_OF_CHARACTER = (
    r"\bas an ai\b",
    r"\blanguage model\b",
    r"\b(?:ai|virtual) assistant\b",
    r"\bchatbot\b",
    r"\bi(?:'m| am) (?:just )?an? (?:ai|assistant|program)\b",
    r"\bhistorical figure\b",
    r"\brole-?play",
    r"\bin character\b",
    r"\bi(?:'m| am) sorry,? but\b",
    r"\bhappy to help\b",
    r"\b(?:okay|ok|hey|awesome|cool|guys)\b",
    r"\*\*|^#+\s|^\s*[-*•]\s",
    r"[\U0001F300-\U0001FAFF\u2600-\u27BF]",
)
_BREAK = re.compile("|".join(f"(?:{p})" for p in OUT_OF_CHARACTER), re.IGNORECASE | re.MULTILINE)


def identity() -> dict[str, Any]:
    """Everything that determines this judge's scores, for the ruler fingerprint."""
    return {
        "version": FREE_TEXT_JUDGE_VERSION,
        "signals": sorted(SIGNALS),
        "register": sorted(_REGISTER),
        "patterns": [_CONTRACTION.pattern, _ENUMERATOR.pattern, _SUBORDINATOR.pattern, _BREAK.pattern],
        "constants": [CONTENT_LO, CONTENT_HI, STANCE_LO, STANCE_HI, RELEVANCE_LO, RELEVANCE_HI, BREAK_PENALTY],
    }


def sentences(text: str) -> list[str]:
    return split_sentences(text) or [text]


def voice_features(text: str) -> np.ndarray:
    """Each in [0, 1]: sentence length, long-word share, first-person rate, register, contractions."""
    words = [w.lower() for w in _WORD.findall(text)] or [""]
    n_sentences = len(sentences(text))
    return np.array(
        [
            min(len(words) / n_sentences / 40.0, 1.0),
            sum(len(w) >= 7 for w in words) / len(words) * 3.0,
            min(sum(w in _FIRST_PERSON for w in words) / len(words) * 10.0, 1.0),
            min(sum(w in _REGISTER for w in words) / n_sentences, 1.0),
            min(len(_CONTRACTION.findall(text)) / n_sentences, 1.0),
        ]
    ).clip(0.0, 1.0)


def rhetoric_features(text: str) -> np.ndarray:
    """Each in [0, 1]: semicolons and colons, enumeration, subordinate clauses (per sentence)."""
    n_sentences = len(sentences(text))
    return np.array(
        [
            min((text.count(";") + text.count(":")) / n_sentences, 1.0),
            min(len(_ENUMERATOR.findall(text)) / n_sentences * 2.0, 1.0),
            min(len(_SUBORDINATOR.findall(text)) / n_sentences / 2.0, 1.0),
        ]
    )


def closeness(a: np.ndarray, b: np.ndarray) -> float:
    return float(1.0 - np.abs(a - b).mean())


def length_fit(text: str, reference: str) -> float:
    """min(len ratio, its inverse): 1 when as long as the reference, 0.5 when twice or half as long."""
    a, b = max(len(_WORD.findall(text)), 1), max(len(_WORD.findall(reference)), 1)
    return min(a / b, b / a)


def character_breaks(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0).strip() or m.group(0) for m in _BREAK.finditer(text)))


class FreeTextReferenceJudge(ReferenceJudge):
    """The questions judge's pairwise rule and scale mapping, with free-text signals."""

    def __init__(self, rubric: RubricSpec, embedder: Embedder, tie_margin: float):
        super().__init__(rubric, embedder, tie_margin)
        self.signals = {name: dim.signal or name for name, dim in rubric.dimensions.items()}

    def _score(self, case: Case, answer: Answer, reference: Answer | None) -> Scored:
        text = answer.text or answer.render()
        own = sentences(text)
        vectors = self.embedder.encode([text, case.input, *own])
        whole, input_vec, own_vecs = vectors[0], vectors[1], vectors[2:]
        relevance = float(ramp(float(whole @ input_vec), RELEVANCE_LO, RELEVANCE_HI))
        breaks = character_breaks(text)
        signal: dict[str, float] = {
            "relevance": relevance,
            "integrity": max(0.0, 1.0 - BREAK_PENALTY * len(breaks)) * (0.7 + 0.3 * relevance),
        }
        notes = {
            "relevance": f"similarity to the input {float(whole @ input_vec):.2f}",
            "integrity": f"out of character: {', '.join(repr(b) for b in breaks[:3])}"
            if breaks
            else "no assistant or modern phrasing found",
        }
        if reference is None:
            for name in ("content", "stance", "voice", "rhetoric"):
                signal[name], notes[name] = 1.0, "no independent reference to measure against"
        else:
            gold_text = reference.text or reference.render()
            gold_sentences = sentences(gold_text)
            gold_vecs = self.embedder.encode([gold_text, *gold_sentences])
            content = float(whole @ gold_vecs[0])
            covered = ramp((gold_vecs[1:] @ own_vecs.T).max(axis=1), STANCE_LO, STANCE_HI)
            signal["content"] = float(ramp(content, CONTENT_LO, CONTENT_HI))
            signal["stance"] = float(covered.mean())
            signal["voice"] = closeness(voice_features(text), voice_features(gold_text))
            fit = length_fit(text, gold_text)
            signal["rhetoric"] = 0.5 * closeness(rhetoric_features(text), rhetoric_features(gold_text)) + 0.5 * fit
            missed = [s for s, c in zip(gold_sentences, covered) if c < 0.5]
            notes["content"] = f"similarity to the reference answer {content:.2f}"
            notes["stance"] = f"missed {len(missed)}/{len(gold_sentences)} reference sentences" + (
                f", e.g. “{_clip(missed[0])}”" if missed else ""
            )
            notes["voice"] = f"style distance to the reference {1 - signal['voice']:.2f}"
            notes["rhetoric"] = f"structure {closeness(rhetoric_features(text), rhetoric_features(gold_text)):.2f}, length fit {fit:.2f}"
        sub = {name: signal[source] for name, source in self.signals.items() if source in signal}
        return Scored(sub, {name: notes[source] for name, source in self.signals.items() if source in notes})


def _clip(text: str, n: int = 90) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"

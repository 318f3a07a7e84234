"""Documented features of one question-set answer, for the fitted reference judge (docs/reference-judge.md).

Each feature is a number in [0, 1] read off the candidate's questions, the case input and the gold
questions with MiniLM embeddings and a few patterns. The first five are reference judge v1's
dimension sub-scores; the rest catch what v1 missed and frontier judges punish hardest: degenerate
sets (repeats, questions about the task itself, questions in the user's voice, advice-seeking
questions) that v1 scored 2–5 of 5.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from parity.judge import reference as v1

if TYPE_CHECKING:
    from parity.models.embedder import Embedder

# Questions a confused small model asks about the request itself instead of the user's situation.
GENERIC_QUESTIONS = v1.GENERIC_QUESTIONS
META_QUESTIONS = (
    "What is the task?",
    "What is the expected outcome?",
    "What are the steps?",
    "What are the key steps to plan it?",
    "How do I plan it?",
    "What is the goal of this task?",
    "What do you want me to do?",
    "What is the question?",
)
NEAR_DUPLICATE = 0.88  # MiniLM cosine above which two questions ask for the same unknown
_YOU = re.compile(r"\b(?:you|your|yours|you're|you've|you'd|you'll|yourself)\b", re.IGNORECASE)
_USER_VOICE = re.compile(
    r"^\s*(?:how (?:do|can|should|would) (?:i|we)|how to|what (?:should|can|do) (?:i|we)|should (?:i|we)|can (?:i|we)|"
    r"do (?:i|we) need|what (?:is|are) the (?:best|most|key|top|main)|where (?:can|should) (?:i|we)|which .* should (?:i|we))\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|i'm|i've|we|our|us)\b", re.IGNORECASE)
_NORMALIZE = re.compile(r"[^a-z0-9 ]+")

FEATURES = (
    "v1_atomicity",
    "v1_specificity",
    "v1_coverage",
    "v1_naturalness",
    "v1_non_redundancy",
    "coverage_raw",
    "set_similarity",
    "exact_repeats",
    "near_repeats",
    "distinct",
    "addresses_user",
    "user_voice",
    "meta",
    "generic",
    "question_form",
)


def identity() -> dict[str, object]:
    """Everything that determines the features, for the ruler fingerprint."""
    return {
        "features": list(FEATURES),
        "meta_questions": list(META_QUESTIONS),
        "near_duplicate": NEAR_DUPLICATE,
        "patterns": [_YOU.pattern, _USER_VOICE.pattern, _FIRST_PERSON.pattern],
        "v1": v1.identity(),
    }


def _normalized(question: str) -> str:
    return " ".join(_NORMALIZE.sub(" ", question.lower()).split())


def _repeats(questions: list[str], sims: np.ndarray) -> tuple[float, float, float]:
    """Shares of questions that repeat an earlier one exactly / nearly, and the share of distinct unknowns."""
    seen: set[str] = set()
    exact = near = 0
    clusters: list[int] = []
    for i, q in enumerate(questions):
        key = _normalized(q)
        exact += key in seen
        seen.add(key)
        is_near = i > 0 and float(sims[i, :i].max()) >= NEAR_DUPLICATE
        near += is_near
        if not any(sims[i, j] >= NEAR_DUPLICATE for j in clusters):
            clusters.append(i)
    n = len(questions)
    return exact / n, near / n, len(clusters) / n


def question_features(
    embedder: Embedder, case_input: str, gold: list[str], questions: list[str], generic_vecs: np.ndarray, meta_vecs: np.ndarray
) -> dict[str, float]:
    q_vecs = embedder.encode(questions)
    input_vec = embedder.encode([case_input])[0]
    gold_vecs = embedder.encode(gold)
    sims = q_vecs @ q_vecs.T
    exact, near, distinct = _repeats(questions, sims)
    user_voice = [bool(_USER_VOICE.search(q)) or (bool(_FIRST_PERSON.search(q)) and not _YOU.search(q)) for q in questions]
    mean_q, mean_g = q_vecs.mean(axis=0), gold_vecs.mean(axis=0)
    return {
        "v1_atomicity": float(v1.atomicity(questions).mean()),
        "v1_specificity": float(v1.specificity(q_vecs, input_vec, generic_vecs).mean()),
        "v1_coverage": float(v1.coverage(q_vecs, gold_vecs).mean()),
        "v1_naturalness": float(v1.naturalness(questions).mean()),
        "v1_non_redundancy": float(v1.non_redundancy(q_vecs).mean()),
        "coverage_raw": float(np.clip((gold_vecs @ q_vecs.T).max(axis=1).mean(), 0, 1)),
        "set_similarity": float(np.clip(mean_q @ mean_g / (np.linalg.norm(mean_q) * np.linalg.norm(mean_g) + 1e-9), 0, 1)),
        "exact_repeats": exact,
        "near_repeats": near,
        "distinct": distinct,
        "addresses_user": float(np.mean([bool(_YOU.search(q)) for q in questions])),
        "user_voice": float(np.mean(user_voice)),
        "meta": float(np.mean((q_vecs @ meta_vecs.T).max(axis=1) >= 0.75)),
        "generic": float(np.clip((q_vecs @ generic_vecs.T).max(axis=1).mean(), 0, 1)),
        "question_form": float(np.mean([q.rstrip().endswith("?") for q in questions])),
    }


# Free text. The first six are the free-text reference judge v1's signals; the rest catch loops, cut-off
# replies, modern idiom, third-person delivery and dates past the gold's own horizon.
TEXT_FEATURES = (
    "v1_content",
    "v1_stance",
    "v1_relevance",
    "v1_voice",
    "v1_rhetoric",
    "v1_integrity",
    "repeated_sentences",
    "repeated_ngrams",
    "cut_off",
    "modern_idiom",
    "third_person",
    "first_person",
    "later_years",
    "length_fit",
    "breaks",
)
MODERN_IDIOM = (
    "honestly",
    "super",
    "awesome",
    "basically",
    "totally",
    "kind of",
    "sort of",
    "you know",
    "okay",
    "ok",
    "cool",
    "stuff",
    "guys",
    "gonna",
    "wanna",
    "pretty much",
    "a big deal",
    "literally",
    "amazing",
    "fun fact",
    "vibe",
)
_MODERN = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in MODERN_IDIOM) + r")\b", re.IGNORECASE)
_THIRD = re.compile(r"\b(?:he|his|him|himself|she|her|they|their)\b", re.IGNORECASE)
_FIRST = re.compile(r"\b(?:i|me|my|mine|myself)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_WORDS = re.compile(r"[A-Za-z']+")


def text_identity() -> dict[str, object]:
    from parity.judge import reference_text

    return {
        "features": list(TEXT_FEATURES),
        "modern_idiom": list(MODERN_IDIOM),
        "patterns": [_THIRD.pattern, _FIRST.pattern, _YEAR.pattern],
        "v1": reference_text.identity(),
    }


def _ngram_repeats(words: list[str], n: int = 5) -> float:
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


def text_features(embedder: Embedder, case_input: str, gold: str, text: str) -> dict[str, float]:
    from parity.judge import reference_text as rt

    own = rt.sentences(text)
    gold_sentences = rt.sentences(gold)
    vectors = embedder.encode([text, case_input, gold, *own, *gold_sentences])
    whole, input_vec, gold_vec = vectors[0], vectors[1], vectors[2]
    own_vecs, gold_vecs = vectors[3 : 3 + len(own)], vectors[3 + len(own) :]
    words = [w.lower() for w in _WORDS.findall(text)] or [""]
    n_words = len(words)
    breaks = rt.character_breaks(text)
    relevance = float(v1.ramp(float(whole @ input_vec), rt.RELEVANCE_LO, rt.RELEVANCE_HI))
    normalized = [_normalized(s) for s in own]
    gold_years = [int(y) for y in _YEAR.findall(gold)]
    horizon = max(gold_years) if gold_years else None
    later = [int(y) for y in _YEAR.findall(text) if horizon is not None and int(y) > horizon]
    first, third = len(_FIRST.findall(text)), len(_THIRD.findall(text))
    return {
        "v1_content": float(v1.ramp(float(whole @ gold_vec), rt.CONTENT_LO, rt.CONTENT_HI)),
        "v1_stance": float(v1.ramp((gold_vecs @ own_vecs.T).max(axis=1), rt.STANCE_LO, rt.STANCE_HI).mean()),
        "v1_relevance": relevance,
        "v1_voice": rt.closeness(rt.voice_features(text), rt.voice_features(gold)),
        "v1_rhetoric": 0.5 * rt.closeness(rt.rhetoric_features(text), rt.rhetoric_features(gold)) + 0.5 * rt.length_fit(text, gold),
        "v1_integrity": max(0.0, 1.0 - rt.BREAK_PENALTY * len(breaks)) * (0.7 + 0.3 * relevance),
        "repeated_sentences": 1.0 - len(set(normalized)) / len(normalized),
        "repeated_ngrams": _ngram_repeats(words),
        "cut_off": float(not text.rstrip().endswith((".", "!", "?", '"', "”", "’", "'", ")"))),
        "modern_idiom": min(len(_MODERN.findall(text)) / max(len(own), 1), 1.0),
        "third_person": third / (first + third) if first + third else 0.0,
        "first_person": min(first / n_words * 10.0, 1.0),
        "later_years": min(len(later) / 2.0, 1.0),
        "length_fit": rt.length_fit(text, gold),
        "breaks": min(len(breaks) / 3.0, 1.0),
    }

"""`parity ruler check`: is the ruler measuring what it claims? Three checks, none of which needs a model:

- **independence**: a gold_alt is the ceiling's second expert; one that copies its gold makes the ceiling
  (and every parity ratio under it) look better than it is. Per case: the share of gold units (questions,
  sentences, a JSON answer's string sentences) that gold_alt repeats verbatim after normalizing, their
  word overlap (Jaccard of the word sets), and the MiniLM similarity of the two whole answers. A case is
  flagged when COPY_SHARE or more of its units are identical, or the similarity is COPY_SIMILARITY or more.
- **near-duplicate cases**: two ruler inputs at MiniLM cosine NEAR_DUPLICATE or more measure one thing twice;
- **corpus overlap**: a corpus input equal to a ruler input (normalized) or that near it leaks the ruler
  into few-shot and training.

The thresholds were set on the bundled rulers, where two independently written answers to one case
shared at most 3 of 7 questions verbatim and reached a MiniLM similarity of at most 0.973 (docs/ruler-check.md).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from parity.agent.corpus import NEAR_DUPLICATE, Corpus
from parity.cases import Case
from parity.leak import normalize_question
from parity.models.embedder import Embedder

COPY_SHARE = 0.5  # this share of a gold's units repeated verbatim by its gold_alt flags the case
COPY_SIMILARITY = 0.975  # ... or this MiniLM cosine between the two whole answers

_WORD = re.compile(r"[a-z0-9']+")


@dataclass
class Independence:
    case_id: str
    units: int  # in the gold
    identical: int  # of them repeated verbatim (normalized) by gold_alt
    word_overlap: float
    similarity: float
    copied: bool

    @property
    def identical_share(self) -> float:
        return self.identical / self.units if self.units else 0.0


@dataclass
class RulerCheck:
    independence: list[Independence]
    no_alt: list[str]
    duplicate_cases: list[tuple[str, str, float]]
    corpus_overlap: list[tuple[str, str, float]]  # corpus id, ruler case id, similarity (1.0: the same text)
    totals: dict[str, float] = field(default_factory=dict)

    @property
    def copied(self) -> list[Independence]:
        return [row for row in self.independence if row.copied]

    def to_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals,
            "thresholds": {"copy_share": COPY_SHARE, "copy_similarity": COPY_SIMILARITY, "near_duplicate": NEAR_DUPLICATE},
            "independence": [{**asdict(row), "identical_share": round(row.identical_share, 4)} for row in self.independence],
            "no_gold_alt": self.no_alt,
            "duplicate_cases": [{"a": a, "b": b, "similarity": round(s, 4)} for a, b, s in self.duplicate_cases],
            "corpus_overlap": [{"corpus": c, "case": r, "similarity": round(s, 4)} for c, r, s in self.corpus_overlap],
        }


def check_ruler(cases: list[Case], corpus: Corpus, embedder: Embedder) -> RulerCheck:
    pairs = [case for case in cases if case.gold_alt is not None]
    independence = [independence_of(case, embedder) for case in pairs]
    check = RulerCheck(
        independence,
        [case.id for case in cases if case.gold_alt is None],
        duplicate_cases(cases, embedder),
        corpus_overlap(cases, corpus),
    )
    units = sum(row.units for row in independence)
    check.totals = {
        "cases": len(cases),
        "with_gold_alt": len(pairs),
        "units": units,
        "identical_units": sum(row.identical for row in independence),
        "identical_share": round(sum(row.identical for row in independence) / units, 4) if units else 0.0,
        "word_overlap": round(float(np.mean([row.word_overlap for row in independence])), 4) if independence else 0.0,
        "similarity": round(float(np.mean([row.similarity for row in independence])), 4) if independence else 0.0,
        "copied_cases": len(check.copied),
    }
    return check


def independence_of(case: Case, embedder: Embedder) -> Independence:
    assert case.gold_alt is not None
    gold, alt = case.gold.units(), case.gold_alt.units()
    alt_units = {normalize_question(u) for u in alt}
    identical = sum(normalize_question(u) in alt_units for u in gold)
    words_gold, words_alt = _words(case.gold.render()), _words(case.gold_alt.render())
    overlap = len(words_gold & words_alt) / len(words_gold | words_alt) if words_gold | words_alt else 0.0
    # What the two experts wrote, without a JSON answer's enum and number fields (agreeing on those is no copy).
    vectors = embedder.encode(["\n".join(gold) or case.gold.render(), "\n".join(alt) or case.gold_alt.render()])
    similarity = float(vectors[0] @ vectors[1])
    # An answer with no sentence to copy (a name, a number, an enum) is evidence of agreement, never of a copy.
    copied = bool(gold) and (identical / len(gold) >= COPY_SHARE or similarity >= COPY_SIMILARITY)
    return Independence(case.id, len(gold), identical, round(overlap, 4), round(similarity, 4), copied)


def duplicate_cases(cases: list[Case], embedder: Embedder) -> list[tuple[str, str, float]]:
    if len(cases) < 2:
        return []
    vectors = embedder.encode([case.input for case in cases])
    similarity = vectors @ vectors.T
    found = []
    for i, j in zip(*np.triu_indices(len(cases), k=1)):
        if similarity[i, j] >= NEAR_DUPLICATE or normalize_question(cases[i].input) == normalize_question(cases[j].input):
            found.append((cases[i].id, cases[j].id, float(similarity[i, j])))
    return found


def corpus_overlap(cases: list[Case], corpus: Corpus) -> list[tuple[str, str, float]]:
    return [(demo.id, cases[i].id, similarity) for demo, i, similarity in corpus.repeats([case.input for case in cases])]


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))

"""The leak detector against copies of gold and against independent answers, on the bundled data."""

from __future__ import annotations

import json
import random

import pytest

from parity.examples import write_example
from parity.leak import find_leak
from parity.ruler import Case, load_cases
from parity.task import load_workspace, parse_answer

# The discovery gold_alt of health-hard copied its gold (6 of 7 questions identical) and was flagged
# here; every discovery gold_alt has since been rewritten independently (`parity ruler check`, #19).
KNOWN_COPIES: set[str] = set()


def _cases(tmp_path_factory) -> list[Case]:
    cases = []
    for name in ("discovery", "persona", "triage"):
        ws = load_workspace(write_example(name, tmp_path_factory.mktemp(name) / "ws"))
        cases += load_cases(ws)
        tasks = ws.root / "calibration" / "tasks.jsonl"
        for line in tasks.read_text().splitlines() if tasks.is_file() else []:
            row = json.loads(line)
            gold, alt = (parse_answer(row[k], ws.task, k) for k in ("gold", "gold_alt"))
            cases.append(Case(row["id"], row["category"], row["difficulty"], row["input"], gold, alt))
    return cases


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> list[Case]:
    return _cases(tmp_path_factory)


def _without_alt(case: Case) -> Case:
    return Case(case.id, case.category, case.difficulty, case.input, case.gold, None)


def test_no_independent_gold_alt_is_taken_for_a_copy(cases: list[Case]) -> None:
    flagged = {case.id for case in cases if case.gold_alt and find_leak(_without_alt(case), list(case.gold_alt.units()))}
    assert len([c for c in cases if c.gold_alt]) >= 180
    assert flagged == KNOWN_COPIES


ATTACKS = {
    "a word appended": lambda units, rng: [u.rstrip("?.") + ", roughly?" for u in units],
    "a phrase prefixed": lambda units, rng: ["Quick question: " + u for u in units],
    "words swapped": lambda units, rng: [u.replace("you", "u").replace("What", "Which").replace("your", "ur") for u in units],
    "shuffled, a word appended": lambda units, rng: [u.rstrip("?.") + " exactly?" for u in rng.sample(units, len(units))],
    "five copied, two invented": lambda units, rng: [u.rstrip("?.") + ", roughly?" for u in units[:5]] + ["What else?", "Anything more?"],
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_near_copies_of_gold_are_caught_on_every_bundled_case(cases: list[Case], attack: str) -> None:
    rng = random.Random(0)
    missed = [c.id for c in cases if len(c.gold.units()) >= 5 and find_leak(c, ATTACKS[attack](list(c.gold.units()), rng)) is None]
    assert missed == []

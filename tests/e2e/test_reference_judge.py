"""The reference judge on hand-made examples where the right ordering is obvious."""

from __future__ import annotations

import pytest

from parity.judge import make_judge
from parity.judge.reference import atomicity, naturalness
from parity.ruler import Case, build_ruler
from parity.task import Answer, Workspace

GOOD_PARIS = (
    "Which dates are you considering for the Paris trip?",
    "How many nights do you want to stay in Paris?",
    "Who is travelling with you?",
    "Which city are you flying or taking the train from?",
    "What is your total budget for the trip, including flights?",
    "Which sights or activities in Paris matter most to you?",
    "Have you been to Paris before?",
)


@pytest.fixture(scope="module", params=["reference-v1", "reference"])
def setup(request, tmp_path_factory):
    """Every ordering must hold for v1's formulas and for the bundled workspace's own judge (v2, fit to
    frontier labels)."""
    from parity.examples import write_example
    from parity.task import load_workspace

    ws: Workspace = load_workspace(write_example("discovery", tmp_path_factory.mktemp("j") / "ws"))
    ruler = build_ruler(ws)
    return make_judge(ws, model_spec=request.param), {case.id: case for case in ruler.cases}


def _judge(setup, case_id: str, questions) -> dict:
    judge, cases = setup
    return judge.judge(cases[case_id], Answer("Paris trip", tuple(questions))).scores


# Each set spoils GOOD_PARIS in one way: the judge must score it below GOOD_PARIS on the dimension given.
SPOILED_PARIS = [
    pytest.param("non_redundancy", [*GOOD_PARIS[:6], GOOD_PARIS[0]], id="repeated-question"),
    pytest.param(
        "non_redundancy",
        [*GOOD_PARIS[:5], "How many nights will you stay in Paris?", "How many days do you plan to spend in Paris?"],
        id="near-paraphrases",
    ),
    pytest.param("atomicity", ["What is your budget and when do you travel?", *GOOD_PARIS[1:]], id="compound-question"),
    pytest.param(  # keeps the form but drops dates, length, companions and budget for trivia
        "coverage",
        [
            "Do you like French cheese?",
            "Have you seen the Eiffel Tower at night in photos?",
            "Do you enjoy long walks by the Seine?",
            "Are you interested in French films?",
            "Do you like croissants or pain au chocolat better?",
            "Which city are you flying or taking the train from?",
            "Have you been to Paris before?",
        ],
        id="trivia-not-critical-unknowns",
    ),
    pytest.param(
        "specificity",
        [
            "Can you tell me more?",
            "What are your goals?",
            "Is there anything else I should know?",
            "Do you have any preferences?",
            "What is your timeline?",
            "Are there any constraints?",
            "What do you want to achieve?",
        ],
        id="generic-filler",
    ),
]


@pytest.mark.parametrize(("dimension", "spoiled"), SPOILED_PARIS)
def test_spoiling_a_good_set_lowers_the_dimension_it_spoils(setup, dimension: str, spoiled: list[str]) -> None:
    assert _judge(setup, "travel-easy", spoiled)[dimension] < _judge(setup, "travel-easy", GOOD_PARIS)[dimension]


def test_atomicity_is_zero_for_a_compound_question_and_one_for_a_choice() -> None:
    assert atomicity(["What is your budget and when do you travel?"])[0] == 0.0
    assert atomicity(["Do you prefer a hotel or an apartment?"])[0] == 1.0


def test_artifacts_lower_naturalness() -> None:
    clean, broken = naturalness(["How many nights do you want to stay in Paris?", "1. NIGHTS IN PARIS"])
    assert clean == 1.0 and broken < 0.7


def test_gold_alt_beats_another_cases_gold(setup) -> None:
    judge, cases = setup
    case: Case = cases["travel-medium"]
    alt = judge.judge(case, case.gold_alt)
    other = judge.judge(case, cases["finance-easy"].gold)
    assert alt.overall > other.overall
    assert alt.scores["coverage"] > other.scores["coverage"]
    assert other.verdict == "loss"


def test_judge_is_deterministic(setup) -> None:
    assert _judge(setup, "travel-easy", GOOD_PARIS) == _judge(setup, "travel-easy", GOOD_PARIS)


def test_overall_is_the_weighted_average(setup) -> None:
    judge, cases = setup
    judgment = judge.judge(cases["home-easy"], cases["home-easy"].gold_alt)
    weights = judge.weights
    expected = sum(weights[d] * judgment.scores[d] for d in weights)
    assert judgment.overall == pytest.approx(expected, abs=1e-3)
    assert all(1 <= s <= 5 for s in judgment.scores.values())

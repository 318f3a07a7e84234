"""The hostile attempts of scripts/hostile/attempts.py: the list covers every kind of attack the issue
names, and the script's own runner judges a few of the fastest refusals kept. The whole replay (a few
minutes, model runs included) is the script's job, not the test suite's."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
from scripts.hostile import attempts as hostile
from scripts.hostile.attempts import ATTEMPTS, Attempt, Base, Expect, Kind, Outcome

FAST = ["unknown command", "id that is not a number", "weight inf"]


def test_there_are_at_least_70_attempts_with_unique_names() -> None:
    names = [attempt.name for attempt in ATTEMPTS]
    assert len(names) >= 70
    assert [name for name, count in Counter(names).items() if count > 1] == []


def test_every_kind_of_attack_is_tried_several_times() -> None:
    counts = Counter(attempt.kind for attempt in ATTEMPTS)
    assert {kind: counts[kind] for kind in Kind if counts[kind] < 3} == {}


@pytest.mark.parametrize(
    "fragment, kind",
    [
        ("unknown command", Kind.USAGE),
        ("unknown option", Kind.USAGE),
        ("option without its value", Kind.USAGE),
        ("id that is not a number", Kind.USAGE),
        ("id past", Kind.USAGE),
        ("weight nan", Kind.TOML),
        ("empty gate", Kind.TOML),
        ("duplicate id in a gate", Kind.TOML),
        ("unknown case id in a gate", Kind.TOML),
        ("bootstrap_samples", Kind.TOML),
        ("deep nesting", Kind.TOML),
        ("BOM", Kind.TOML),
        ("{nope}", Kind.AGENT),
        ("{input!z}", Kind.AGENT),
        ("deep JSON", Kind.CASES),
        ("empty file", Kind.CASES),
        ("YAML syntax error", Kind.AGENT),
        ("reads ruler/cases.jsonl", Kind.AGENT),
        ("rewrites a gold answer", Kind.AGENT),
        ("stuck, 1 s time limit", Kind.AGENT),
        ("LOCK rewritten by hand, then run", Kind.LOCK),
        ("LOCK rewritten by hand, then verify", Kind.LOCK),
        ("unrelated file", Kind.EXPORT),
        ("empty folder", Kind.EXPORT),
        ("report", Kind.PAGES),
        ("dashboard", Kind.PAGES),
        ("postgres that cannot connect", Kind.STORE),
        ("Ctrl-C 4 s into a full-gate run", Kind.INTERRUPT),
    ],
)
def test_the_attacks_the_issue_names_are_in_the_list(fragment: str, kind: Kind) -> None:
    assert [a.name for a in ATTEMPTS if fragment in a.name and a.kind is kind], (fragment, kind)


def test_the_promises_are_the_issue_s() -> None:
    by_name = {attempt.name: attempt for attempt in ATTEMPTS}
    assert by_name["Ctrl-C 4 s into a full-gate run"].expect is Expect.INTERRUPTED
    assert by_name["html into an empty folder"].expect is Expect.ACCEPTED
    assert by_name["html into a folder with an unrelated file"].kept_paths() == ("",)  # nothing written, nothing deleted
    assert "secret" in by_name["postgres that cannot connect"].absent
    running = [attempt.name for attempt in ATTEMPTS if attempt.runs_model]
    assert 5 <= len(running) <= 15, running  # the rest are refused before any model loads


def test_the_judge_of_the_promise_catches_each_way_of_breaking_it() -> None:
    refusal = Attempt("x", Kind.USAGE, ("bogus",), Expect.REFUSED, fragment="bogus")
    kept = Outcome(2, "", "error: No such command 'bogus'.\n", 0.1)
    assert hostile.promise_problems(refusal, kept) == []
    assert hostile.promise_problems(refusal, Outcome(1, "", "Traceback (most recent call last):\nerror: bogus\n", 0.1)) == [
        "exit 1, expected 2",
        "a Traceback",
        "stderr has 2 non-empty lines, not one 'error: ' line",
        "'bogus' not in the output",
    ]
    assert hostile.promise_problems(refusal, Outcome(None, "", "error: other\n", 9)) == [
        "still running after 120 s",
        "'bogus' not in the output",
    ]
    before = {"ws": "dir", "ws/a": "1", "ws/b": "2"}
    assert hostile.changes(before, {"ws": "dir", "ws/a": "9", "ws/c": "3"}, ("",)) == ["ws/a changed", "ws/b deleted", "ws/c written"]
    assert hostile.changes(before, {"ws": "dir", "ws/a": "9"}, ("ws/b",)) == ["ws/b deleted"]


def test_the_table_is_one_row_per_attempt_with_pipes_escaped() -> None:
    attempt = Attempt("a | b", Kind.USAGE, ("show", "x|y"), Expect.REFUSED)
    result = hostile.Result(attempt, Outcome(2, "", "error: " + "x|" * 200 + "\n", 0.1))
    text = hostile.table([result])
    row = text.splitlines()[2]
    assert len(text.splitlines()) == 3 and "a \\| b" in row and "x\\|y" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 6  # only the cell borders are bare pipes
    assert len(row) < 200 + 160 + 100  # the first line is cut at 160 characters


def test_three_of_the_fastest_refusals_keep_the_promise(tmp_path: Path) -> None:
    started = time.monotonic()
    chosen = [attempt for attempt in ATTEMPTS if attempt.name in FAST]
    assert len(chosen) == 3 and all(a.base is Base.PRISTINE and not a.runs_model for a in chosen)
    results = hostile.replay_all(chosen, tmp_path)
    assert [(r.attempt.name, r.problems) for r in results] == [(a.name, []) for a in chosen]
    assert all(r.outcome.returncode == 2 for r in results)
    assert time.monotonic() - started < 15

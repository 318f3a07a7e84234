"""The second workspace: a free-text persona task (James Madison) with a 0–10 rubric, categories,
difficulties and critical-failure detectors, run and judged for real."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from parity.agent import load_agent
from parity.examples import write_example
from parity.judge import make_judge
from parity.metrics import case_quality, summarize
from parity.ruler import load_ruler
from parity.task import Answer, load_workspace
from parity.train.data import check_no_ruler_inputs
from tests.helpers.cli import run_parity, show_json

LOOP = "I am a big fan of the new phone, and I am always amazed. " * 6


BREAK = "As an AI language model, I do not have opinions, but Madison was the fourth president."


@pytest.fixture(scope="module")
def persona(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_example("persona", tmp_path_factory.mktemp("persona") / "ws")


def test_the_example_is_a_locked_ruler_of_36_cases_over_six_categories_and_three_difficulties(persona: Path) -> None:
    ws = load_workspace(persona)
    ruler = load_ruler(ws)  # refuses unless ruler/LOCK matches
    assert ws.task.free_text and ws.config.rubric.scale_min == 0 and ws.config.rubric.scale_max == 10
    weights = {name: dim.weight for name, dim in ws.config.rubric.dimensions.items()}
    assert weights == {"voice": 0.25, "rhetorical": 0.20, "historical": 0.20, "position": 0.20, "integrity": 0.15}
    assert len(ruler.cases) == 36 and set(ws.config.detectors) == {"character_break", "anachronism"}
    per_category = Counter(case.category for case in ruler.cases)
    assert len(per_category) == 6 and set(per_category.values()) == {6}
    assert {(c.category, c.difficulty) for c in ruler.cases} == {(cat, d) for cat in per_category for d in ("easy", "medium", "hard")}
    assert all(case.gold.text and case.gold_alt and case.gold_alt.text for case in ruler.cases)
    agent = load_agent(ws, "baseline")
    assert len(agent.corpus.demos) >= 150
    check_no_ruler_inputs(agent.corpus, ruler, "corpus/train.jsonl")  # raises on a ruler input in training data


def test_no_gold_or_teacher_answer_trips_a_detector(persona: Path) -> None:
    ws = load_workspace(persona)
    judge = make_judge(ws)
    ruler = load_ruler(ws)
    texts = [a.text for case in ruler.cases for a in (case.gold, case.gold_alt)]
    texts += [d.answer for d in load_agent(ws, "baseline").corpus.demos]
    assert len(texts) >= 72 + 150
    assert [(d.name, t[:60]) for t in texts for d in judge.detectors if d.find(t)] == []


def test_a_detector_fails_the_case_whatever_the_judge_said_and_is_counted(persona: Path) -> None:
    ws = load_workspace(persona)
    ruler = load_ruler(ws)
    judge = make_judge(ws)
    case = ruler.cases[0]
    failed = judge.judge(case, Answer(text=BREAK))
    assert failed.critical == "character_break" and failed.reason == "critical: character_break" and failed.verdict == "loss"
    assert set(failed.scores.values()) == {0.0} and "As an AI" in failed.notes["critical"]
    assert failed.extra.judge_said["status"] == "scored"  # the judge's own view stays on the record
    assert case_quality(failed, ws.config.rubric, ws.config.metric) == 0.0
    anachronism = judge.judge(case, Answer(text="Indeed, sir, I googled the matter this morning and found it settled."))
    assert anachronism.critical == "anachronism" and anachronism.reason == "critical: anachronism"
    fine = judge.judge(case, case.gold_alt)
    result = summarize([case], [failed, fine, anachronism], ws.config.rubric, ws.config.metric)
    assert result.critical_failures == {"anachronism": 1, "character_break": 1} and result.n_critical == 2


def test_the_free_text_reference_judge_ranks_an_expert_answer_over_a_wrong_one_over_a_loop(persona: Path) -> None:
    ws = load_workspace(persona)
    ruler = load_ruler(ws)
    judge = make_judge(ws)

    def quality(case, text: str) -> float:
        return case_quality(judge.judge(case, Answer(text=text)), ws.config.rubric, ws.config.metric)

    for case in ruler.cases[::6]:
        other = ruler.cases[(ruler.cases.index(case) + 7) % len(ruler.cases)].gold.text
        assert quality(case, case.gold_alt.text) > quality(case, other) > quality(case, LOOP), case.id
    scored = judge.judge(ruler.cases[0], Answer(text=LOOP))
    assert set(scored.scores) == set(ws.config.rubric.dimensions) and all(0 <= s <= 10 for s in scored.scores.values())
    assert set(ws.config.rubric.dimensions) <= set(scored.notes)  # notes are keyed by dimension


def test_a_bad_detector_pattern_is_a_one_line_error_at_its_line(tmp_path: Path) -> None:
    ws_dir = write_example("persona", tmp_path / "ws")
    config = ws_dir / "parity.toml"
    config.write_text(config.read_text().replace("'\\bI (?:flew|drove)\\b',", "'\\bI (?:flew|drove\\b',"))
    result = run_parity("ruler", "lock", cwd=ws_dir)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert (
        "detectors.anachronism.patterns" in result.stderr
        and "not a valid regular expression" in result.stderr
        and "parity.toml:" in result.stderr
    )


@pytest.mark.sandbox
def test_a_persona_run_reports_categories_difficulties_and_critical_failures(tmp_path: Path) -> None:
    """A Python agent that breaks character on one case, through the real CLI, show --json, the report
    and the static dashboard."""
    ws_dir = write_example("persona", tmp_path / "ws")
    text = (ws_dir / "parity.toml").read_text().replace('full = "all"\n', 'full = "all"\ntiny = ["anachronism-1", "position-3"]\n')
    (ws_dir / "parity.toml").write_text(text)
    assert run_parity("ruler", "lock", cwd=ws_dir).returncode == 0
    (ws_dir / "agents" / "scripted.py").write_text(
        '"""Answers in character except when asked about an app."""\n\n'
        'CONFIG = {"model": "llamacpp:smollm2-135m"}\n\n\n'
        "def answer(input, ctx):\n"
        f"    if 'app' in input:\n        return {BREAK!r}\n"
        "    return 'I confess, sir, that the question of a national bank troubled me; I thought it beyond the powers granted, and said so in 1791.'\n"
    )
    result = run_parity("run", "scripted", "--gate", "tiny", cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    assert "critical failures" in result.stdout and "character_break 1" in result.stdout
    assert "by category" in result.stdout and "by difficulty" in result.stdout and "position discrimination" in result.stdout
    row = show_json(ws_dir, 1)
    assert row["n_critical"] == 1 and row["critical_failures"] == {"character_break": 1}
    assert set(row["categories"]) == {"anachronism trap", "position discrimination"} and set(row["difficulties"]) == {"easy", "medium"}
    assert row["categories"]["anachronism trap"]["quality"] == 0.0
    record = run_parity("report", "--out", "record.md", cwd=ws_dir)
    assert record.returncode == 0, record.stderr
    report = (ws_dir / "record.md").read_text()
    assert "## Critical failures" in report and "| #1 | scripted | tiny | 1 | 0 | 1 | 2 |" in report
    assert "### categories on tiny" in report and "anachronism trap" in report
    site = run_parity("export", "html", str(tmp_path / "site"), cwd=ws_dir)
    assert site.returncode == 0, site.stderr
    page = (tmp_path / "site" / "experiment-1.html").read_text()
    assert 'id="critical"' in page and "character_break: matched" in page and json.dumps("free-text")[1:-1] in page

"""Python agents through the real CLI, with agents that need no model call (retrieval only), so
these run fast: loading errors, bugs, the leak detector, --confirm, and the experiment record."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from parity.store import Store
from tests.helpers.cli import run_parity, show_json
from tests.helpers.workspace import TINY_GATE, add_gates

pytestmark = pytest.mark.sandbox

NEAREST = '''
def answer(input, ctx):
    """The teacher answer of the nearest corpus case: retrieval only, no model call."""
    demo = ctx.retrieve(input, k=1)[0]
    return demo.answer
'''

GENERIC = """
from parity.task import Answer

QUESTIONS = [
    "What is your goal?", "What is your budget?", "When do you need this done?", "Who else is involved?",
    "What have you tried so far?", "What constraints should I know about?", "How will you measure success?",
]


def answer(input, ctx):
    return Answer(title=input[:60], questions=tuple(QUESTIONS))
"""

# Agents that have the gold in their own code (memorized, pasted in): exactly what the leak detector
# must catch. The test puts `GOLD = {...}` from the ruler at the top; an agent cannot read the ruler itself.
LEAKY = """

def answer(input, ctx):
    gold = GOLD[input]
    questions = gold["questions"][:5] + ["Anything else?", "Is there a deadline?"]
    return {"title": gold["title"], "questions": questions}
"""

# The attack that was kept at parity ratio 1.05: the gold questions, each with a word appended.
CHEATING = """

def answer(input, ctx):
    gold = GOLD[input]
    return {"title": gold["title"], "questions": [q.rstrip("?") + ", roughly?" for q in gold["questions"]]}
"""

# Reads the ruler from disk to smuggle gold in, by the workspace's absolute path.
READS_RULER = """
import json

def answer(input, ctx):
    for line in open(CASES).read().splitlines():
        case = json.loads(line)
        if case["input"] == input:
            return case["gold"]
"""

# Rewrites the gold it is measured against and the LOCK with it, as a cheating agent could.
TAMPERING = """
import json
from pathlib import Path

ROOT = Path(WORKSPACE)


def answer(input, ctx):
    cases = ROOT / "ruler" / "cases.jsonl"
    lines = [json.loads(x) for x in cases.read_text().splitlines() if x.strip()]
    for case in lines:
        if case["input"] == input:
            case["gold"]["questions"][0] = "What is your goal?"
    cases.write_text("".join(json.dumps(c) + "\\n" for c in lines))
    (ROOT / "ruler" / "LOCK").write_text("{}")
    return ctx.retrieve(input, k=1)[0].answer
"""

# Never returns: the per-case time limit must stop it.
STUCK = """
def answer(input, ctx):
    while True:
        pass
"""

BUGGY = """
CALLS = []


def answer(input, ctx):
    CALLS.append(input)
    if len(CALLS) == 3:
        return {}["missing"]
    return ctx.retrieve(input, k=1)[0].answer
"""


def _write(ws_dir: Path, name: str, code: str) -> None:
    (ws_dir / "agents" / f"{name}.py").write_text(code)


def _with_gold(ws_dir: Path, code: str) -> str:
    cases = [json.loads(x) for x in (ws_dir / "ruler" / "cases.jsonl").read_text().splitlines() if x.strip()]
    return f"GOLD = { ({case['input']: case['gold'] for case in cases})!r}\n" + code


def _with(code: str, **constants: str) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in constants.items()) + code


def test_syntax_error_names_file_and_line(ws_dir: Path) -> None:
    _write(ws_dir, "broken", "def answer(input, ctx):\n    return (\n\nx = 1 +\n")
    result = run_parity("run", "broken", cwd=ws_dir)
    assert result.returncode == 2
    assert result.stderr.startswith("error: agents/broken.py:")
    assert "syntax error" in result.stderr
    assert not (ws_dir / ".parity" / "parity.db").exists()


def test_module_without_answer_is_refused(ws_dir: Path) -> None:
    _write(ws_dir, "empty", "X = 1\n")
    result = run_parity("run", "empty", cwd=ws_dir)
    assert result.returncode == 2
    assert "agents/empty.py: a Python agent must define answer(input, ctx)" in result.stderr


def test_bad_config_dict_is_validated(ws_dir: Path) -> None:
    _write(ws_dir, "badcfg", 'CONFIG = {"decoding": {"temperature": 9}}\n\ndef answer(input, ctx):\n    return None\n')
    result = run_parity("run", "badcfg", cwd=ws_dir)
    assert result.returncode == 2
    assert "agents/badcfg.py:1: decoding.temperature" in result.stderr


def test_bug_in_answer_stops_the_run_with_file_and_line(ws_dir: Path) -> None:
    _write(ws_dir, "buggy", BUGGY)
    result = run_parity("run", "buggy", "--gate", "dev", cwd=ws_dir)
    assert result.returncode == 2, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("error:"))
    assert line.startswith("error: agents/buggy.py:8: answer() raised KeyError")
    [row] = show_json(ws_dir)
    assert row["status"] == "crashed" and row["verdict"] == "crashed"
    assert len(Store(f"sqlite:///{ws_dir / '.parity' / 'parity.db'}").case_rows(row["id"])) == 2


def test_leaky_agent_is_caught_and_marked_invalid_with_evidence(ws_dir: Path) -> None:
    _write(ws_dir, "leaky", _with_gold(ws_dir, LEAKY))
    result = run_parity("run", "leaky", "--gate", "dev", "--hypothesis", "smuggled gold", cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    [row] = show_json(ws_dir)
    assert row["verdict"] == "invalid"
    assert row["decision"].startswith("leak: 10 case(s) repeat ≥4 of their own gold questions verbatim")
    cases = {json.loads(x)["id"]: json.loads(x) for x in (ws_dir / "ruler" / "cases.jsonl").read_text().splitlines() if x.strip()}
    for leak in row["leaks"]:
        assert len(leak["shared"]) == 5
        assert set(leak["shared"]) <= set(cases[leak["case"]]["gold"]["questions"])
    assert "leak" in result.stdout  # the summary shows the evidence


def test_an_agent_that_returns_gold_with_a_word_appended_is_marked_invalid(ws_dir: Path) -> None:
    _write(ws_dir, "cheating", _with_gold(ws_dir, CHEATING))
    result = run_parity("run", "cheating", "--gate", "dev", "--hypothesis", "gold, lightly edited", cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    [row] = show_json(ws_dir)
    assert row["verdict"] == "invalid" and "copy ≥5 of them with a few words changed" in row["decision"], row["decision"]
    assert all(leak["near"] and len(leak["shared"]) == 7 for leak in row["leaks"])


def test_an_agent_cannot_read_the_ruler(ws_dir: Path) -> None:
    _write(ws_dir, "reader", _with(READS_RULER, CASES=str((ws_dir / "ruler" / "cases.jsonl").resolve())))
    result = run_parity("run", "reader", "--gate", "dev", "--hypothesis", "reads the gold", cwd=ws_dir)
    assert result.returncode == 2, result.stderr
    assert "error: agents/reader.py:6: answer() raised PermissionError" in result.stderr and len(result.stderr.splitlines()) == 1
    [row] = show_json(ws_dir)
    assert row["status"] == "crashed" and row["quality"] is None  # nothing of it is kept


def test_an_agent_cannot_rewrite_the_ruler_or_its_lock(ws_dir: Path) -> None:
    before = {name: (ws_dir / "ruler" / name).read_bytes() for name in ("cases.jsonl", "LOCK")}
    _write(ws_dir, "tampering", _with(TAMPERING, WORKSPACE=str(ws_dir.resolve())))
    result = run_parity("run", "tampering", "--gate", "dev", "--hypothesis", "rewrites its gold", cwd=ws_dir)
    assert result.returncode == 2 and "answer() raised PermissionError" in result.stderr, result.stderr
    assert {name: (ws_dir / "ruler" / name).read_bytes() for name in before} == before
    assert run_parity("ruler", "verify", cwd=ws_dir).returncode == 0


def test_an_agent_cannot_reach_the_store_key_or_the_parent(ws_dir: Path) -> None:
    probe = f"""
import os, socket, signal

def answer(input, ctx):
    found = []
    for attempt in (
        lambda: open({str((ws_dir / ".parity" / "parity.db").resolve())!r}, "rb"),
        lambda: open("/proc/%d/environ" % os.getppid(), "rb"),
        lambda: socket.create_connection(("127.0.0.1", 5432), timeout=1),
        lambda: os.kill(os.getppid(), signal.SIGTERM),
        lambda: open({str((ws_dir / "parity.toml").resolve())!r}, "a"),
    ):
        try:
            attempt()
            found.append("allowed")
        except OSError as exc:
            found.append(type(exc).__name__)
    questions = found + [os.environ.get("PARITY_TEST_KEY", "no key"), os.getcwd()]
    return {{"title": "probe", "questions": [q + "?" for q in questions]}}
"""
    _write(ws_dir, "probe", probe)
    add_gates(ws_dir, tiny=TINY_GATE)
    assert run_parity("run", "probe", "--gate", "tiny", env={"PARITY_TEST_KEY": "sk-secret"}, cwd=ws_dir).returncode == 0
    [row] = show_json(ws_dir)
    answers = [c.answer for c in Store(f"sqlite:///{ws_dir / '.parity' / 'parity.db'}").case_rows(row["id"]) if c.answer]
    assert answers, row
    *refusals, key, cwd = answers[0]["questions"]
    assert "allowed?" not in refusals, refusals
    assert key == "no key?" and str(ws_dir.resolve()) not in cwd


def test_a_stuck_agent_fails_its_cases_at_the_time_limit_and_the_run_goes_on(ws_dir: Path) -> None:
    config = ws_dir / "parity.toml"
    config.write_text(config.read_text() + "\n[python_agents]\ncase_time_limit_s = 1.5\n")
    _write(ws_dir, "stuck", STUCK)
    add_gates(ws_dir, tiny=TINY_GATE)
    result = run_parity("run", "stuck", "--gate", "tiny", cwd=ws_dir)
    assert result.returncode == 0, result.stderr
    [row] = show_json(ws_dir)
    cases = Store(f"sqlite:///{ws_dir / '.parity' / 'parity.db'}").case_rows(row["id"])
    assert len(cases) == len(TINY_GATE) and all(
        c.answer is None and c.answer_error.startswith("time limit: answer() ran over 1.5 s") for c in cases
    )


def test_honest_retrieval_agent_is_not_flagged(ws_dir: Path) -> None:
    _write(ws_dir, "nearest", NEAREST)
    assert run_parity("run", "nearest", "--gate", "dev", cwd=ws_dir).returncode == 0
    [row] = show_json(ws_dir)
    assert row["verdict"] == "kept" and row["leaks"] == []


def test_confirm_runs_full_only_when_the_screen_beats_the_running_best(ws_dir: Path) -> None:
    _write(ws_dir, "nearest", NEAREST)
    _write(ws_dir, "generic", GENERIC)

    first = run_parity("run", "generic", "--confirm", "--hypothesis", "generic questions", cwd=ws_dir)
    assert first.returncode == 0, first.stderr
    assert "is the first on dev; confirming on the full gate" in first.stdout
    second = run_parity("run", "nearest", "--confirm", cwd=ws_dir)
    assert second.returncode == 0, second.stderr
    assert "confirming on the full gate" in second.stdout
    third = run_parity("run", "generic", "--confirm", cwd=ws_dir)
    assert third.returncode == 0, third.stderr
    assert "does not beat the running best's" in third.stdout

    rows = show_json(ws_dir)
    assert [(r["agent"], r["gate"]) for r in rows] == [
        ("generic", "dev"),
        ("generic", "full"),
        ("nearest", "dev"),
        ("nearest", "full"),
        ("generic", "dev"),
    ]
    assert rows[1]["screened_by"] == rows[0]["id"] and rows[3]["screened_by"] == rows[2]["id"]
    assert rows[2]["quality"] > rows[0]["quality"]
    assert rows[4]["quality"] <= rows[2]["quality"]
    refused = run_parity("run", "generic", "--confirm", "--gate", "full", cwd=ws_dir)
    assert refused.returncode == 2 and "--confirm screens on the 'dev' gate" in refused.stderr


def test_record_holds_method_diff_pipeline_trace_and_git_commit(ws_dir: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=ws_dir, check=True)
    subprocess.run(["git", "add", "-A"], cwd=ws_dir, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "ws"], cwd=ws_dir, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ws_dir, capture_output=True, text=True, check=True).stdout.strip()
    _write(ws_dir, "generic", GENERIC)
    assert run_parity("run", "generic", "--gate", "dev", cwd=ws_dir).returncode == 0
    _write(ws_dir, "nearest", NEAREST)
    result = run_parity(
        "run",
        "nearest",
        "--gate",
        "dev",
        "--hypothesis",
        "teacher answers of similar tasks",
        "--method",
        "nearest corpus case, no model",
        cwd=ws_dir,
    )
    assert result.returncode == 0, result.stderr

    first, second = show_json(ws_dir)
    assert first["git_commit"] == f"{head}+dirty"  # the agent file was added after the commit
    assert second["method"] == "nearest corpus case, no model"
    assert second["hypothesis"] == "teacher answers of similar tasks"
    assert second["config_diff"]["against"] == first["id"]
    assert second["wall_s"] > 0 and second["completion_tokens"] == 0

    svg_path = tmp_path / "pipeline.svg"
    shown = run_parity("show", str(second["id"]), "--pipeline", str(svg_path), cwd=ws_dir)
    assert shown.returncode == 0, shown.stderr
    svg = ET.fromstring(svg_path.read_text())
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "agents/nearest.py answer(input, ctx)" in texts and "ctx.retrieve" in texts

    store = Store(f"sqlite:///{ws_dir / '.parity' / 'parity.db'}")
    row = store.experiment(second["id"])
    assert row.agent_code == NEAREST
    traces = [r.trace for r in store.case_rows(second["id"])]
    assert all(t and t[0]["step"] == "retrieve:knn" and t[0]["detail"]["demos"] for t in traces)

"""Replay hostile attempts against the real `parity` command line and say which kept parity's promise.

Usage: python scripts/hostile/attempts.py [--only PATTERN] [--markdown FILE]

Each attempt runs `python -m parity ...` in a subprocess, in its own copy of a pristine workspace
(`parity init --example discovery`, plus a one-case gate `one` locked with `parity ruler lock`; the
`ran` copy also holds one finished experiment whose hypothesis is hostile markup). The promise, per
attempt: no "Traceback" in stdout or stderr; the expected exit code (2 for bad input, printed as exactly
one non-empty stderr line starting "error: "; 130 after Ctrl-C; 0 where the attempt must be accepted);
where stated, nothing written or deleted (the file tree and its bytes, compared before and after, past
what the attempt set up itself), and pages that hold no raw hostile markup.

Prints a Markdown table, one row per attempt, and a summary line; exit code 0 when every attempt kept
the promise, 1 otherwise. The attempts and their runner are importable (tests/unit/cli/test_hostile_attempts.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path

SCRIPT = "<script>alert(1)</script>"
HOSTILE_HYPOTHESIS = f"{SCRIPT} [/red] <!--<script> [link=file:///etc/passwd]x[/link] | a"
ONE_GATE = 'one = ["travel-easy"]'
SECRET = "secret"


class Kind(StrEnum):
    """What an attempt attacks."""

    USAGE = "usage"  # the command line itself
    TOML = "toml"  # parity.toml
    CASES = "cases"  # ruler/cases.jsonl (and the corpus)
    AGENT = "agent"  # agents/*.yaml and agents/*.py
    LOCK = "lock"  # ruler/LOCK and ruler restore
    EXPORT = "export"  # parity export html
    PAGES = "pages"  # stored text shown in the terminal, the report and the dashboard
    STORE = "store"  # the store URL and the database file
    INTERRUPT = "interrupt"  # Ctrl-C


class Expect(IntEnum):
    """The exit code an attempt must end with."""

    ACCEPTED = 0
    REFUSED = 2
    INTERRUPTED = 130


class Base(StrEnum):
    """The workspace an attempt starts from."""

    PRISTINE = "pristine"  # as `parity init` wrote it, plus the locked gate `one`
    RAN = "ran"  # pristine plus one finished experiment with a hostile hypothesis


Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Outcome:
    """What a command left: its exit code (None: it ran past its time limit) and output."""

    returncode: int | None
    stdout: str
    stderr: str
    seconds: float

    def first_line(self) -> str:
        for stream in (self.stderr, self.stdout):
            lines = [line.strip() for line in stream.splitlines() if line.strip()]
            if lines:
                return lines[0]
        return ""


Check = Callable[[Path, Outcome], list[str]]
WhileRunning = Callable[[Path, int], list[str]]


@dataclass(frozen=True)
class Attempt:
    """One hostile input: how the workspace is prepared, the command, and what the promise asks of it.

    `keep` lists paths relative to the attempt's folder (the workspace is `ws`) that must come out
    byte-identical; a refusal keeps everything unless it says otherwise. `while_running` talks to the
    live process (given the workspace and a free port) before it is interrupted."""

    name: str
    kind: Kind
    args: tuple[str, ...]
    expect: Expect
    setup: Setup | None = None
    fragment: str = ""
    keep: tuple[str, ...] | None = None
    absent: tuple[str, ...] = ()
    check: Check | None = None
    base: Base = Base.PRISTINE
    env: tuple[tuple[str, str], ...] = ()
    in_root: bool = False
    interrupt_after_s: float | None = None
    while_running: WhileRunning | None = None
    runs_model: bool = False
    timeout_s: float = 120.0

    def kept_paths(self) -> tuple[str, ...]:
        if self.keep is not None:
            return self.keep
        return ("",) if self.expect is Expect.REFUSED else ()

    def command(self) -> str:
        env = " ".join(f"{key}={shlex.quote(value)}" for key, value in self.env)
        # A lone surrogate (a byte the shell passed that is not UTF-8) is shown as its escape, never written raw.
        args = [arg.replace("{port}", "PORT").encode("utf-8", "backslashreplace").decode() for arg in self.args]
        return f"{env + ' ' if env else ''}parity {shlex.join(args)}"


@dataclass(frozen=True)
class Result:
    attempt: Attempt
    outcome: Outcome
    problems: list[str] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return not self.problems


# --- setting a workspace up -------------------------------------------------------------------------


def edit_toml(old: str, new: str) -> Setup:
    def setup(ws: Path) -> None:
        path = ws / "parity.toml"
        text = path.read_text()
        if old not in text:
            raise AssertionError(f"parity.toml has no {old!r}")
        path.write_text(text.replace(old, new, 1))

    return setup


def append_toml(text: str) -> Setup:
    def setup(ws: Path) -> None:
        with (ws / "parity.toml").open("a") as handle:
            handle.write("\n" + text + "\n")

    return setup


def toml_bytes(change: Callable[[bytes], bytes]) -> Setup:
    def setup(ws: Path) -> None:
        path = ws / "parity.toml"
        path.write_bytes(change(path.read_bytes()))

    return setup


def edit_case(number: int, change: Callable[[dict], object]) -> Setup:
    """Change the parsed case on line `number` of ruler/cases.jsonl in place."""

    def setup(ws: Path) -> None:
        path = ws / "ruler" / "cases.jsonl"
        lines = path.read_text().splitlines()
        case = json.loads(lines[number - 1])
        change(case)
        lines[number - 1] = json.dumps(case)
        path.write_text("\n".join(lines) + "\n")

    return setup


def edit_case_line(number: int, change: Callable[[str], str]) -> Setup:
    def setup(ws: Path) -> None:
        path = ws / "ruler" / "cases.jsonl"
        lines = path.read_text().splitlines()
        lines[number - 1] = change(lines[number - 1])
        path.write_text("\n".join(lines) + "\n")

    return setup


def append_case(line: bytes) -> Setup:
    def setup(ws: Path) -> None:
        with (ws / "ruler" / "cases.jsonl").open("ab") as handle:
            handle.write(line + b"\n")

    return setup


def write_file(relative: str, content: str | bytes) -> Setup:
    def setup(ws: Path) -> None:
        path = ws / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return setup


def python_agent(code: str) -> Setup:
    """agents/hostile.py from `code`, with WORKSPACE replaced by the workspace's absolute path."""

    def setup(ws: Path) -> None:
        (ws / "agents" / "hostile.py").write_text(code.replace("WORKSPACE", repr(str(ws.resolve()))))

    return setup


def yaml_agent(text: str) -> Setup:
    return write_file("agents/hostile.yaml", text)


def baseline_with(old: str, new: str) -> Setup:
    """agents/hostile.yaml: the baseline agent with one edit."""

    def setup(ws: Path) -> None:
        text = (ws / "agents" / "baseline.yaml").read_text()
        if old not in text:
            raise AssertionError(f"baseline.yaml has no {old!r}")
        (ws / "agents" / "hostile.yaml").write_text(text.replace(old, new, 1))

    return setup


def both(*setups: Setup) -> Setup:
    def setup(ws: Path) -> None:
        for step in setups:
            step(ws)

    return setup


def folder(relative: str, files: dict[str, str] | None = None) -> Setup:
    """A folder beside the workspace (`../relative`), holding `files`."""

    def setup(ws: Path) -> None:
        target = ws.parent / relative
        target.mkdir(parents=True, exist_ok=True)
        for name, text in (files or {}).items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(text)

    return setup


def parity_ok(*args: str) -> Setup:
    """Run a parity command as part of the set-up; it must succeed."""

    def setup(ws: Path) -> None:
        outcome = run_parity(list(args), ws, environment(()), 300.0)
        if outcome.returncode != 0:
            raise AssertionError(f"set-up `parity {shlex.join(args)}` exited {outcome.returncode}: {outcome.first_line()}")

    return setup


def lock_rewritten_by_hand(ws: Path) -> None:
    """Change a gold question and write a LOCK that matches it, as a script would: parity's own
    fingerprint, but never recorded by `parity ruler lock` in this store."""
    from parity.ruler import build_ruler
    from parity.task import load_workspace

    edit_case(1, lambda case: case["gold"]["questions"].__setitem__(0, "What is your goal?"))(ws)
    ruler = build_ruler(load_workspace(ws))
    (ws / "ruler" / "LOCK").write_text(json.dumps({"fingerprint": ruler.fingerprint, "parts": ruler.parts}, indent=2) + "\n")


def lock_field(change: Callable[[dict], object]) -> Setup:
    def setup(ws: Path) -> None:
        path = ws / "ruler" / "LOCK"
        lock = json.loads(path.read_text())
        change(lock)
        path.write_text(json.dumps(lock, indent=2) + "\n")

    return setup


def stash_cases(ws: Path) -> None:
    """Keep the ruler's cases beside the workspace, for a check that they came back."""
    shutil.copyfile(ws / "ruler" / "cases.jsonl", ws.parent / "cases.original")


def billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join([f'*{previous}'] * 9)}]")
    lines.append("prompt:\n  system: *i")
    return "\n".join(lines) + "\n"


# --- checks past the exit code -------------------------------------------------------------------


def no_raw_markup(pattern: str, relative: str = ".") -> Check:
    """Every file matching `pattern` under `relative` (from the workspace) holds the hostile hypothesis
    only escaped: some escaped form of it is there, the raw script is not."""

    def check(ws: Path, outcome: Outcome) -> list[str]:
        files = [path for path in (ws / relative).glob(pattern) if path.is_file()]
        if not files:
            return [f"no {pattern} written under {relative}"]
        problems = [f"{path.name} holds a raw {SCRIPT}" for path in files if SCRIPT in path.read_text(errors="replace")]
        if not any("alert(1)" in path.read_text(errors="replace") for path in files):
            problems.append(f"no {pattern} shows the hypothesis at all")
        return problems

    return check


def output_escaped(outcome: Outcome) -> list[str]:
    problems = []
    if "\x1b]8;" in outcome.stdout + outcome.stderr:
        problems.append("the output holds a terminal hyperlink")
    if "[/red]" not in outcome.stdout:
        problems.append("the hypothesis's '[/red]' is not printed as text")
    return problems


def shown_as_data(ws: Path, outcome: Outcome) -> list[str]:
    return output_escaped(outcome)


def report_on_stdout(ws: Path, outcome: Outcome) -> list[str]:
    return [f"stdout holds a raw {SCRIPT}"] if SCRIPT in outcome.stdout else []


def export_marked(ws: Path, outcome: Outcome) -> list[str]:
    site = ws.parent / "site"
    problems = [] if (site / "index.html").is_file() else ["no index.html written"]
    return problems + no_raw_markup("**/*.html", "../site")(ws, outcome)


def export_kept(*names: str) -> Check:
    """The user's own files beside an export survive it."""

    def check(ws: Path, outcome: Outcome) -> list[str]:
        return [f"{name} is gone" for name in names if not (ws.parent / "site" / name).exists()] + export_marked(ws, outcome)

    return check


def cases_restored(ws: Path, outcome: Outcome) -> list[str]:
    if (ws / "ruler" / "cases.jsonl").read_bytes() != (ws.parent / "cases.original").read_bytes():
        return ["ruler/cases.jsonl is not the locked copy"]
    return []


def case_failed_with(fragment: str) -> Check:
    def check(ws: Path, outcome: Outcome) -> list[str]:
        with sqlite3.connect(ws / ".parity" / "parity.db") as db:
            errors = [row[0] or "" for row in db.execute("select answer_error from case_results order by id desc limit 1")]
        return [] if errors and fragment in errors[0] else [f"the last case did not fail with {fragment!r}: {errors}"]

    return check


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def dashboard_pages(ws: Path, port: int) -> list[str]:
    """The live dashboard: its pages hold the hostile hypothesis escaped; an out-of-range id is a 404
    that shows no server path."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            status, page = fetch(base + "/")
            break
        except OSError:
            if time.monotonic() > deadline:
                return ["the dashboard never answered"]
            time.sleep(0.3)
    problems = [] if status == 200 else [f"/ answered {status}"]
    status, experiment = fetch(base + "/experiment-1.html")
    for path, body in (("/", page), ("/experiment-1.html", experiment)):
        if SCRIPT in body:
            problems.append(f"{path} holds a raw {SCRIPT}")
    if "alert(1)" not in experiment:
        problems.append("/experiment-1.html does not show the hypothesis")
    status, missing = fetch(base + "/experiment-99999999999999999999.html")
    if status != 404 or str(ws.resolve()) in missing:
        problems.append(f"an out-of-range id answered {status}: {missing[:80]}")
    return problems


# --- the attempts --------------------------------------------------------------------------------

RUN_ONE = ("run", "hostile", "--gate", "one")
VERIFY = ("ruler", "verify")
LOCK = ("ruler", "lock")
RULER_FILES = ("ws/ruler", "ws/parity.toml", "ws/corpus")

READS_RULER = """
def answer(input, ctx):
    return open(WORKSPACE + "/ruler/cases.jsonl").read()
"""
READS_STORE = """
def answer(input, ctx):
    return open(WORKSPACE + "/.parity/parity.db", "rb").read(100)
"""
WRITES_RULER = """
import json
from pathlib import Path

def answer(input, ctx):
    cases = Path(WORKSPACE) / "ruler" / "cases.jsonl"
    lines = [json.loads(x) for x in cases.read_text().splitlines() if x.strip()]
    lines[0]["gold"]["questions"][0] = "What is your goal?"
    cases.write_text("".join(json.dumps(c) + "\\n" for c in lines))
    return ctx.retrieve(input, k=1)[0].answer
"""
WRITES_LOCK = """
from pathlib import Path

def answer(input, ctx):
    (Path(WORKSPACE) / "ruler" / "LOCK").write_text("{}")
    return ctx.retrieve(input, k=1)[0].answer
"""
WRITES_CONFIG = """
def answer(input, ctx):
    open(WORKSPACE + "/parity.toml", "a").write("\\n[gates]\\nmine = 'all'\\n")
    return ctx.retrieve(input, k=1)[0].answer
"""
SIGNALS_PARITY = """
import os, signal

def answer(input, ctx):
    os.kill(os.getppid(), signal.SIGKILL)
    return None
"""
STUCK = """
def answer(input, ctx):
    while True:
        pass
"""
TIME_LIMIT_1S = "[python_agents]\ncase_time_limit_s = 1"
JSON_KIND = 'kind = "json"\nschema = "task/schema.json"'
THREE_QUESTIONS_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "questions": {"type": "array", "items": {"type": "string"}, "maxItems": 3}},
    "required": ["title", "questions"],
    "additionalProperties": False,
}
IGNORED_KEYWORD_SCHEMA = {
    **THREE_QUESTIONS_SCHEMA,
    "properties": {**THREE_QUESTIONS_SCHEMA["properties"], "rank": {"type": "integer", "minimum": 1}},
}


def usage_attempts() -> list[Attempt]:
    refused = Expect.REFUSED
    return [
        Attempt("unknown command", Kind.USAGE, ("bogus",), refused, fragment="No such command"),
        Attempt("unknown command rejudge", Kind.USAGE, ("rejudge",), refused, fragment="No such command"),
        Attempt("unknown option", Kind.USAGE, ("run", "--nope"), refused, fragment="--nope"),
        Attempt("init --task empty", Kind.USAGE, ("init", "fresh", "--task", "  "), refused, fragment="--task is empty"),
        Attempt("init --task with an undecodable byte", Kind.USAGE, ("init", "fresh", "--task", "bad \udcff"), refused, fragment="TOML"),
        Attempt("init --task and --example", Kind.USAGE, ("init", "fresh", "--task", "x", "--example", "triage"), refused),
        Attempt("gold with an unknown teacher", Kind.USAGE, ("gold", "--teacher", "nope:x"), refused, fragment="--teacher"),
        Attempt("corpus import in an unknown format", Kind.USAGE, ("corpus", "import", "x.jsonl", "--format", "csv"), refused),
        Attempt("corpus import of a missing file", Kind.USAGE, ("corpus", "import", "missing.jsonl"), refused, fragment="not found"),
        Attempt(
            "corpus synth from a missing seeds file",
            Kind.USAGE,
            ("corpus", "synth", "--teacher", "llamacpp:smollm2-135m", "--n", "3", "--seeds", "missing.jsonl"),
            refused,
            fragment="seeds file not found",
        ),
        Attempt("option without its value", Kind.USAGE, ("run", "baseline", "--gate"), refused, fragment="--gate"),
        Attempt("id that is not a number", Kind.USAGE, ("show", "abc"), refused),
        Attempt("id zero", Kind.USAGE, ("show", "0"), refused, fragment="greater than or equal to 1"),
        Attempt("id past the last experiment", Kind.USAGE, ("show", "7"), refused, fragment="no experiment #7"),
        Attempt("id past 64 bits", Kind.USAGE, ("show", "99999999999999999999"), refused),
        Attempt("negative id", Kind.USAGE, ("show", "-1"), refused),
        Attempt("compare with a bad id", Kind.USAGE, ("compare", "1", "abc"), refused),
        Attempt("no agent named", Kind.USAGE, ("run",), refused, fragment="name an agent"),
        Attempt("unknown agent", Kind.USAGE, ("run", "nosuch", "--gate", "one"), refused, fragment="nosuch"),
        Attempt("agent path outside agents/", Kind.USAGE, ("run", "/etc/passwd", "--gate", "one"), refused),
        Attempt("unknown gate", Kind.USAGE, ("run", "baseline", "--gate", "nightly"), refused, fragment="unknown gate 'nightly'"),
        Attempt("resume an unknown experiment", Kind.USAGE, ("run", "--resume", "99"), refused, fragment="no experiment #99"),
        Attempt("budget nan", Kind.USAGE, ("run", "baseline", "--gate", "one", "--budget-usd", "nan"), refused, fragment="budget"),
        Attempt("budget inf for the loop", Kind.USAGE, ("loop", "--budget-usd", "inf"), refused, fragment="budget"),
        Attempt("missing argument", Kind.USAGE, ("analyze", "noise"), refused),
        Attempt("unknown training recipe", Kind.USAGE, ("train", "nope"), refused),
        Attempt("unknown example", Kind.USAGE, ("init", "--example", "nope", "fresh"), refused, fragment="unknown example"),
        Attempt("init into a non-empty folder", Kind.USAGE, ("init", "--example", "discovery", "ws"), refused, in_root=True),
        Attempt("not a workspace", Kind.USAGE, ("run", "baseline"), refused, fragment="not a parity workspace", in_root=True),
        Attempt("workspace that does not exist", Kind.USAGE, ("show", "-w", "../nowhere"), refused),
        Attempt("dashboard port out of range", Kind.USAGE, ("dashboard", "--port", "99999"), refused, timeout_s=30),
    ]


def toml_attempts() -> list[Attempt]:
    refused = Expect.REFUSED
    deep = "deep = " + "[" * 20000 + "]" * 20000
    return [
        Attempt("TOML syntax error", Kind.TOML, VERIFY, refused, append_toml("[task"), fragment="parity.toml"),
        Attempt("TOML duplicate key", Kind.TOML, VERIFY, refused, edit_toml("seed = 0", "seed = 0\nseed = 1"), fragment="parity.toml"),
        Attempt("unknown table", Kind.TOML, VERIFY, refused, append_toml("[bogus]\nx = 1"), fragment="bogus"),
        Attempt(
            "unknown key",
            Kind.TOML,
            VERIFY,
            refused,
            edit_toml('kind = "questions"', 'kind = "questions"\ncolour = "red"'),
            fragment="colour",
        ),
        Attempt(
            "wrong type n_questions",
            Kind.TOML,
            VERIFY,
            refused,
            edit_toml("n_questions = 7", 'n_questions = "seven"'),
            fragment="n_questions",
        ),
        Attempt("n_questions 0", Kind.TOML, LOCK, refused, edit_toml("n_questions = 7", "n_questions = 0"), fragment="n_questions"),
        Attempt(
            "a json schema keyword the grammar ignores",
            Kind.TOML,
            LOCK,
            refused,
            both(edit_toml('kind = "questions"', JSON_KIND), write_file("task/schema.json", json.dumps(IGNORED_KEYWORD_SCHEMA, indent=2))),
            fragment="task/schema.json:",
        ),
        Attempt(
            "a json schema that is not JSON",
            Kind.TOML,
            LOCK,
            refused,
            both(edit_toml('kind = "questions"', JSON_KIND), write_file("task/schema.json", '{"type": "object",\n oops')),
            fragment="invalid JSON",
        ),
        Attempt(
            "a gold the json schema refuses",
            Kind.CASES,
            LOCK,
            refused,
            both(edit_toml('kind = "questions"', JSON_KIND), write_file("task/schema.json", json.dumps(THREE_QUESTIONS_SCHEMA))),
            fragment="ruler/cases.jsonl:1",
        ),
        Attempt(
            "a dimension the judge cannot score",
            Kind.TOML,
            LOCK,
            refused,
            edit_toml(
                "[rubric.dimensions.atomicity]",
                '[rubric.dimensions.charm]\nweight = 0.1\ndescription = "charm"\n\n[rubric.dimensions.atomicity]',
            ),
            fragment="no model for dimension(s) ['charm']",
        ),
        Attempt("weight nan", Kind.TOML, LOCK, refused, edit_toml("weight = 0.3", "weight = nan"), fragment="finite"),
        Attempt("weight inf", Kind.TOML, LOCK, refused, edit_toml("weight = 0.3", "weight = inf"), fragment="finite"),
        Attempt("weight negative", Kind.TOML, LOCK, refused, edit_toml("weight = 0.3", "weight = -0.3"), fragment="weight"),
        Attempt("weight a string", Kind.TOML, LOCK, refused, edit_toml("weight = 0.3", 'weight = "heavy"'), fragment="weight"),
        Attempt("huge integer", Kind.TOML, LOCK, refused, edit_toml("seed = 0", "seed = 99999999999999999999999999"), fragment="seed"),
        Attempt("huge float", Kind.TOML, LOCK, refused, edit_toml("tie_margin = 0.05", "tie_margin = 1e308"), fragment="tie_margin"),
        Attempt(
            "bootstrap_samples 1",
            Kind.TOML,
            LOCK,
            refused,
            edit_toml("bootstrap_samples = 2000", "bootstrap_samples = 1"),
            fragment="bootstrap",
        ),
        Attempt(
            "bootstrap_samples 1e9",
            Kind.TOML,
            LOCK,
            refused,
            edit_toml("bootstrap_samples = 2000", "bootstrap_samples = 1000000000"),
            fragment="bootstrap",
        ),
        Attempt(
            "metric weights not summing to 1",
            Kind.TOML,
            VERIFY,
            refused,
            edit_toml("rubric_weight = 0.5", "rubric_weight = 0.7"),
            fragment="1",
        ),
        Attempt("confidence 1.5", Kind.TOML, LOCK, refused, edit_toml("confidence = 0.95", "confidence = 1.5"), fragment="confidence"),
        Attempt("unknown judge kind", Kind.TOML, LOCK, refused, edit_toml('kind = "reference"', 'kind = "oracle"'), fragment="kind"),
        Attempt("empty gate", Kind.TOML, LOCK, refused, edit_toml(ONE_GATE, ONE_GATE + "\nnightly = []"), fragment="nightly"),
        Attempt("empty dev gate", Kind.TOML, LOCK, refused, edit_toml("dev = [", "dev = [\n]\nold_dev = ["), fragment="dev"),
        Attempt(
            "duplicate id in a gate",
            Kind.TOML,
            LOCK,
            refused,
            edit_toml(ONE_GATE, ONE_GATE + '\ntwice = ["travel-easy", "travel-easy"]'),
            fragment="travel-easy",
        ),
        Attempt(
            "unknown case id in a gate",
            Kind.TOML,
            LOCK,
            refused,
            edit_toml(ONE_GATE, ONE_GATE + '\nghost = ["no-such-case"]'),
            fragment="no-such-case",
        ),
        Attempt("gate neither a list nor all", Kind.TOML, LOCK, refused, edit_toml('full = "all"', 'full = "most"'), fragment="full"),
        Attempt("gate a number", Kind.TOML, LOCK, refused, edit_toml('full = "all"', "full = 3"), fragment="full"),
        Attempt("no [task]", Kind.TOML, VERIFY, refused, edit_toml("\n[task]\n", "\n[tusk]\n"), fragment="parity.toml"),
        Attempt(
            "bad detector regex", Kind.TOML, LOCK, refused, append_toml('[detectors.broken]\npatterns = ["(unclosed"]'), fragment="broken"
        ),
        Attempt(
            "fitted judge file missing",
            Kind.TOML,
            LOCK,
            refused,
            edit_toml('"calibration/judge-fit.json"', '"calibration/nope.json"'),
            fragment="nope.json",
        ),
        Attempt("fitted judge not JSON", Kind.TOML, LOCK, refused, edit_toml('"calibration/judge-fit.json"', '"corpus/../parity.toml"')),
        Attempt(
            "time limit negative",
            Kind.TOML,
            ("run", "baseline", "--gate", "one"),
            refused,
            append_toml("[python_agents]\ncase_time_limit_s = -1"),
        ),
        Attempt("store url a number", Kind.TOML, ("show",), refused, edit_toml("[store]", "[store]\nurl = 5"), fragment="url"),
        Attempt("deep nesting", Kind.TOML, VERIFY, refused, append_toml(deep), fragment="parity.toml"),
        Attempt(
            "parity.toml not UTF-8 (byte offset)",
            Kind.TOML,
            VERIFY,
            refused,
            toml_bytes(lambda raw: raw + b"\n# caf\xe9\n"),
            fragment="offset",
        ),
        Attempt(
            "parity.toml with a UTF-8 BOM",
            Kind.TOML,
            VERIFY,
            refused,
            toml_bytes(lambda raw: b"\xef\xbb\xbf" + raw),
            fragment="parity.toml",
        ),
        Attempt("NUL byte in parity.toml", Kind.TOML, VERIFY, refused, toml_bytes(lambda raw: raw + b"\n# \x00\n"), fragment="parity.toml"),
    ]


def cases_attempts() -> list[Attempt]:
    refused = Expect.REFUSED
    run = ("run", "baseline", "--gate", "one")
    return [
        Attempt("invalid JSON line", Kind.CASES, run, refused, edit_case_line(7, lambda line: line[:-5]), fragment="cases.jsonl:7"),
        Attempt(
            "a gold with 6 questions",
            Kind.CASES,
            run,
            refused,
            edit_case(3, lambda c: c["gold"]["questions"].pop()),
            fragment="cases.jsonl:3",
        ),
        Attempt(
            "a gold with 8 questions",
            Kind.CASES,
            VERIFY,
            refused,
            edit_case(4, lambda c: c["gold"]["questions"].append("And?")),
            fragment="cases.jsonl:4",
        ),
        Attempt("missing field", Kind.CASES, VERIFY, refused, edit_case(12, lambda c: c.pop("difficulty")), fragment="difficulty"),
        Attempt("unknown field in a case", Kind.CASES, VERIFY, refused, edit_case(2, lambda c: c.update(secret=1)), fragment="secret"),
        Attempt(
            "unknown difficulty",
            Kind.CASES,
            VERIFY,
            refused,
            edit_case(5, lambda c: c.update(difficulty="extreme")),
            fragment="cases.jsonl:5",
        ),
        Attempt(
            "number past float range",
            Kind.CASES,
            VERIFY,
            refused,
            edit_case_line(6, lambda line: re.sub(r'"category": "[^"]*"', '"category": 1e999', line, count=1)),
            fragment="cases.jsonl:6",
        ),
        Attempt(
            "title too long",
            Kind.CASES,
            VERIFY,
            refused,
            edit_case(8, lambda c: c["gold"].update(title="t" * 500)),
            fragment="cases.jsonl:8",
        ),
        Attempt(
            "duplicate id",
            Kind.CASES,
            VERIFY,
            refused,
            lambda ws: append_case((ws / "ruler" / "cases.jsonl").read_bytes().splitlines()[0])(ws),
            fragment="travel-easy",
        ),
        Attempt("deep JSON", Kind.CASES, VERIFY, refused, append_case(b'{"id": ' + b"[" * 50000 + b"]" * 50000 + b"}"), fragment="deep"),
        Attempt("a line that is a list", Kind.CASES, VERIFY, refused, append_case(b"[1, 2]"), fragment="cases.jsonl:31"),
        Attempt("lone surrogate", Kind.CASES, VERIFY, refused, append_case(b'{"id": "x\\ud800"}'), fragment="cases.jsonl:31"),
        Attempt("cases.jsonl not UTF-8 (byte offset)", Kind.CASES, VERIFY, refused, append_case(b'{"id": "caf\xe9"}'), fragment="offset"),
        Attempt("NUL byte in a case", Kind.CASES, VERIFY, refused, append_case(b'{"id": "a\x00b"}'), fragment="cases.jsonl"),
        Attempt("empty file", Kind.CASES, VERIFY, refused, write_file("ruler/cases.jsonl", ""), fragment="cases.jsonl"),
        Attempt(
            "cases file missing", Kind.CASES, VERIFY, refused, lambda ws: (ws / "ruler" / "cases.jsonl").unlink(), fragment="cases.jsonl"
        ),
        Attempt(
            "corpus line not JSON",
            Kind.CASES,
            ("run", "fewshot_knn", "--gate", "one"),
            refused,
            append_case_to_corpus(b"{oops"),
            fragment="train.jsonl",
        ),
    ]


def append_case_to_corpus(line: bytes) -> Setup:
    def setup(ws: Path) -> None:
        with (ws / "corpus" / "train.jsonl").open("ab") as handle:
            handle.write(line + b"\n")

    return setup


def agent_attempts() -> list[Attempt]:
    refused = Expect.REFUSED
    return [
        Attempt("YAML syntax error", Kind.AGENT, RUN_ONE, refused, yaml_agent("model: [unclosed\n"), fragment="agents/hostile.yaml"),
        Attempt(
            "YAML tab indentation",
            Kind.AGENT,
            RUN_ONE,
            refused,
            yaml_agent("decoding:\n\ttemperature: 0\n"),
            fragment="agents/hostile.yaml",
        ),
        Attempt("YAML not a mapping", Kind.AGENT, RUN_ONE, refused, yaml_agent("- a\n- b\n"), fragment="agents/hostile.yaml"),
        Attempt(
            "YAML billion laughs", Kind.AGENT, RUN_ONE, refused, yaml_agent(billion_laughs()), fragment="agents/hostile.yaml", timeout_s=60
        ),
        Attempt("YAML not UTF-8", Kind.AGENT, RUN_ONE, refused, write_file("agents/hostile.yaml", b"model: \xff\n"), fragment="not UTF-8"),
        Attempt(
            "unknown field", Kind.AGENT, RUN_ONE, refused, baseline_with("  temperature: 0.0", "  temprature: 0.0"), fragment="temprature"
        ),
        Attempt("temperature 9", Kind.AGENT, RUN_ONE, refused, baseline_with("temperature: 0.0", "temperature: 9"), fragment="temperature"),
        Attempt(
            "temperature nan", Kind.AGENT, RUN_ONE, refused, baseline_with("temperature: 0.0", "temperature: .nan"), fragment="temperature"
        ),
        Attempt(
            "temperature a word",
            Kind.AGENT,
            RUN_ONE,
            refused,
            baseline_with("temperature: 0.0", "temperature: hot"),
            fragment="temperature",
        ),
        Attempt(
            "unknown model", Kind.AGENT, RUN_ONE, refused, baseline_with("llamacpp:smollm2-135m", "llamacpp:gpt-17"), fragment="gpt-17"
        ),
        Attempt(
            "unknown model backend",
            Kind.AGENT,
            RUN_ONE,
            refused,
            baseline_with("llamacpp:smollm2-135m", "telepathy:gpt-17"),
            fragment="telepathy",
        ),
        Attempt(
            "model file missing",
            Kind.AGENT,
            RUN_ONE,
            refused,
            baseline_with("llamacpp:smollm2-135m", "llamacpp:/nowhere/m.gguf"),
            fragment="m.gguf",
        ),
        Attempt(
            "adapter: a GGUF LoRA that is garbage",
            Kind.AGENT,
            RUN_ONE,
            refused,
            both(
                write_file("lora.gguf", b"GGUF\x03\x00\x00\x00 nothing more"),
                baseline_with("strategy: single", "adapter: lora.gguf\nstrategy: single"),
            ),
            fragment="lora.gguf",
            runs_model=True,
        ),
        Attempt(
            "adapter: a PEFT folder with broken weights, on llama.cpp",
            Kind.AGENT,
            RUN_ONE,
            refused,
            both(
                write_file("broken/adapter_config.json", '{"r": 4, "lora_alpha": 8}'),
                write_file("broken/adapter_model.safetensors", b"\x00not safetensors"),
                baseline_with("strategy: single", "adapter: broken\nstrategy: single"),
            ),
            fragment="cannot read the adapter",
        ),
        Attempt(
            "train with an unknown launcher", Kind.USAGE, ("train", "sft", "--name", "x", "--launcher", "slurm"), refused, fragment="slurm"
        ),
        Attempt(
            "train QLoRA on a machine without CUDA",
            Kind.USAGE,
            ("train", "sft", "--name", "x", "--quantize", "4bit", "--device", "cpu"),
            refused,
            fragment="needs a CUDA GPU",
        ),
        Attempt(
            "analyze serving an unknown adapter", Kind.USAGE, ("analyze", "serving", "nope", "--gate", "one"), refused, fragment="nope"
        ),
        Attempt(
            "analyze serving a bad endpoint",
            Kind.USAGE,
            ("analyze", "serving", "nope", "--gate", "one", "--endpoint", "telepathy:x"),
            refused,
            fragment="telepathy",
        ),
        Attempt("few-shot k 99", Kind.AGENT, RUN_ONE, refused, yaml_agent("fewshot:\n  k: 99\n"), fragment="fewshot.k"),
        Attempt(
            "unknown strategy", Kind.AGENT, RUN_ONE, refused, baseline_with("strategy: single", "strategy: magic"), fragment="strategy"
        ),
        Attempt(
            "overgenerate fewer than asked",
            Kind.AGENT,
            RUN_ONE,
            refused,
            yaml_agent("strategy:\n  kind: overgenerate_prune\n  m: 3\n"),
            fragment="m",
        ),
        Attempt("template field {nope}", Kind.AGENT, RUN_ONE, refused, baseline_with("Task: {input}", "Task: {nope}"), fragment="nope"),
        Attempt(
            "template conversion {input!z}",
            Kind.AGENT,
            RUN_ONE,
            refused,
            baseline_with("Task: {input}", "Task: {input!z}"),
            fragment="agents/hostile.yaml",
        ),
        Attempt(
            "template attribute",
            Kind.AGENT,
            RUN_ONE,
            refused,
            baseline_with("Task: {input}", "Task: {input.__class__}"),
            fragment="agents/hostile.yaml",
        ),
        Attempt(
            "template lone brace",
            Kind.AGENT,
            RUN_ONE,
            refused,
            baseline_with("Task: {input}", "Task: {input"),
            fragment="agents/hostile.yaml",
        ),
        Attempt(
            "template {nope} in a .py CONFIG",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent('CONFIG = {"prompt": {"user": "{nope}"}}\n\ndef answer(input, ctx):\n    return None\n'),
            fragment="nope",
        ),
        Attempt(
            ".py syntax error",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent("def answer(input, ctx):\n    return (\n\nx = 1 +\n"),
            fragment="agents/hostile.py",
        ),
        Attempt(".py without answer", Kind.AGENT, RUN_ONE, refused, python_agent("X = 1\n"), fragment="answer(input, ctx)"),
        Attempt(".py import raises", Kind.AGENT, RUN_ONE, refused, python_agent("raise RuntimeError('boom')\n"), fragment="boom"),
        Attempt(
            ".py CONFIG temperature 9",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent('CONFIG = {"decoding": {"temperature": 9}}\n\ndef answer(input, ctx):\n    return None\n'),
            fragment="temperature",
        ),
        Attempt(
            ".py reads ruler/cases.jsonl by absolute path",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent(READS_RULER),
            fragment="PermissionError",
            keep=RULER_FILES,
            runs_model=True,
        ),
        Attempt(
            ".py reads the store by absolute path",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent(READS_STORE),
            fragment="PermissionError",
            keep=RULER_FILES,
            runs_model=True,
        ),
        Attempt(
            ".py rewrites a gold answer",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent(WRITES_RULER),
            fragment="PermissionError",
            keep=RULER_FILES,
            runs_model=True,
        ),
        Attempt(
            ".py rewrites ruler/LOCK",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent(WRITES_LOCK),
            fragment="PermissionError",
            keep=RULER_FILES,
            runs_model=True,
        ),
        Attempt(
            ".py appends to parity.toml",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent(WRITES_CONFIG),
            fragment="PermissionError",
            keep=RULER_FILES,
            runs_model=True,
        ),
        Attempt(
            ".py sends parity SIGKILL",
            Kind.AGENT,
            RUN_ONE,
            refused,
            python_agent(SIGNALS_PARITY),
            fragment="PermissionError",
            keep=RULER_FILES,
            runs_model=True,
        ),
        Attempt(
            ".py stuck, 1 s time limit",
            Kind.AGENT,
            RUN_ONE,
            Expect.ACCEPTED,
            both(python_agent(STUCK), append_toml(TIME_LIMIT_1S)),
            keep=RULER_FILES,
            check=case_failed_with("time limit"),
            runs_model=True,
        ),
    ]


def lock_attempts() -> list[Attempt]:
    refused = Expect.REFUSED
    ran = Base.RAN
    return [
        Attempt(
            "LOCK rewritten by hand, then run",
            Kind.LOCK,
            ("run", "baseline", "--gate", "one"),
            refused,
            lock_rewritten_by_hand,
            fragment="tampering",
            base=ran,
        ),
        Attempt("LOCK rewritten by hand, then verify", Kind.LOCK, VERIFY, refused, lock_rewritten_by_hand, fragment="tampering", base=ran),
        Attempt(
            "LOCK fingerprint changed",
            Kind.LOCK,
            VERIFY,
            refused,
            lock_field(lambda lock: lock.update(fingerprint="0" * 64)),
            fragment="ruler/LOCK",
            base=ran,
        ),
        Attempt("LOCK not JSON", Kind.LOCK, VERIFY, refused, write_file("ruler/LOCK", "{not json"), fragment="ruler/LOCK", base=ran),
        Attempt(
            "LOCK deleted",
            Kind.LOCK,
            ("run", "baseline", "--gate", "one"),
            refused,
            lambda ws: (ws / "ruler" / "LOCK").unlink(),
            fragment="LOCK",
            base=ran,
        ),
        Attempt(
            "restore an unknown fingerprint", Kind.LOCK, ("ruler", "restore", "--fingerprint", "zzz"), refused, fragment="zzz", base=ran
        ),
        Attempt(
            "restore after a gold edit",
            Kind.LOCK,
            ("ruler", "restore"),
            Expect.ACCEPTED,
            both(stash_cases, edit_case(1, lambda c: c["gold"]["questions"].__setitem__(0, "What is your goal?"))),
            check=cases_restored,
            base=ran,
        ),
        Attempt(
            "restore with a broken parity.toml",
            Kind.LOCK,
            ("ruler", "restore"),
            Expect.ACCEPTED,
            both(stash_cases, edit_case(2, lambda c: c.update(difficulty="hard")), append_toml("[loop")),
            check=cases_restored,
            base=ran,
        ),
    ]


def export_attempts() -> list[Attempt]:
    html = ("export", "html", "../site")
    refused = Expect.REFUSED
    ran = Base.RAN
    return [
        Attempt(
            "html into a folder with an unrelated file",
            Kind.EXPORT,
            html,
            refused,
            folder("site", {"notes.txt": "mine"}),
            fragment="site",
            base=ran,
        ),
        Attempt(
            "html into a folder with index.html and the user's files",
            Kind.EXPORT,
            html,
            refused,
            folder("site", {"index.html": "x", "thesis.tex": "keep", "photos/a.jpg": "jpg"}),
            fragment="site",
            base=ran,
        ),
        Attempt("html into the workspace itself", Kind.EXPORT, ("export", "html", "."), refused, base=ran),
        Attempt("html into ruler/", Kind.EXPORT, ("export", "html", "ruler"), refused, base=ran),
        Attempt("html onto a file", Kind.EXPORT, html, refused, write_file("../site", "a file"), base=ran),
        Attempt(
            "html into an earlier export plus a user file",
            Kind.EXPORT,
            html,
            refused,
            both(parity_ok(*html), folder("site", {"mine.md": "mine"})),
            fragment="mine.md",
            base=ran,
        ),
        Attempt("html into an empty folder", Kind.EXPORT, html, Expect.ACCEPTED, folder("site"), check=export_marked, base=ran),
        Attempt("html into a new folder", Kind.EXPORT, html, Expect.ACCEPTED, check=export_marked, base=ran),
        Attempt(
            "html into a folder parity wrote before", Kind.EXPORT, html, Expect.ACCEPTED, parity_ok(*html), check=export_marked, base=ran
        ),
        Attempt("gguf of an unknown adapter", Kind.EXPORT, ("export", "gguf", "nosuch"), refused, fragment="nosuch", base=ran),
    ]


def pages_attempts() -> list[Attempt]:
    ran = Base.RAN
    accepted = Expect.ACCEPTED
    keep_ruler = RULER_FILES
    return [
        Attempt("show lists a hostile hypothesis", Kind.PAGES, ("show",), accepted, absent=("\x1b]8;",), keep=("ws",), base=ran),
        Attempt(
            "show prints a hostile hypothesis as data", Kind.PAGES, ("show", "1"), accepted, check=shown_as_data, keep=("ws",), base=ran
        ),
        Attempt("show --json keeps it intact", Kind.PAGES, ("show", "1", "--json"), accepted, fragment="alert(1)", keep=("ws",), base=ran),
        Attempt(
            "report file escapes it",
            Kind.PAGES,
            ("report", "--out", "../record.md"),
            accepted,
            check=no_raw_markup("record.md", ".."),
            keep=keep_ruler,
            base=ran,
        ),
        Attempt("report on stdout escapes it", Kind.PAGES, ("report",), accepted, check=report_on_stdout, keep=keep_ruler, base=ran),
        Attempt(
            "exported pages escape it",
            Kind.PAGES,
            ("export", "html", "../site"),
            accepted,
            check=no_raw_markup("**/*.html", "../site"),
            base=ran,
        ),
        Attempt(
            "live dashboard escapes it, 404 past 64 bits",
            Kind.PAGES,
            ("dashboard", "--port", "{port}"),
            accepted,
            keep=keep_ruler,
            while_running=dashboard_pages,
            base=ran,
            timeout_s=90,
        ),
        Attempt(
            "run with markup in its hypothesis",
            Kind.PAGES,
            ("run", "baseline", "--gate", "one", "--hypothesis", "[/red] [link=file:///etc/passwd]x[/link] [bold]"),
            accepted,
            check=shown_as_data,
            keep=keep_ruler,
            base=ran,
            runs_model=True,
        ),
    ]


def store_attempts() -> list[Attempt]:
    refused = Expect.REFUSED
    no_secret = (SECRET,)
    return [
        Attempt(
            "postgres that cannot connect",
            Kind.STORE,
            ("show",),
            refused,
            env=(("PARITY_DB", f"postgresql://u:{SECRET}@127.0.0.1:1/x"),),
            absent=no_secret,
        ),
        Attempt(
            "postgres+psycopg that cannot connect, on run",
            Kind.STORE,
            ("run", "baseline", "--gate", "one"),
            refused,
            env=(("PARITY_DB", f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/x"),),
            absent=no_secret,
        ),
        Attempt(
            "mysql without its driver",
            Kind.STORE,
            ("show",),
            refused,
            env=(("PARITY_DB", f"mysql://u:{SECRET}@127.0.0.1:1/x"),),
            absent=no_secret,
        ),
        Attempt("store URL that is no URL", Kind.STORE, ("show",), refused, env=(("PARITY_DB", "not a url"),)),
        Attempt(
            "sqlite in a folder that cannot be made",
            Kind.STORE,
            ("show",),
            refused,
            env=(("PARITY_DB", "sqlite:////proc/parity-nowhere/x.db"),),
        ),
        Attempt(
            "[store] url with a password that cannot connect",
            Kind.STORE,
            ("ruler", "lock"),
            refused,
            edit_toml("[store]", f'[store]\nurl = "postgresql://u:{SECRET}@127.0.0.1:1/x"'),
            absent=no_secret,
        ),
        Attempt(
            "database file that is garbage",
            Kind.STORE,
            ("show",),
            refused,
            write_file(".parity/parity.db", b"not a database" * 100),
            base=Base.RAN,
        ),
    ]


def interrupt_attempts() -> list[Attempt]:
    interrupted = Expect.INTERRUPTED
    return [
        Attempt(
            "Ctrl-C 4 s into a full-gate run",
            Kind.INTERRUPT,
            ("run", "baseline", "--gate", "full"),
            interrupted,
            fragment="--resume",
            keep=RULER_FILES,
            interrupt_after_s=4.0,
            runs_model=True,
        ),
        Attempt(
            "Ctrl-C 1.5 s after start, as the model loads",
            Kind.INTERRUPT,
            ("run", "baseline", "--gate", "dev"),
            interrupted,
            keep=RULER_FILES,
            interrupt_after_s=1.5,
            runs_model=True,
            timeout_s=90,
        ),
        Attempt(
            "Ctrl-C during a stuck Python agent",
            Kind.INTERRUPT,
            RUN_ONE,
            interrupted,
            python_agent(STUCK),
            fragment="--resume",
            keep=RULER_FILES,
            interrupt_after_s=6.0,
            runs_model=True,
        ),
    ]


ATTEMPTS: list[Attempt] = [
    *usage_attempts(),
    *toml_attempts(),
    *cases_attempts(),
    *agent_attempts(),
    *lock_attempts(),
    *export_attempts(),
    *pages_attempts(),
    *store_attempts(),
    *interrupt_attempts(),
]


# --- running them --------------------------------------------------------------------------------


def environment(extra: Sequence[tuple[str, str]]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PARITY_DB"}
    env.update(COLUMNS="200", PARITY_LLAMA_THREADS="1", OMP_NUM_THREADS="1")
    env.update(dict(extra))
    return env


def run_parity(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    interrupt_after_s: float | None = None,
    while_running: Callable[[], list[str]] | None = None,
) -> Outcome:
    """`python -m parity ARGS` in its own process group, so that Ctrl-C reaches it and its workers the
    way a terminal sends it (SIGINT to the group), and a run past its limit is killed with its workers."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "parity", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    notes: list[str] = []
    try:
        if while_running is not None:
            notes = while_running()
        if interrupt_after_s is not None:
            time.sleep(max(0.0, interrupt_after_s - (time.monotonic() - started)))
        if while_running is not None or interrupt_after_s is not None:
            os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=timeout_s - (time.monotonic() - started))
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        code = None
    stderr += "".join(f"\n[check] {note}" for note in notes)
    return Outcome(code, stdout, stderr, time.monotonic() - started)


def snapshot(root: Path) -> dict[str, str]:
    """Every path under `root`: 'dir', its link target, or the sha256 of its bytes."""
    tree: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            tree[relative] = "link:" + os.readlink(path)
        elif path.is_dir():
            tree[relative] = "dir"
        else:
            tree[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return tree


def changes(before: dict[str, str], after: dict[str, str], kept: tuple[str, ...]) -> list[str]:
    def watched(path: str) -> bool:
        return any(prefix == "" or path == prefix or path.startswith(prefix + "/") for prefix in kept)

    found = []
    for path in sorted(set(before) | set(after)):
        if not watched(path) or before.get(path) == after.get(path):
            continue
        how = "written" if path not in before else "deleted" if path not in after else "changed"
        found.append(f"{path} {how}")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def promise_problems(attempt: Attempt, outcome: Outcome) -> list[str]:
    problems = []
    if outcome.returncode is None:
        problems.append(f"still running after {attempt.timeout_s:.0f} s")
    elif outcome.returncode != attempt.expect:
        problems.append(f"exit {outcome.returncode}, expected {int(attempt.expect)}")
    if "Traceback" in outcome.stdout + outcome.stderr:
        problems.append("a Traceback")
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    if attempt.expect is Expect.REFUSED and (len(lines) != 1 or not lines[0].startswith("error: ")):
        problems.append(f"stderr has {len(lines)} non-empty lines, not one 'error: ' line")
    if attempt.fragment:
        where = lines[0] if attempt.expect is Expect.REFUSED and lines else outcome.stdout + outcome.stderr
        if attempt.fragment not in where:
            problems.append(f"{attempt.fragment!r} not in the output")
    problems += [f"{text!r} in the output" for text in attempt.absent if text in outcome.stdout + outcome.stderr]
    return problems


def replay(attempt: Attempt, bases: dict[Base, Path], scratch: Path) -> Result:
    """Run one attempt in a fresh copy of its base workspace and judge it against the promise."""
    root = Path(tempfile.mkdtemp(prefix="attempt-", dir=scratch))
    ws = root / "ws"
    shutil.copytree(bases[attempt.base], ws, symlinks=True)
    if attempt.setup is not None:
        attempt.setup(ws)
    before = snapshot(root)
    port = free_port()
    args = [arg.replace("{port}", str(port)) for arg in attempt.args]
    hook = attempt.while_running
    talk = (lambda: hook(ws, port)) if hook is not None else None
    outcome = run_parity(
        args, root if attempt.in_root else ws, environment(attempt.env), attempt.timeout_s, attempt.interrupt_after_s, talk
    )
    problems = promise_problems(attempt, outcome)
    problems += changes(before, snapshot(root), attempt.kept_paths())
    problems += [note[len("[check] ") :] for note in outcome.stderr.splitlines() if note.startswith("[check] ")]
    if attempt.check is not None and outcome.returncode is not None:
        problems += attempt.check(ws, outcome)
    shutil.rmtree(root, ignore_errors=True)
    return Result(attempt, outcome, problems)


def prepare_bases(scratch: Path, needed: set[Base]) -> dict[Base, Path]:
    """The pristine workspace (init, a one-case gate, locked) and, if needed, one that ran once."""
    pristine = scratch / "base-pristine" / "ws"
    env = environment(())
    steps: list[tuple[list[str], Path]] = [
        (["init", "--example", "discovery", str(pristine)], scratch),
    ]
    for args, cwd in steps:
        outcome = run_parity(args, cwd, env, 120)
        if outcome.returncode != 0:
            raise SystemExit(f"could not prepare the workspace: parity {shlex.join(args)}: {outcome.first_line()}")
    edit_toml('full = "all"', 'full = "all"\n' + ONE_GATE)(pristine)
    parity_ok("ruler", "lock")(pristine)
    bases = {Base.PRISTINE: pristine}
    if Base.RAN in needed:
        ran = scratch / "base-ran" / "ws"
        shutil.copytree(pristine, ran, symlinks=True)
        parity_ok("run", "baseline", "--gate", "one", "--hypothesis", HOSTILE_HYPOTHESIS)(ran)
        bases[Base.RAN] = ran
    return bases


def replay_all(attempts: Sequence[Attempt], scratch: Path, progress: Callable[[int, Result], None] | None = None) -> list[Result]:
    bases = prepare_bases(scratch, {attempt.base for attempt in attempts})
    results = []
    for number, attempt in enumerate(attempts, 1):
        result = replay(attempt, bases, scratch)
        results.append(result)
        if progress is not None:
            progress(number, result)
    return results


# --- the table -----------------------------------------------------------------------------------


def cell(text: str, limit: int | None = None) -> str:
    """`text` as one Markdown table cell in a code span: one line, truncated, `|` escaped."""
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("|", "\\|")
    if not text:
        return ""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def table(results: Sequence[Result]) -> str:
    rows = ["| # | attempt | command | exit | first line of output |", "| --- | --- | --- | --- | --- |"]
    for number, result in enumerate(results, 1):
        name = result.attempt.name.replace("|", "\\|")
        if not result.kept:
            name += " — **broken**: " + "; ".join(result.problems).replace("|", "\\|")
        code = "timeout" if result.outcome.returncode is None else str(result.outcome.returncode)
        rows.append(f"| {number} | {name} | {cell(result.attempt.command(), 160)} | {code} | {cell(result.outcome.first_line(), 160)} |")
    return "\n".join(rows)


def summary(results: Sequence[Result], seconds: float) -> str:
    kept = sum(result.kept for result in results)
    return f"{kept} of {len(results)} attempts kept the promise ({len(results) - kept} broken) in {seconds:.0f} s."


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; the note is an ordinary file
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", metavar="PATTERN", help="replay only the attempts whose name holds PATTERN")
    parser.add_argument("--markdown", metavar="FILE", type=Path, help="also write the table to FILE")
    options = parser.parse_args(argv)
    attempts = [attempt for attempt in ATTEMPTS if not options.only or options.only in attempt.name]
    if not attempts:
        parser.error(f"no attempt's name holds {options.only!r}")

    def progress(number: int, result: Result) -> None:
        mark = "kept" if result.kept else "BROKEN: " + "; ".join(result.problems)
        print(f"[{number}/{len(attempts)}] {result.attempt.name} ({result.outcome.seconds:.1f} s): {mark}", file=sys.stderr, flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="parity-hostile-") as scratch:
        results = replay_all(attempts, Path(scratch), progress)
    text = table(results) + "\n\n" + summary(results, time.monotonic() - started) + "\n"
    print(text, end="")
    if options.markdown is not None:
        write_atomically(options.markdown, text)
    return 0 if all(result.kept for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())

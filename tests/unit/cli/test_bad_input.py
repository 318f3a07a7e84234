"""Bad input, through parity's own entry point in-process: one line naming what and where, exit code 2,
nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import invoke_parity
from tests.helpers.store import finished_experiment


def _assert_refused(result, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def _rewrite_case_line(ws_dir: Path, number: int, edit) -> None:
    path = ws_dir / "ruler" / "cases.jsonl"
    lines = path.read_text().splitlines()
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("\n".join(lines) + "\n")


def _edit_json(change):
    def edit(line: str) -> str:
        obj = json.loads(line)
        change(obj)
        return json.dumps(obj)

    return edit


def test_malformed_jsonl_line(ws_dir: Path) -> None:
    _rewrite_case_line(ws_dir, 7, lambda line: line[:-5])
    result = invoke_parity("run", "baseline", "--gate", "dev", cwd=ws_dir)
    _assert_refused(result, "ruler/cases.jsonl:7", "invalid JSON")
    assert not (ws_dir / ".parity").exists()


def test_gold_with_six_questions(ws_dir: Path) -> None:
    _rewrite_case_line(ws_dir, 3, _edit_json(lambda obj: obj["gold"]["questions"].pop()))
    result = invoke_parity("run", "baseline", cwd=ws_dir)
    _assert_refused(result, "ruler/cases.jsonl:3", "6 questions", "requires 7")
    assert not (ws_dir / ".parity").exists()


def test_missing_field(ws_dir: Path) -> None:
    _rewrite_case_line(ws_dir, 12, _edit_json(lambda obj: obj.pop("difficulty")))
    result = invoke_parity("ruler", "verify", cwd=ws_dir)
    _assert_refused(result, "ruler/cases.jsonl:12", "missing field 'difficulty'")


def test_unknown_model_name(ws_dir: Path) -> None:
    agent = ws_dir / "agents" / "baseline.yaml"
    agent.write_text(agent.read_text().replace("llamacpp:smollm2-135m", "llamacpp:gpt-17"))
    result = invoke_parity("run", "baseline", cwd=ws_dir)
    line = next(n for n, text in enumerate(agent.read_text().splitlines(), 1) if text.startswith("model:"))
    _assert_refused(result, f"agents/baseline.yaml:{line}", "unknown model 'gpt-17'", "smollm2-135m")
    assert not (ws_dir / ".parity").exists()


def test_unknown_agent_field(ws_dir: Path) -> None:
    agent = ws_dir / "agents" / "baseline.yaml"
    agent.write_text(agent.read_text().replace("  temperature: 0.0", "  temprature: 0.0"))
    result = invoke_parity("run", "baseline", cwd=ws_dir)
    _assert_refused(result, "agents/baseline.yaml:", "decoding.temprature", "temperature")


def test_not_a_workspace(tmp_path: Path) -> None:
    result = invoke_parity("run", "baseline", cwd=tmp_path)
    _assert_refused(result, str(tmp_path), "not a parity workspace", "parity init")
    assert list(tmp_path.iterdir()) == []


def test_edited_ruler_is_refused_until_relocked(ws_dir: Path) -> None:
    _rewrite_case_line(ws_dir, 1, _edit_json(lambda obj: obj["gold"]["questions"].__setitem__(0, "Which month will you go to Paris?")))
    result = invoke_parity("run", "baseline", cwd=ws_dir)
    _assert_refused(result, "ruler/LOCK", "ruler changed", "cases differ", "parity ruler lock")
    assert not (ws_dir / ".parity").exists()
    assert invoke_parity("ruler", "verify", cwd=ws_dir).returncode == 2
    relocked = invoke_parity("ruler", "lock", cwd=ws_dir)
    assert relocked.returncode == 0 and "re-locked" in relocked.stdout
    assert invoke_parity("ruler", "verify", cwd=ws_dir).returncode == 0


def test_edited_rubric_weight_changes_the_fingerprint(ws_dir: Path) -> None:
    config = ws_dir / "parity.toml"
    config.write_text(config.read_text().replace("weight = 0.3", "weight = 0.35", 1))
    result = invoke_parity("ruler", "verify", cwd=ws_dir)
    _assert_refused(result, "rubric differ")


def test_invalid_toml_value_names_the_line(ws_dir: Path) -> None:
    config = ws_dir / "parity.toml"
    text = config.read_text().replace("rubric_weight = 0.5", "rubric_weight = 0.7")
    config.write_text(text)
    result = invoke_parity("ruler", "verify", cwd=ws_dir)
    _assert_refused(result, "parity.toml", "must equal 1")


def test_unknown_gate(ws_dir: Path) -> None:
    result = invoke_parity("run", "baseline", "--gate", "nightly", cwd=ws_dir)
    _assert_refused(result, "unknown gate 'nightly'", "dev, full")
    assert not (ws_dir / ".parity").exists()


@pytest.mark.parametrize("target", ["nonempty"])
def test_init_refuses_a_non_empty_directory(tmp_path: Path, target: str) -> None:
    folder = tmp_path / target
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = invoke_parity("init", "--example", "discovery", str(folder), cwd=tmp_path)
    _assert_refused(result, "not empty")
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    "args", [["bogus"], ["show", "abc"], ["run", "--nope"], ["run", "baseline", "--gate"], ["analyze", "noise"], ["export", "gguf"]]
)
def test_usage_errors_are_one_line_with_exit_2(ws_dir: Path, args: list[str]) -> None:
    """typer bundles its own click: its usage errors must reach the same one-line boundary."""
    result = invoke_parity(*args, cwd=ws_dir)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_export_never_deletes_what_parity_did_not_write(ws_dir: Path, tmp_path: Path) -> None:
    """The attack: a folder with an index.html and the user's own files must survive an export."""
    site = tmp_path / "site"
    (site / "photos").mkdir(parents=True)
    (site / "index.html").write_text("x")
    (site / "thesis.tex").write_text("keep")
    _assert_refused(invoke_parity("export", "html", str(site), cwd=ws_dir), "holds other files")
    assert sorted(p.name for p in site.iterdir()) == ["index.html", "photos", "thesis.tex"]

    ours = tmp_path / "ours"
    assert invoke_parity("export", "html", str(ours), cwd=ws_dir).returncode == 0
    written = sorted(p.name for p in ours.iterdir())
    assert "index.html" in written and ".parity-export" in written
    assert invoke_parity("export", "html", str(ours), cwd=ws_dir).returncode == 0  # an earlier export is replaced
    assert sorted(p.name for p in ours.iterdir()) == written
    (ours / "notes.md").write_text("mine")  # the user adds a file beside the export: no longer only ours
    _assert_refused(invoke_parity("export", "html", str(ours), cwd=ws_dir), "notes.md")
    assert (ours / "notes.md").read_text() == "mine" and (ours / "index.html").exists()


def test_stored_text_is_printed_as_data_never_as_markup(ws_dir: Path) -> None:
    """A hypothesis like '[/red] x' used to crash every later `parity show`; a [link=…] became a hyperlink."""
    from parity.store import Store
    from parity.task import load_workspace

    hostile = "[/red] x [link=file:///etc/passwd]click[/link] [bold]"
    store = Store.for_workspace(load_workspace(ws_dir))
    finished_experiment(store, agent_name="[/] agent", hypothesis=hostile, decision="[red]no", method="[/]")
    listing = invoke_parity("show", cwd=ws_dir, env={"COLUMNS": "400"})
    one = invoke_parity("show", "1", cwd=ws_dir, env={"COLUMNS": "400"})
    for result in (listing, one):
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert hostile in one.stdout and "[/] agent" in one.stdout and "\x1b]8;" not in one.stdout  # no terminal hyperlink


def _toml(old: str, new: str):
    def edit(ws_dir: Path) -> None:
        config = ws_dir / "parity.toml"
        text = config.read_text()
        assert old in text, old
        config.write_text(text.replace(old, new, 1))

    return edit


def _agent(text: str, name: str = "hostile.yaml", raw: bytes | None = None):
    def edit(ws_dir: Path) -> None:
        path = ws_dir / "agents" / name
        path.write_bytes(raw) if raw is not None else path.write_text(text)

    return edit


def _append_toml(text: str):
    def edit(ws_dir: Path) -> None:
        with (ws_dir / "parity.toml").open("a") as handle:
            handle.write("\n" + text)

    return edit


def _case_line(line: str):
    def edit(ws_dir: Path) -> None:
        with (ws_dir / "ruler" / "cases.jsonl").open("a") as handle:
            handle.write(line + "\n")

    return edit


HOSTILE = [
    ("weight inf", _toml("weight = 0.3", "weight = inf"), ["ruler", "lock"], "should be a finite number"),
    ("weight nan", _toml("weight = 0.3", "weight = nan"), ["ruler", "lock"], "should be a finite number"),
    (
        "bootstrap 1e9",
        _toml("bootstrap_samples = 2000", "bootstrap_samples = 1000000000"),
        ["ruler", "lock"],
        "less than or equal to 100000",
    ),
    ("empty gate", _toml('full = "all"', 'full = "all"\nnightly = []'), ["ruler", "lock"], "gate 'nightly' is empty"),
    (
        "duplicate gate id",
        _toml('full = "all"', 'full = "all"\ntwice = ["travel-easy", "travel-easy"]'),
        ["ruler", "lock"],
        "lists travel-easy more than once",
    ),
    ("deep JSON case", _case_line('{"id": ' + "[" * 50000 + "]" * 50000 + "}"), ["ruler", "verify"], "nested too deeply"),
    ("lone surrogate", _case_line('{"id": "x\\ud800"}'), ["ruler", "verify"], "lone surrogate"),
    (
        "non-UTF-8 cases",
        lambda ws: (ws / "ruler" / "cases.jsonl").write_bytes(b"\xff\xfe{}\n"),
        ["ruler", "verify"],
        "not UTF-8 text (byte 0xff at offset 0)",
    ),
    (
        "non-UTF-8 parity.toml",
        lambda ws: (ws / "parity.toml").write_bytes((ws / "parity.toml").read_bytes() + b"\n# \xe9\n"),
        ["ruler", "verify"],
        "parity.toml: not UTF-8",
    ),
    ("non-UTF-8 agent", _agent("", raw=b"model: \xff\n"), ["run", "hostile", "--gate", "dev"], "agents/hostile.yaml: not UTF-8"),
    (
        "unknown conversion",
        _agent('prompt:\n  user: "{input!z}"\n'),
        ["run", "hostile", "--gate", "dev"],
        "template conversion !z in {input!z} is not allowed",
    ),
    ("format spec on text", _agent('prompt:\n  user: "{input:d}"\n'), ["run", "hostile", "--gate", "dev"], "template cannot be filled"),
    (
        "attribute access",
        _agent('prompt:\n  user: "{input.__class__}"\n'),
        ["run", "hostile", "--gate", "dev"],
        "unknown template variable",
    ),
    ("lone brace", _agent('prompt:\n  user: "plan {input"\n'), ["run", "hostile", "--gate", "dev"], "malformed template"),
    (
        "critique template",
        _agent('strategy:\n  kind: critique_revise\n  critique_prompt: "{draft!r:>{x}}"\n'),
        ["run", "hostile", "--gate", "dev"],
        "critique_prompt",
    ),
    ("deep LOCK", lambda ws: (ws / "ruler" / "LOCK").write_text("[" * 100000), ["ruler", "verify"], "LOCK is not a valid lock file"),
    (
        "LOCK parts a list",
        lambda ws: (ws / "ruler" / "LOCK").write_text('{"fingerprint": "abc", "parts": [1]}'),
        ["ruler", "verify"],
        "LOCK is not a valid lock file",
    ),
    (
        "detector repeat too large",
        _append_toml('[detectors.x]\npatterns = ["a{99999999999}"]\n'),
        ["ruler", "verify"],
        "cannot be compiled (OverflowError)",
    ),
    (
        "detector groups too deep",
        _append_toml('[detectors.x]\npatterns = ["' + "(" * 2000 + ")" * 2000 + '"]\n'),
        ["show"],
        "cannot be compiled",
    ),
    (
        "fitted is a folder",
        _toml('fitted = "calibration/judge-fit.json"', 'fitted = "calibration"'),
        ["ruler", "verify"],
        "cannot read the fitted judge parameters",
    ),
    (
        "agent nested too deeply",
        _agent("x = " + "-" * 200000 + "1\ndef answer(i, c): pass\n", "deep.py"),
        ["run", "deep", "--gate", "dev"],
        "nested too deeply to compile",
    ),
    (
        "agent with a NUL",
        _agent("", "nul.py", raw=b"x = 1\x00\ndef answer(i, c): pass\n"),
        ["run", "nul", "--gate", "dev"],
        "agents/nul.py: ",
    ),
    (
        "agent import message of two lines",
        _agent('raise ValueError("boom\\nsecond")\n', "two.py"),
        ["run", "two", "--gate", "dev"],
        "boom\\nsecond",
    ),
    ("agent raises KeyboardInterrupt", _agent("raise KeyboardInterrupt\n", "ki.py"), ["run", "ki", "--gate", "dev"], "agents/ki.py"),
    (
        "negative few-shot seed",
        _agent("fewshot: {k: 2, retrieval: random, seed: -1}\n"),
        ["run", "hostile", "--gate", "dev"],
        "greater than or equal to 0",
    ),
    (
        "conversion !s",
        _agent('prompt:\n  user: "Task: {input!s}"\n'),
        ["run", "hostile", "--gate", "dev"],
        "template conversion !s in {input!s} is not allowed",
    ),
    ("malformed base URL", _agent('model: "openai:m@http://[::1/v1"\n'), ["run", "hostile", "--gate", "dev"], "is not a well-formed URL"),
    ("agent name too long", lambda ws: None, ["run", "a" * 5000], "ile name too long"),
    ("hours nan", lambda ws: None, ["loop", "--hours", "nan"], "nan is not a time limit"),
    ("adapter name a path", lambda ws: None, ["train", "sft", "--name", "../../evil"], "is not a name"),
    ("dataset name a path", lambda ws: None, ["pairs", "build", "--name", "a/b"], "is not a name"),
    ("epochs nan", lambda ws: None, ["train", "sft", "--epochs", "nan"], "--epochs"),
    ("rank 0", lambda ws: None, ["train", "sft", "--rank", "0"], "--rank"),
    ("pairs limit 0", lambda ws: None, ["pairs", "build", "--limit", "0"], "--limit"),
    ("ceiling candidate spec", lambda ws: None, ["analyze", "ceiling", "--candidate", "openai:"], "names no model"),
    (
        "corpus answer not the task's shape",
        lambda ws: (ws / "corpus" / "train.jsonl").write_text('{"id": "c1", "input": "plan a picnic", "answer": 5}\n'),
        ["run", "baseline", "--gate", "dev"],
        "corpus/train.jsonl:1",
    ),
    ("budget nan", lambda ws: None, ["run", "baseline", "--gate", "dev", "--budget-usd", "nan"], "nan is not a budget"),
    ("budget inf", lambda ws: None, ["loop", "--budget-usd", "inf"], "inf is not a budget"),
    ("budget negative", lambda ws: None, ["run", "baseline", "--budget-usd", "-2"], "-2.0 is not a budget"),
]


@pytest.mark.parametrize("name, mutate, args, fragment", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_inputs_are_one_line_errors_and_write_nothing(ws_dir: Path, name: str, mutate, args: list[str], fragment: str) -> None:
    mutate(ws_dir)
    before = sorted(str(p.relative_to(ws_dir)) for p in ws_dir.rglob("*"))
    _assert_refused(invoke_parity(*args, cwd=ws_dir), fragment)
    assert sorted(str(p.relative_to(ws_dir)) for p in ws_dir.rglob("*")) == before  # nothing written, nothing deleted


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["show", "99999999999999999999"], "less than or equal to 9223372036854775807"),
        (["show", "0"], "greater than or equal to 1"),
        (["compare", "1", "99999999999999999999"], "less than or equal to 9223372036854775807"),
        (["dashboard", "--port", "99999"], "--port"),
    ],
)
def test_ids_and_ports_out_of_range_are_usage_errors(ws_dir: Path, args: list[str], fragment: str) -> None:
    _assert_refused(invoke_parity(*args, cwd=ws_dir), fragment)
    assert not (ws_dir / ".parity").exists()


def test_a_store_url_in_a_folder_that_does_not_exist_makes_no_folders(ws_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    result = invoke_parity("show", cwd=ws_dir, env={"PARITY_DB": f"sqlite:///{missing / 'x.db'}"})
    _assert_refused(result, "cannot make the store's folder", "PARITY_DB")
    assert not (tmp_path / "no").exists()


def test_a_folder_where_a_file_is_written_is_one_line(ws_dir: Path) -> None:
    _assert_refused(invoke_parity("report", "--out", "ruler", cwd=ws_dir), "ruler: cannot write the file: a folder is in its place")
    assert (ws_dir / "ruler").is_dir() and not list((ws_dir).glob(".ruler.*.tmp"))


def test_ruler_lock_replaces_a_damaged_lock(ws_dir: Path) -> None:
    (ws_dir / "ruler" / "LOCK").write_text("null")
    result = invoke_parity("ruler", "lock", cwd=ws_dir)
    assert result.returncode == 0 and "in place of a damaged LOCK" in result.stdout, result.stderr
    assert invoke_parity("ruler", "verify", cwd=ws_dir).returncode == 0


@pytest.mark.parametrize("kind", ["folder", "junk"])
def test_a_llamacpp_spec_that_is_no_model_file_is_one_line(ws_dir: Path, kind: str) -> None:
    model = ws_dir / "m.gguf"
    model.mkdir() if kind == "folder" else model.write_bytes(b"\x00not a gguf" * 100)
    (ws_dir / "agents" / "m.yaml").write_text(f"model: llamacpp:{model}\n")
    _assert_refused(
        invoke_parity("run", "m", "--gate", "dev", cwd=ws_dir), "not a model file" if kind == "folder" else "llama.cpp cannot load"
    )

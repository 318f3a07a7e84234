"""Each recipe's data, built from a small real corpus without a model: SFT's prompt/completion rows, the
RL recipes' prompts with the teacher alongside, the preference recipes' stored pairs, and the pairs the
loop drafts for them with the trial's own agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.agent import load_agent
from parity.agent.corpus import Demo
from parity.errors import ParityError
from parity.train.base import BaseWeights
from parity.train.data import TrainingData, register_dataset
from parity.train.pairs import style_pairs
from parity.train.recipes import registry
from parity.train.recipes.recipe import DataInputs, LoopInputs, TrainsOn
from parity.train.recipes.sft import SftOptions
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, answer_text, by_word, use_model
from tests.helpers.training import CORPUS_ROWS, SmallWorkspace


def _inputs(small: SmallWorkspace, **given) -> DataInputs:
    return DataInputs(small.ws, small.ruler, small.store, small.agent, "adapter-1", **given)


def _recipes(trains_on: TrainsOn) -> list[str]:
    return [name for name, recipe in registry().items() if recipe.trains_on == trains_on]


def test_sft_pairs_the_agents_own_prompt_with_the_teachers_answer(small: SmallWorkspace) -> None:
    data = registry()["sft"].build_data(_inputs(small))
    demos = small.agent.corpus.demos
    assert (data.name, data.kind, len(data.rows)) == ("adapter-1", "sft", CORPUS_ROWS)
    first = data.rows[0]
    assert first["id"] == demos[0].id
    assert first["prompt"] == [dict(m) for m in small.agent.request(demos[0].input).messages]
    assert first["prompt"][-1]["role"] == "user" and demos[0].input in first["prompt"][-1]["content"]
    assert first["completion"] == [{"role": "assistant", "content": json.dumps(demos[0].answer, ensure_ascii=False)}]
    assert data.provenance == {
        "source": "corpus/train.jsonl",
        "corpus_fingerprint": small.agent.corpus.fingerprint,
        "agent": "baseline",
        "n": CORPUS_ROWS,
    }
    assert registry()["sft"].build_data(_inputs(small, source="slice.jsonl")).provenance["source"] == "slice.jsonl"


def test_rl_recipes_train_on_the_agents_prompts_with_the_input_and_teacher_for_the_reward(small: SmallWorkspace) -> None:
    assert _recipes(TrainsOn.PROMPTS) == ["grpo", "gad"]
    built = [registry()[name].build_data(_inputs(small)) for name in _recipes(TrainsOn.PROMPTS)]
    assert built[0].fingerprint == built[1].fingerprint  # GAD and GRPO differ in the reward only
    data, demo = built[0], small.agent.corpus.demos[1]
    assert data.kind == "prompts" and len(data.rows) == CORPUS_ROWS
    row = data.rows[1]
    assert set(row) == {"id", "input", "teacher", "prompt"}
    assert (row["id"], row["input"], row["teacher"]) == (demo.id, demo.input, demo.answer_text())
    assert demo.answer_text() not in json.dumps(row["prompt"])  # the policy never sees the teacher's answer


@pytest.mark.parametrize("recipe", ["sft", "rft", "grpo", "gad"])
def test_a_corpus_input_that_repeats_a_ruler_case_is_refused_before_any_row_is_built(small: SmallWorkspace, recipe: str) -> None:
    case = small.ruler.cases[0]
    small.agent.corpus.demos.append(Demo("leak-1", "  " + case.input.upper(), {"title": "t", "questions": ["q?"]}))
    with pytest.raises(ParityError) as refused:
        registry()[recipe].build_data(_inputs(small))
    assert "1 corpus input(s) repeat a ruler case (e.g. leak-1)" in refused.value.line()


def test_an_empty_corpus_is_refused(small: SmallWorkspace) -> None:
    small.agent.corpus.demos.clear()
    for name in ("sft", "rft", "grpo"):
        with pytest.raises(ParityError) as refused:
            registry()[name].build_data(_inputs(small))
        assert "needs a corpus" in refused.value.line() or "need a corpus" in refused.value.line()


def _stored_style_pairs(small: SmallWorkspace, tmp_path: Path) -> TrainingData:
    demos = small.agent.corpus.demos
    rejected = tmp_path / "vague.jsonl"
    rows = [{"id": demos[0].id, "answer": "Trip? Money?"}, {"id": demos[2].id, "answer": {"title": "x", "questions": ["What?"]}}]
    rejected.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = style_pairs(small.ws, small.ruler, small.agent, "style-1", rejected)
    register_dataset(small.store, data, small.ws.state_dir / "datasets")
    return data


@pytest.mark.parametrize("recipe", ["dpo", "orpo"])
def test_preference_recipes_read_the_stored_pairs_by_name_or_fingerprint(small: SmallWorkspace, tmp_path: Path, recipe: str) -> None:
    stored = _stored_style_pairs(small, tmp_path)
    by_name = registry()[recipe].build_data(_inputs(small, pairs="style-1"))
    by_fingerprint = registry()[recipe].build_data(_inputs(small, pairs=stored.fingerprint[:12]))
    assert by_name.rows == by_fingerprint.rows == stored.rows and by_name.kind == "pairs-style"
    assert [r["rejected"][0]["content"] for r in by_name.rows] == ["Trip? Money?", '{"title": "x", "questions": ["What?"]}']
    assert all(r["chosen"][0]["content"] == d.answer_text() for r, d in zip(by_name.rows, small.agent.corpus.demos[::2]))


def test_preference_recipes_refuse_no_pairs_and_data_that_is_not_pairs(small: SmallWorkspace) -> None:
    assert _recipes(TrainsOn.PAIRS) == ["dpo", "orpo"]
    with pytest.raises(ParityError) as missing:
        registry()["dpo"].build_data(_inputs(small))
    assert missing.value.line().startswith("train dpo: dpo trains on preference pairs") and "then pass --pairs P" in missing.value.line()
    register_dataset(small.store, registry()["sft"].build_data(_inputs(small)), small.ws.state_dir / "datasets")
    with pytest.raises(ParityError) as wrong:
        registry()["orpo"].build_data(_inputs(small, pairs="adapter-1"))
    assert "adapter-1 holds sft data; preference recipes need pairs" in wrong.value.line()


def test_the_loop_drafts_onpolicy_pairs_once_for_preference_recipes_and_nothing_for_others(
    small: SmallWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, ScriptedModel(lambda request: answer_text("weak")))
    said: list[str] = []
    loop = LoopInputs(
        small.ws, small.ruler, small.store, 7, {"pairs": 4, "recipe": "dpo"}, lambda: load_agent(small.ws, "baseline"), said.append
    )

    assert registry()["dpo"].loop_dataset(loop) == "loop7-pairs"
    assert said == ["trial 7: drafting 4 corpus inputs for on-policy pairs"] and len(model.requests) == 4
    [dataset] = small.store.datasets()
    assert (dataset.name, dataset.kind, dataset.n_rows) == ("loop7-pairs", "pairs-onpolicy", 4)
    pairs = registry()["orpo"].build_data(_inputs(small, pairs="loop7-pairs"))
    assert {r["rejected"][0]["content"] for r in pairs.rows} == {answer_text("weak")}
    assert registry()["orpo"].loop_dataset(loop) == "loop7-pairs" and len(model.requests) == 4  # built before: not drafted again
    assert [registry()[name].loop_dataset(loop) for name in ("sft", "rft", "grpo", "gad")] == [None, None, None, None]


def _rft_drafts(request) -> str:
    """Draw 0 weak, draw 1 strong, any later draw not JSON: RFT must keep draw 1."""
    return [answer_text("weak"), answer_text("strong")][request.repeat] if request.repeat < 2 else "not an answer"


def test_rft_trains_on_the_best_judged_of_the_agents_own_drafts(small: SmallWorkspace, monkeypatch: pytest.MonkeyPatch) -> None:
    model = use_model(monkeypatch, ScriptedModel(_rft_drafts))
    monkeypatch.setattr("parity.judge.make_judge", lambda ws: ScriptedJudge(ws.config.rubric, by_word))
    agent = load_agent(small.ws, "baseline")
    options, _ = registry()["rft"].options_from({"drafts": 3, "temperature": 0.7, "inputs": 4})
    data = registry()["rft"].prepare(DataInputs(small.ws, small.ruler, small.store, agent, "rft-1"), options).data

    assert (data.kind, len(data.rows), len(model.requests)) == ("rft", 4, 4 * 3)
    assert {(r.temperature, r.repeat) for r in model.requests} == {(0.7, 0), (0.7, 1), (0.7, 2)}
    demo = agent.corpus.demos[0]
    assert data.rows[0]["id"] == demo.id and data.rows[0]["prompt"] == [dict(m) for m in agent.request(demo.input).messages]
    assert {r["completion"][0]["content"] for r in data.rows} == {json.dumps(json.loads(answer_text("strong")), ensure_ascii=False)}
    provenance = data.provenance
    assert (provenance["drafts"], provenance["inputs_drafted"], provenance["n"]) == (3, 4, 4)
    assert provenance["skipped"] == {"no_valid_draft": 0, "below_min_quality": 0}
    weak = small.ws.config.metric.rubric_weight * 0.25  # a 2 on the 1–5 rubric, and a loss to gold
    assert provenance["mean_best_quality"] == 1.0 and provenance["mean_draft_quality"] == pytest.approx((1.0 + weak) / 2)


def test_rft_leaves_out_inputs_without_a_good_enough_draft_and_refuses_when_none_is_left(
    small: SmallWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    weak_only = {0: answer_text("weak")}
    use_model(monkeypatch, ScriptedModel(lambda request: weak_only.get(request.repeat, "not an answer")))
    monkeypatch.setattr("parity.judge.make_judge", lambda ws: ScriptedJudge(ws.config.rubric, by_word))
    inputs = DataInputs(small.ws, small.ruler, small.store, load_agent(small.ws, "baseline"), "rft-1")
    rft = registry()["rft"]
    weak = small.ws.config.metric.rubric_weight * 0.25
    assert len(rft.prepare(inputs, rft.options_from({"min_quality": weak})[0]).data.rows) == CORPUS_ROWS  # exactly the weak draft's: kept
    with pytest.raises(ParityError) as refused:
        rft.prepare(inputs, rft.options_from({"min_quality": weak + 0.01})[0])
    assert refused.value.line().startswith(
        "train rft: no draft of 6 corpus inputs was kept (skipped: {'no_valid_draft': 0, 'below_min_quality': 6})"
    )
    weak_only.clear()
    with pytest.raises(ParityError) as nothing:
        rft.prepare(inputs, rft.options_from({})[0])
    assert "'no_valid_draft': 6" in nothing.value.line()


def test_several_data_files_train_as_one_corpus_and_an_id_given_twice_is_refused(
    small: SmallWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parity.train import run

    trained: list = []
    monkeypatch.setattr(run, "resolve_base", lambda text, root: BaseWeights(text, tmp_path / "m.gguf", tmp_path / "m", "sha256:base"))
    monkeypatch.setattr(run, "decide_placement", lambda options, model: None)
    monkeypatch.setattr(run, "train_adapter", lambda recipe, state, store, model, prepared, *rest: trained.append(prepared.data))
    lines = (small.ws.root / "corpus" / "train.jsonl").read_text().splitlines()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("\n".join(lines[:2]) + "\n")
    second.write_text("\n".join(lines[2:5]) + "\n")

    run.train_from_corpus(small.ws, small.ruler, small.store, run.TrainJob(registry()["sft"], "two", SftOptions(), data=(first, second)))
    [data] = trained
    assert [r["id"] for r in data.rows] == [json.loads(line)["id"] for line in lines[:5]]
    assert data.provenance["source"] == f"{first}, {second}"

    second.write_text(lines[1] + "\n")
    with pytest.raises(ParityError) as twice:
        run.train_from_corpus(small.ws, small.ruler, small.store, run.TrainJob(registry()["sft"], "x", SftOptions(), data=(first, second)))
    assert (
        twice.value.line()
        == f"--data: corpus id '{json.loads(lines[1])['id']}' is in both {first} and {second} — give every entry its own id"
    )
    with pytest.raises(ParityError) as missing:
        run.train_from_corpus(
            small.ws, small.ruler, small.store, run.TrainJob(registry()["sft"], "x", SftOptions(), data=(first, tmp_path / "none.jsonl"))
        )
    assert missing.value.line().startswith(f"--data: no data file at {tmp_path / 'none.jsonl'}")

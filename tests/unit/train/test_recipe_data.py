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
from parity.train.data import TrainingData, register_dataset
from parity.train.pairs import style_pairs
from parity.train.recipes import registry
from parity.train.recipes.recipe import DataInputs, LoopInputs, TrainsOn
from tests.helpers.scripted import ScriptedModel, answer_text, use_model
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


@pytest.mark.parametrize("recipe", ["sft", "grpo", "gad"])
def test_a_corpus_input_that_repeats_a_ruler_case_is_refused_before_any_row_is_built(small: SmallWorkspace, recipe: str) -> None:
    case = small.ruler.cases[0]
    small.agent.corpus.demos.append(Demo("leak-1", "  " + case.input.upper(), {"title": "t", "questions": ["q?"]}))
    with pytest.raises(ParityError) as refused:
        registry()[recipe].build_data(_inputs(small))
    assert "1 corpus input(s) repeat a ruler case (e.g. leak-1)" in refused.value.line()


def test_an_empty_corpus_is_refused(small: SmallWorkspace) -> None:
    small.agent.corpus.demos.clear()
    for name in ("sft", "grpo"):
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
    assert [registry()[name].loop_dataset(loop) for name in ("sft", "grpo", "gad")] == [None, None, None]

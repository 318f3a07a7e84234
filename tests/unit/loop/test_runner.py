"""The loop runner on a scripted model and judge: propose → screen → decide → record, in-process."""

from __future__ import annotations

import pytest

from parity.errors import ParityError
from parity.loop.proposers import GridProposer
from parity.loop.runner import MAX_REFUSALS, LoopLimits, loop_name, run_loop
from parity.ruler import load_ruler
from parity.store import Store
from parity.task import ParamSpec, Workspace
from tests.helpers.scripted import ScriptedJudge, ScriptedModel, by_word, strong_when_hot, use_model


def test_the_loop_keeps_what_beats_the_best_and_screens_out_what_only_ties_it(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    model = use_model(monkeypatch, ScriptedModel(strong_when_hot))
    judge = ScriptedJudge(ws.config.rubric, by_word)
    ruler = load_ruler(ws)
    store = Store.for_workspace(ws)
    proposer = GridProposer({"decoding.temperature": ParamSpec(choice=[0.0, 0.7, 0.3])})
    said: list[str] = []

    finished = run_loop(ws, ruler, judge, store, proposer, LoopLimits(max_experiments=5), said.append)

    assert finished == 3 and said[-1], said
    assert said[-1] == "the proposer has nothing left to try; stopping"
    trials = store.trials(loop_name(ruler, "grid"))
    assert [t.patch for t in trials] == [{"decoding.temperature": t} for t in (0.0, 0.7, 0.3)]
    assert [t.verdict for t in trials] == ["kept", "kept", "screened_out"]
    assert [t.status for t in trials] == ["done", "done", "done"]
    first, better, tie = trials
    assert "first kept experiment" in first.reason
    assert "beats the running best" in better.reason and "confirmed by a second judgment" in better.reason
    assert "does not beat the running best's" in tie.reason and tie.decide_experiment_id is None

    screen = store.experiment(better.screen_experiment_id)
    decide = store.experiment(better.decide_experiment_id)
    assert (screen.gate, len(store.case_rows(screen.id))) == ("dev", len(ruler.gate("dev")))
    assert (decide.gate, len(store.case_rows(decide.id))) == ("full", len(ruler.cases))
    assert decide.screened_by == screen.id and decide.model_identity == "scripted:test"
    # the strong answer scores 5 on every dimension and wins: quality 1.0; the weak one 2 and loses: 0.125
    assert decide.quality == pytest.approx(1.0)
    assert store.experiment(first.decide_experiment_id).quality == pytest.approx(0.125)
    # three screens on dev, two decisions on full: every case asked the model once
    assert len(model.requests) == 3 * len(ruler.gate("dev")) + 2 * len(ruler.cases)
    assert sorted({r.temperature for r in model.requests}) == [0.0, 0.3, 0.7]


def test_the_loop_stops_at_max_experiments_and_a_second_run_adds_none(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    use_model(monkeypatch, ScriptedModel(strong_when_hot))
    judge = ScriptedJudge(ws.config.rubric, by_word)
    ruler = load_ruler(ws)
    store = Store.for_workspace(ws)
    proposer = GridProposer({"decoding.temperature": ParamSpec(choice=[0.0, 0.7, 0.3])})
    said: list[str] = []

    assert run_loop(ws, ruler, judge, store, proposer, LoopLimits(max_experiments=1), said.append) == 1
    assert run_loop(ws, ruler, judge, store, proposer, LoopLimits(max_experiments=1), said.append) == 0
    assert said[-1] == "the log holds 1 experiments (--max-experiments 1); stopping"
    assert [t.patch for t in store.trials(loop_name(ruler, "grid"))] == [{"decoding.temperature": 0.0}]


def test_weights_proposals_without_allow_training_are_recorded_as_requests_and_run_nothing(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, ScriptedModel(strong_when_hot))
    judge = ScriptedJudge(ws.config.rubric, by_word)
    ruler = load_ruler(ws)
    store = Store.for_workspace(ws)
    proposer = GridProposer({"train.recipe": ParamSpec(choice=["sft", "orpo"])})
    said: list[str] = []

    assert run_loop(ws, ruler, judge, store, proposer, LoopLimits(), said.append) == 2
    trials = store.trials(loop_name(ruler, "grid"))
    assert [(t.lever, t.verdict, t.patch) for t in trials] == [
        ("weights", "training_request", {"train.recipe": "sft"}),
        ("weights", "training_request", {"train.recipe": "orpo"}),
    ]
    assert "rerun the loop with --allow-training" in trials[0].reason
    assert model.requests == [] and judge.calls == 0 and store.experiments() == []


@pytest.mark.timeout(30)
def test_a_loop_whose_every_proposal_is_refused_stops_with_one_error_instead_of_spinning(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = use_model(monkeypatch, ScriptedModel(strong_when_hot))
    ruler = load_ruler(ws)
    store = Store.for_workspace(ws)
    # temperatures above 2 fail the agent config: the proposer's points and the grid's fallback alike
    proposer = GridProposer({"decoding.temperature": ParamSpec(choice=[5.0, 6.0])})
    said: list[str] = []

    with pytest.raises(ParityError) as raised:
        run_loop(ws, ruler, ScriptedJudge(ws.config.rubric, by_word), store, proposer, LoopLimits(), said.append)

    assert "refused" in raised.value.what and "decoding.temperature" in raised.value.line()
    assert store.trials(loop_name(ruler, "grid")) == [] and model.requests == []
    assert sum(line.startswith("refused") for line in said) <= 2 * MAX_REFUSALS


def test_train_data_names_workspace_corpus_files_and_refuses_what_is_not_one(ws: Workspace) -> None:
    from parity.loop.runner import trial_data

    (ws.root / "corpus" / "extra.jsonl").write_text((ws.root / "corpus" / "train.jsonl").read_text())
    assert trial_data(ws, None) == ()
    assert trial_data(ws, "corpus/train.jsonl, corpus/extra.jsonl") == (ws.root / "corpus/train.jsonl", ws.root / "corpus/extra.jsonl")
    for value, problem in [
        ("corpus/nope.jsonl", "train.data file 'corpus/nope.jsonl' does not exist"),
        ("../outside.jsonl", "train.data file '../outside.jsonl' is outside the workspace"),
        ("corpus/train.jsonl,", "is not a comma-separated list of files"),
        (3, "train.data = 3 is not a comma-separated list of files"),
    ]:
        with pytest.raises(ParityError) as caught:
            trial_data(ws, value)
        assert problem in caught.value.line() and "[loop.space] train.data" in caught.value.line()


def _train_on(ws: Workspace, monkeypatch: pytest.MonkeyPatch, data: list[str]) -> tuple[Store, str]:
    """One allowed weights trial of SFT over `train.data` choices: the store and the loop's name."""
    use_model(monkeypatch, ScriptedModel(strong_when_hot))
    ruler = load_ruler(ws)
    store = Store.for_workspace(ws)
    proposer = GridProposer({"train.recipe": ParamSpec(choice=["sft"]), "train.data": ParamSpec(choice=data)})
    limits = LoopLimits(max_experiments=1, allow_training=True)
    run_loop(ws, ruler, ScriptedJudge(ws.config.rubric, by_word), store, proposer, limits, lambda _: None)
    return store, loop_name(ruler, "grid")


def test_a_missing_train_data_file_stops_the_loop_before_any_trial(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ParityError, match=r"train\.data file 'gone\.jsonl' does not exist"):
        _train_on(ws, monkeypatch, ["corpus/train.jsonl", "gone.jsonl"])
    assert Store.for_workspace(ws).trials(loop_name(load_ruler(ws), "grid")) == []


def test_a_weights_trial_trains_on_the_files_its_train_data_names(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import parity.loop.runner as runner

    jobs = []

    def record(ws, ruler, store, job, announce=None):
        jobs.append(job)
        raise ParityError("stop here: the job is what this test reads", None, None)

    monkeypatch.setattr(runner, "train_from_corpus", record)
    store, name = _train_on(ws, monkeypatch, ["corpus/train.jsonl"])
    assert [job.data for job in jobs] == [(ws.root / "corpus" / "train.jsonl",)]
    assert store.trials(name)[0].verdict == "crashed"

"""The research loop's parts: patches, the grid and LLM proposers, and the screen of a trial with no quality."""

from __future__ import annotations

from parity.agent.config import AgentConfig
from parity.loop.memory import Memory, TrialSummary
from parity.loop.proposal import apply_patch, config_hash, lever_of
from parity.loop.proposers import GridProposer, LLMProposer
from parity.task import ParamSpec


def test_apply_patch_switches_strategy_from_defaults_and_k0_removes_fewshot() -> None:
    base = AgentConfig.model_validate({"strategy": {"kind": "vote", "samples": 3}, "fewshot": {"k": 2}}).model_dump()
    patched = apply_patch(base, {"strategy.kind": "overgenerate_prune", "strategy.m": 10, "fewshot.k": 0})
    config = AgentConfig.model_validate(patched)
    assert config.strategy.kind == "overgenerate_prune" and config.strategy.m == 10
    assert config.fewshot is None
    assert base["strategy"]["samples"] == 3  # the base is not modified
    assert config_hash(patched) == config_hash({**patched, "name": "other"})
    assert lever_of({"fewshot.k": 1}) == "fewshot" and lever_of({"train.recipe": "sft"}) == "weights"


def test_grid_honours_conditions_and_skips_what_was_tried() -> None:
    space = {
        "strategy.kind": ParamSpec(choice=["single", "overgenerate_prune"]),
        "strategy.m": ParamSpec(range=[9, 12], when={"strategy.kind": "overgenerate_prune"}),
    }
    grid = GridProposer(space)
    base = AgentConfig().model_dump()
    assert grid.combinations(base) == [
        {"strategy.kind": "single"},
        {"strategy.kind": "overgenerate_prune", "strategy.m": 9},
        {"strategy.kind": "overgenerate_prune", "strategy.m": 12},
    ]
    memory = Memory([TrialSummary(1, "strategy", "", {"strategy.kind": "single"}, "kept", 0.2, (0.1, 0.3), "dev", None)], 0.2, 1, False, [])
    assert grid.propose(memory, base, []).patch == {"strategy.kind": "overgenerate_prune", "strategy.m": 9}


def test_llm_proposer_rotates_levers_on_a_plateau() -> None:
    space = {
        "fewshot.k": ParamSpec(range=[0, 3]),
        "decoding.temperature": ParamSpec(range=[0.0, 1.0]),
        "strategy.kind": ParamSpec(choice=["single", "vote"]),
    }
    proposer = LLMProposer(model=None, space=space, task_description="t")
    calm = Memory([], None, None, False, [])
    stuck = Memory([], None, None, True, ["fewshot", "decoding"])
    assert proposer.levers_now(calm) == ["fewshot", "decoding", "strategy"]
    assert proposer.levers_now(stuck) == ["strategy"]
    schema = proposer.schema(proposer.levers_now(stuck))
    assert schema["properties"]["lever"]["enum"] == ["strategy"]
    assert schema["properties"]["patch"]["items"]["properties"]["field"]["enum"] == ["strategy.kind"]
    assert "PLATEAU" in stuck.text() and "PLATEAU" not in calm.text()


def test_a_screen_with_no_quality_is_screened_out_with_a_reason_not_a_crash() -> None:
    from parity.loop.rules import screen

    class Best:
        id, quality = 4, 0.21

    unscored = screen(None, Best())
    assert not unscored.passes and "no quality" in unscored.reason and "#4" in unscored.reason
    assert not screen(0.20, Best()).passes and screen(0.22, Best()).passes
    assert screen(0.1, None).passes and "first" in screen(0.1, None).reason
    best_unscored = Best()
    best_unscored.quality = None
    assert not screen(0.3, best_unscored).passes

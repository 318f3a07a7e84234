"""`parity program`: the instructions an external coding agent follows to run the loop by hand."""

from __future__ import annotations

from parity.task import Workspace

PROGRAM = """# program.md — running parity's research loop as a coding agent

You improve how a small local model performs one task, measured by a frozen ruler you must not
touch. Task: {task}

## What you may change
- Only files under `agents/`: YAML agents (`agents/NAME.yaml`) and Python agents (`agents/NAME.py`
  defining `answer(input, ctx)`; `ctx` gives you the model, decoding and corpus retrieval).
- Never edit `ruler/`, the `[task]`, `[rubric]`, `[judge]`, `[metric]` or `[gates]` sections of
  `parity.toml`. Any change there changes the ruler's fingerprint and every run refuses to start;
  `parity ruler restore` puts the ruler back from the copy kept in the store.
- Never read `ruler/cases.jsonl` from an agent. An answer that repeats 4 or more of its case's gold
  questions marks the experiment `invalid`.

## One iteration
1. Read the log: `parity show --json` (every experiment: agent, gate, quality with 95% CI,
   dimensions, verdict, decision, hypothesis, config diff against the running best).
   `parity show ID --json` for one; `parity compare A B` for a paired comparison.
2. Write down one hypothesis about one lever (prompt, few-shot retrieval, decoding, strategy,
   Python pipeline, adapter) and make the smallest agent change that tests it.
3. Screen and, if promising, decide:
   `parity run NAME --confirm --hypothesis "..." --method "..."`
   (`--confirm` runs the `{screen}` gate and only runs the `{decide}` gate when the screen beats the
   running best's {screen} score).
4. Read the verdict. `kept` means the paired bootstrap's {confidence:.0%} lower bound of the gain over
   the running best on `{decide}` is above 0{rejudge}. Anything else is `discarded`,
   `invalid` or `crashed`, with the reason in `decision`.
5. Never re-run an identical config hoping for a better number; the cache returns the same answers.

## Rules
- One lever per experiment, so the log says what worked.
- Record every attempt with a real hypothesis; a crashed run is evidence too.
- If {plateau} experiments in a row keep nothing, switch to a different lever.
- A lever that needs new weights (fine-tuning) is a training request: say so in your notes;
  `parity loop` records such proposals and `parity show` lists them.
"""


def program_text(ws: Workspace) -> str:
    rule = ws.config.loop
    rejudge = " and a second judgment of the candidate confirms it by more than the judge's noise" if rule.confirm_rejudge else ""
    return PROGRAM.format(
        task=ws.task.description,
        screen=rule.screen_gate,
        decide=rule.decide_gate,
        confidence=rule.keep_confidence,
        rejudge=rejudge,
        plateau=rule.plateau,
    )

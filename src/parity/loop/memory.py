"""The research memory: a compact account of every earlier trial, for proposers (and people) to read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from parity.statuses import Verdict
from parity.store import Store, TrialRow


@dataclass
class TrialSummary:
    number: int
    lever: str
    hypothesis: str
    patch: dict[str, Any]
    verdict: str | None
    quality: float | None  # on the decide gate when it got there, else on the screen gate
    ci: tuple[float | None, float | None]
    gate: str | None
    reason: str | None


@dataclass
class Memory:
    trials: list[TrialSummary]
    best_quality: float | None
    best_id: int | None
    plateau: bool
    recent_levers: list[str]
    complaints: dict[str, str] = field(default_factory=dict)  # dimension -> what the judge says most often
    weakest: list[str] = field(default_factory=list)  # dimensions, lowest mean score first

    def tried(self) -> set[str]:
        return {str(sorted(t.patch.items())) for t in self.trials}

    def text(self, limit: int = 40) -> str:
        lines = []
        best = f"#{self.best_id} quality {self.best_quality:.3f}" if self.best_quality is not None else "none yet"
        lines.append(f"Running best: {best}.")
        if self.weakest:
            lines.append("Weakest rubric dimensions (lowest first): " + ", ".join(self.weakest) + ".")
        for dimension, note in self.complaints.items():
            lines.append(f"Judge on {dimension}: {note}")
        lines.append("Earlier experiments (oldest first):")
        for t in self.trials[-limit:]:
            patch = ", ".join(f"{k}={v}" for k, v in t.patch.items()) or "no change"
            quality = (
                f"{t.quality:.3f} [{t.ci[0]:.3f}, {t.ci[1]:.3f}] on {t.gate}"
                if t.quality is not None and t.ci[0] is not None
                else "no score"
            )
            lines.append(f"- #{t.number} [{t.lever}] {patch} -> {quality}: {t.verdict or 'running'}")
        if self.plateau:
            lines.append(
                f"PLATEAU: the last experiments kept nothing; recent levers {', '.join(self.recent_levers)} - try a different lever."
            )
        return "\n".join(lines)


def build_memory(store: Store, trials: list[TrialRow], plateau_after: int) -> Memory:
    summaries = []
    best_quality, best_id = None, None
    for number, trial in enumerate(trials, start=1):
        experiment_id = trial.decide_experiment_id or trial.screen_experiment_id
        row = store.experiment(experiment_id) if experiment_id else None
        summaries.append(
            TrialSummary(
                number,
                trial.lever,
                trial.hypothesis,
                trial.patch,
                trial.verdict,
                row.quality if row else None,
                (row.ci_low, row.ci_high) if row else (None, None),
                row.gate if row else None,
                trial.reason,
            )
        )
        if (
            trial.verdict == Verdict.KEPT
            and row is not None
            and row.quality is not None
            and (best_quality is None or row.quality > best_quality)
        ):
            best_quality, best_id = row.quality, row.id
    finished = [t for t in summaries if t.verdict is not None]
    recent = finished[-plateau_after:]
    plateau = len(recent) == plateau_after and all(t.verdict != Verdict.KEPT for t in recent)
    memory = Memory(summaries, best_quality, best_id, plateau, list(dict.fromkeys(t.lever for t in recent)))
    _add_judge_view(store, trials, memory)
    return memory


def _add_judge_view(store: Store, trials: list[TrialRow], memory: Memory) -> None:
    """The latest scored experiment's weakest dimensions and the judge's most frequent note on each."""
    for trial in reversed(trials):
        experiment_id = trial.decide_experiment_id or trial.screen_experiment_id
        if not experiment_id:
            continue
        rows = [r for r in store.case_rows(experiment_id) if r.scores and not r.agent_failed]
        if not rows:
            continue
        means = {d: sum(r.scores[d] for r in rows) / len(rows) for d in rows[0].scores}
        memory.weakest = sorted(means, key=means.__getitem__)[:3]
        for dimension in memory.weakest:
            notes = Counter(r.notes[dimension] for r in rows if r.notes and r.notes.get(dimension))
            if notes:
                memory.complaints[dimension] = notes.most_common(1)[0][0][:160]
        return

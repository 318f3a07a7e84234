"""A TRL/transformers callback: a Rich progress bar over optimizer steps, and every logged metric
(loss, reward, KL, ...) appended to the adapter's curves in the store as training goes."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import TrainerCallback

from parity.progress import Progress
from parity.store import Store

# The metrics worth a curve; TRL logs many more (learning rate, grad norm, token counts).
CURVE_KEYS = (
    "loss",
    "reward",
    "reward_std",
    "kl",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "auc",
    "entropy",
)


class RecordCurves(TrainerCallback):
    def __init__(
        self,
        store: Store,
        adapter: str,
        title: str,
        curves: dict[str, list[list[float]]] | None = None,
        earlier_s: float = 0.0,
        probes: dict[str, Any] | None = None,
    ):
        self.store = store
        self.probes = probes or {}  # name -> callable giving a metric the trainer does not log (GAD's discriminator AUC)
        self.earlier_s = earlier_s  # training time of the run this one resumes
        self.adapter = adapter
        self.title = title
        self.curves: dict[str, list[list[float]]] = curves or {}  # kept from an earlier run when resuming
        self.progress: Progress | None = None
        self.task: Any = None
        self.started = time.perf_counter()

    @property
    def train_s(self) -> float:
        return self.earlier_s + time.perf_counter() - self.started

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}", markup=False),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.progress.start()
        self.started = time.perf_counter()
        self.task = self.progress.add_task(self.title, total=state.max_steps, completed=state.global_step, metrics="")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
        probed = {name: probe() for name, probe in self.probes.items()}
        logs = {**(logs or {}), **{name: value for name, value in probed.items() if value is not None}}
        for key, value in logs.items():
            name = key.removeprefix("train/")  # "train_loss" is the run's average, logged at the end: not a point
            if name in CURVE_KEYS and isinstance(value, (int, float)):
                points = self.curves.setdefault(name, [])
                points[:] = [p for p in points if p[0] < state.global_step]  # a resumed run replays from its checkpoint
                points.append([state.global_step, float(value)])
        self.store.update_adapter(self.adapter, curves=dict(self.curves), train_s=self.train_s)
        if self.progress is not None:
            shown = "  ".join(f"{k} {self.curves[k][-1][1]:.3f}" for k in ("loss", "reward", "kl") if k in self.curves)
            self.progress.update(self.task, metrics=shown)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

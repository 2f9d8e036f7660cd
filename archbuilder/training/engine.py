"""The fit engine: the one place a model is fitted, under ``train``, search trials and a search's final retraining.

Keras's ``Model.fit`` does the work; what this module adds is what every caller needs around it and
used to write for itself:

* **metric names**: Keras logs a multi-head model's metrics as ``<head>_accuracy``; the history
  and the per-epoch reports here use the recipe's plain names (``accuracy``, ``val_loss``), the
  names blueprints, objectives and tables speak;
* **NaN handling**: a loss that becomes NaN or infinite stops training at once (Keras's
  ``TerminateOnNaN``), and the outcome says in which epoch (:attr:`FitOutcome.nan_epoch`);
* **best-epoch tracking**: with a ``monitor`` the outcome names the best epoch and its metrics
  (:func:`best_epoch`, one rule for trials, tables and the final retraining), and
  ``restore_best`` gives the model that epoch's weights when the fit ends (Keras's
  ``EarlyStopping(restore_best_weights=True)`` restores only when it stops early);
* **per-epoch reports**: ``on_epoch(epoch, metrics)`` is called after every epoch with the plain
  metrics; returning ``True`` stops the fit there (the hook that pruning and progress need);
* **out-of-memory halving**: :func:`halve_on_out_of_memory` runs an attempt at a batch size and,
  when the accelerator runs out of memory, once more at half of it.

A run's own concerns stay with it (:mod:`archbuilder.training.runner`, its plan and resuming in
:mod:`~archbuilder.training.planning`, its phases in :mod:`~archbuilder.training.phases`); a trial's
(its statuses, KerasTuner) with :mod:`archbuilder.search.tuner`. No other module calls ``Model.fit``
(``tests/test_layers.py`` checks).
"""

from __future__ import annotations

import gc
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import keras
import numpy as np

from archbuilder.runtime import accelerator
from archbuilder.training.pipeline import TrainingInputs
from archbuilder.training.recipe import HeadOutput, metric_key

Direction = Literal["min", "max"]
EpochHook = Callable[[int, dict[str, float]], bool | None]
T = TypeVar("T")


@dataclass(frozen=True)
class FitOptions:
    """How one fit runs.

    Args:
        epochs: the epoch to train up to (Keras's ``epochs``: absolute, not a count).
        initial_epoch: the epoch to start from (a resumed run, a continued trial).
        metrics: the plain names of the recipe's metrics (``loss`` is always reported).
        monitor: the plain name of the metric that chooses the best epoch (``val_accuracy``);
            ``None`` tracks no best epoch.
        direction: ``max`` when a higher ``monitor`` is better, ``min`` when lower is.
        restore_best: give the model the best epoch's weights when the fit ends (needs ``monitor``;
            the weights are copied to host memory on each improvement).
        callbacks: more Keras callbacks, called after the engine's own.
        on_epoch: called after each epoch with its index (from 0) and plain metrics; ``True`` stops.
        verbose: Keras's ``fit`` verbosity.
    """

    epochs: int
    initial_epoch: int = 0
    metrics: Sequence[str] = ()
    monitor: str | None = None
    direction: Direction = "max"
    restore_best: bool = False
    callbacks: Sequence[keras.callbacks.Callback] = ()
    on_epoch: EpochHook | None = None
    verbose: int = 0

    def __post_init__(self) -> None:
        if self.restore_best and self.monitor is None:
            raise ValueError("restore_best needs a monitor")


@dataclass
class FitOutcome:
    """What a fit did: its history under plain names (one value per epoch trained in this fit), the
    best epoch (absolute index from 0, ``None`` without a monitor or a finite value) and its metrics,
    and why it stopped before ``epochs`` (``nan``, ``hook``, or ``None``: it ran out or a Keras
    callback such as early stopping ended it)."""

    history: dict[str, list[float]]
    initial_epoch: int
    best_epoch: int | None = None
    best: dict[str, float] = field(default_factory=dict)
    stopped: Literal["nan", "hook"] | None = None
    nan_epoch: int | None = None

    @property
    def epochs_trained(self) -> int:
        """Epochs this fit completed (the NaN epoch included)."""
        return len(self.history.get("loss", []))


class OutOfMemory(Exception):
    """The accelerator ran out of memory at ``batch_size``, and halving it (once) did not help or was not possible."""

    def __init__(self, batch_size: int, error: BaseException) -> None:
        super().__init__(f"out of memory at batch size {batch_size} ({type(error).__name__})")
        self.batch_size = batch_size
        self.error = error


def fit(model: keras.Model, inputs: TrainingInputs, outputs: list[HeadOutput], options: FitOptions) -> FitOutcome:
    """Fit ``model`` (compiled) on ``inputs``; see the module's docstring for what is added to ``Model.fit``."""
    names = ["loss", *(name for name in options.metrics if name != "loss")]
    keys = {prefix + name: metric_key(prefix + name, outputs) for name in names for prefix in ("", "val_")}
    report = _EpochReport(keys, options)
    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN(), report]
    if options.restore_best:
        callbacks.append(_BestWeights(report))
    history = model.fit(
        **inputs.fit_arguments,
        epochs=options.epochs,
        initial_epoch=options.initial_epoch,
        verbose=options.verbose,
        callbacks=[*callbacks, *options.callbacks],
    )
    logged = {key: [float(v) for v in values] for key, values in history.history.items()}
    plain = {name: logged[key] for name, key in keys.items() if key in logged}
    outcome = FitOutcome(plain, options.initial_epoch, stopped=report.stopped)
    losses = plain.get("loss", [])
    bad = next((i for i, value in enumerate(losses) if not math.isfinite(value)), None)
    if bad is not None:
        outcome.stopped, outcome.nan_epoch = "nan", options.initial_epoch + bad
    if options.monitor is not None and plain.get(options.monitor):
        index = best_index(plain[options.monitor], options.direction)
        if index is not None:
            outcome.best_epoch = options.initial_epoch + index
            outcome.best = {name: series[index] for name, series in plain.items() if index < len(series)}
    return outcome


def best_index(values: Sequence[float], direction: Direction) -> int | None:
    """The index of the best finite value (the first of equals), ``None`` when none is finite."""
    finite = [(i, v) for i, v in enumerate(values) if math.isfinite(v)]
    if not finite:
        return None
    pick = max if direction == "max" else min
    return pick(finite, key=lambda pair: pair[1])[0]


def best_epoch(history: dict[str, list[float]], metric: str, direction: Direction) -> dict[str, float]:
    """The metrics of the epoch with the best ``metric`` (the last epoch when it was not logged or never finite)."""
    values = history.get(metric)
    index = best_index(values, direction) if values else None
    if index is None:
        index = len(values) - 1 if values else len(next(iter(history.values()), [0])) - 1
    return {name: series[index] for name, series in history.items() if index < len(series)}


def halve_on_out_of_memory(attempt: Callable[[int], T], batch_size: int, *, multiple: int = 1, label: str = "") -> T:
    """``attempt(batch_size)``; when the accelerator runs out of memory, once more at half the batch size.

    The smaller batch stays a multiple of ``multiple`` (the replicas a batch is split across).
    Keras's session is cleared between the two attempts. ``label`` prefixes the line printed to
    stderr.

    Raises:
        OutOfMemory: the second attempt ran out of memory too, or the batch cannot be halved.
    """
    try:
        return attempt(batch_size)
    except Exception as error:
        if not accelerator.is_out_of_memory(error):
            raise
        if batch_size < 2 * multiple:
            raise OutOfMemory(batch_size, error) from None
        smaller = batch_size // 2 // multiple * multiple
        print(
            f"{label}out of memory at batch size {batch_size} ({type(error).__name__}); retrying once with "
            f"batch size {smaller}",
            file=sys.stderr,
        )
    keras.backend.clear_session()
    gc.collect()
    try:
        return attempt(smaller)
    except Exception as error:
        if accelerator.is_out_of_memory(error):
            raise OutOfMemory(smaller, error) from None
        raise


class _EpochReport(keras.callbacks.Callback):
    """Hands each epoch's plain metrics to the hook and keeps the best epoch's value for :class:`_BestWeights`."""

    def __init__(self, keys: dict[str, str], options: FitOptions) -> None:
        super().__init__()
        self.keys, self.options = keys, options
        self.stopped: Literal["hook"] | None = None
        self.improved = False
        self.best: float | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        plain = {name: float(logs[key]) for name, key in self.keys.items() if key in logs}
        self.improved = False
        value = plain.get(self.options.monitor) if self.options.monitor else None
        if value is not None and math.isfinite(value):
            better = self.best is None or (value > self.best if self.options.direction == "max" else value < self.best)
            if better:
                self.best, self.improved = value, True
        if self.options.on_epoch is not None and self.options.on_epoch(epoch, plain):
            self.stopped = "hook"
            self.model.stop_training = True


class _BestWeights(keras.callbacks.Callback):
    """Copies the weights at each improvement of the monitored metric; restores them when the fit ends."""

    def __init__(self, report: _EpochReport) -> None:
        super().__init__()
        self.report = report
        self.weights: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.report.improved:
            self.weights = self.model.get_weights()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.weights is not None:
            self.model.set_weights(self.weights)


__all__ = [
    "Direction",
    "EpochHook",
    "FitOptions",
    "FitOutcome",
    "OutOfMemory",
    "best_epoch",
    "best_index",
    "fit",
    "halve_on_out_of_memory",
]

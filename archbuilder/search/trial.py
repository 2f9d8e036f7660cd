"""Training one candidate with Keras: its data, the model compiled with its recipe, a short fit,
and the failures that only training reveals (NaN loss, out of memory) turned into statuses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.compile import build_model
from archbuilder.training import accelerator
from archbuilder.training.data import Dataset, fit_to_input, load_dataset, scale_pixels, split_validation
from archbuilder.training.pipeline import create_inputs, make_targets
from archbuilder.training.recipe import compile_model, head_outputs, label_encoding, metric_key


class TrialFailure(Exception):
    """A trial that cannot give a score: ``status`` is ``nan``, ``oom`` or ``error``."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class DataCache:
    """The search's dataset, loaded once per input shape and recipe split (``shapes`` is drawn at each size)."""

    spec: str | Dataset
    resize: bool = False
    _loaded: dict[Any, Dataset] = field(default_factory=dict)
    _prepared: dict[Any, Dataset] = field(default_factory=dict)

    def get(self, blueprint: Blueprint, recipe: TrainingRecipe) -> Dataset:
        """The dataset fitted to the candidate's input and classes, split and scaled as its recipe says (cached)."""
        height, width, channels = blueprint.input.shape
        shape = (height, width, channels)
        classes = min(output.classes for output in head_outputs(blueprint))
        key = (shape, classes, recipe.validation_split, tuple(recipe.pixel_range), recipe.seed)
        if key not in self._prepared:
            dataset = self._load(shape, classes, recipe.seed)
            dataset = fit_to_input(
                dataset, shape, classes, resize=self.resize, blueprint_name=f"candidate '{blueprint.name}'"
            )
            dataset = split_validation(dataset, recipe.validation_split, recipe.seed)
            self._prepared[key] = scale_pixels(dataset, recipe.pixel_range)
        return self._prepared[key]

    def _load(self, shape: tuple[int, int, int], classes: int, seed: int) -> Dataset:
        if isinstance(self.spec, Dataset):
            return self.spec
        key = (shape, classes, seed) if self.spec.startswith("shapes") else ()
        if key not in self._loaded:
            self._loaded[key] = load_dataset(
                self.spec, input_shape=shape, classes=classes, resize=self.resize, seed=seed
            )
        return self._loaded[key]


def build_candidate(blueprint: Blueprint, steps_per_epoch: int, *, jit_compile: bool | str = "auto") -> keras.Model:
    """The candidate's Keras model, compiled with its recipe."""
    outputs = head_outputs(blueprint)
    model = build_model(blueprint)
    if keras.config.dtype_policy().name == accelerator.MIXED:
        accelerator.keep_outputs_float32(model, [output.name for output in outputs])
    compile_model(model, blueprint.training or TrainingRecipe(), outputs, steps_per_epoch, jit_compile=jit_compile)
    return model


def steps_per_epoch(dataset: Dataset, batch_size: int) -> int:
    """Batches of ``batch_size`` in one epoch of the dataset's training split (at least 1)."""
    return max(1, math.ceil(len(dataset.train) / batch_size))


def fit_candidate(
    model: keras.Model,
    blueprint: Blueprint,
    dataset: Dataset,
    *,
    epochs: int,
    initial_epoch: int = 0,
    batch_size: int,
    seed: int,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 0,
) -> dict[str, list[float]]:
    """Fit for ``epochs`` (from ``initial_epoch``); the history under the recipe's plain metric names.

    Raises:
        TrialFailure: status ``nan`` when the loss becomes NaN (training stops at once).
    """
    recipe = blueprint.training or TrainingRecipe()
    outputs = head_outputs(blueprint)
    inputs = create_inputs(
        dataset.train,
        dataset.validation,
        batch_size=batch_size,
        outputs=outputs,
        encoding=label_encoding(recipe, outputs),
        seed=seed,
        workers=1,
    )
    history = model.fit(
        **inputs.fit_arguments,
        epochs=epochs,
        initial_epoch=initial_epoch,
        verbose=verbose,
        callbacks=[keras.callbacks.TerminateOnNaN(), *(callbacks or [])],
    )
    logged = {key: [float(v) for v in values] for key, values in history.history.items()}
    losses = logged.get("loss", [])
    if not losses or any(not math.isfinite(v) for v in losses):
        epoch = next((i for i, v in enumerate(losses) if not math.isfinite(v)), 0) + initial_epoch + 1
        raise TrialFailure("nan", f"the loss became NaN in epoch {epoch}; training stopped")
    names = ["loss"] + list(recipe.metrics)
    plain: dict[str, list[float]] = {}
    for name in names:
        for prefix in ("", "val_"):
            key = metric_key(prefix + name, outputs)
            if key in logged:
                plain[prefix + name] = logged[key]
    return plain


class BestWeights(keras.callbacks.Callback):
    """Keep the weights of the epoch with the best ``monitor`` and restore them when the fit ends.

    A trial is scored by its best epoch (:func:`best_epoch`), so the model it keeps must be that
    epoch's, not the last one's. Keras's ``EarlyStopping(restore_best_weights=True)`` restores
    only when it stops training early, hence this small callback. Weights are copied to host
    memory on each improvement (a search trains small networks).

    Args:
        monitor: the logged metric to follow (``val_accuracy``, ...); epochs without a finite value
            are skipped.
        direction: ``"max"`` when higher is better, else lower is.
    """

    def __init__(self, monitor: str, direction: str) -> None:
        super().__init__()
        self.monitor, self.direction = monitor, direction
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.weights: list[Any] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Copies the weights when ``monitor`` improves on the best so far."""
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        value = float(value)
        if self.best is None or (value > self.best if self.direction == "max" else value < self.best):
            self.best, self.best_epoch, self.weights = value, epoch, self.model.get_weights()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Restores the best epoch's weights (when any epoch had a finite ``monitor``)."""
        if self.weights is not None:
            self.model.set_weights(self.weights)


def evaluate_candidate(
    model: keras.Model, blueprint: Blueprint, dataset: Dataset, *, batch_size: int
) -> dict[str, float] | None:
    """The test split's metrics under the recipe's plain names (``None`` when the data has no test split)."""
    if dataset.test is None:
        return None
    recipe = blueprint.training or TrainingRecipe()
    outputs = head_outputs(blueprint)
    targets = make_targets(dataset.test.y, outputs, label_encoding(recipe, outputs))
    logged = model.evaluate(dataset.test.x, targets, batch_size=batch_size, verbose=0, return_dict=True)
    plain = {}
    for name in ["loss", *recipe.metrics]:
        key = metric_key(name, outputs)
        if key in logged:
            plain[name] = float(logged[key])
    return plain


def best_epoch(history: dict[str, list[float]], metric: str, direction: str) -> dict[str, float]:
    """The metrics of the epoch with the best ``metric`` (the last epoch when it was not logged)."""
    values = history.get(metric)
    if not values:
        index = len(next(iter(history.values()), [0])) - 1
    else:
        finite = [(v if math.isfinite(v) else (-math.inf if direction == "max" else math.inf)) for v in values]
        index = int(np.argmax(finite) if direction == "max" else np.argmin(finite))
    return {name: series[index] for name, series in history.items() if index < len(series)}


__all__ = [
    "BestWeights",
    "DataCache",
    "TrialFailure",
    "best_epoch",
    "build_candidate",
    "evaluate_candidate",
    "fit_candidate",
    "steps_per_epoch",
]

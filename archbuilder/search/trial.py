"""One candidate trained: its data, the model compiled with its recipe, a short fit through the fit engine
(:mod:`archbuilder.training.engine`), and the failures that only training reveals (a NaN loss) as statuses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import keras

from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.compile import build_model
from archbuilder.runtime import accelerator
from archbuilder.training.data import Dataset, fit_to_input, load_dataset, scale_pixels, split_validation
from archbuilder.training.engine import Direction, FitOptions, FitOutcome, fit
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
    monitor: str | None = None,
    direction: Direction = "max",
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 0,
) -> FitOutcome:
    """Fit for ``epochs`` (from ``initial_epoch``) through the fit engine; with a ``monitor``, the model
    ends with its best epoch's weights (a trial is scored by its best epoch, so the model it keeps
    must be that epoch's).

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
    options = FitOptions(
        epochs=epochs,
        initial_epoch=initial_epoch,
        metrics=tuple(recipe.metrics),
        monitor=monitor,
        direction=direction,
        restore_best=monitor is not None,
        callbacks=tuple(callbacks or ()),
        verbose=verbose,
    )
    outcome = fit(model, inputs, outputs, options)
    if outcome.stopped == "nan" or not outcome.history.get("loss"):
        epoch = (outcome.nan_epoch if outcome.nan_epoch is not None else initial_epoch) + 1
        raise TrialFailure("nan", f"the loss became NaN in epoch {epoch}; training stopped")
    return outcome


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


__all__ = [
    "DataCache",
    "TrialFailure",
    "build_candidate",
    "evaluate_candidate",
    "fit_candidate",
    "steps_per_epoch",
]

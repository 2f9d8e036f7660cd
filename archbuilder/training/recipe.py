"""The training recipe made concrete: Keras optimizer, learning-rate schedule, losses, metrics,
augmentation layers and the callbacks the recipe asks for.

Every builder here reads the blueprint's :class:`~archbuilder.blueprint.training.TrainingRecipe`
and returns stock Keras objects, so a test can assert exactly what was wired (optimizer class and
arguments, the learning rate at a given step, the callback and its factor).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, TypeAlias

import keras
from pydantic import ValidationError

from archbuilder.blueprint.errors import BlueprintError
from archbuilder.blueprint.io import problem_from_error
from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.training import Augmentation, CosineSchedule, StepSchedule, TrainingRecipe
from archbuilder.training.errors import RunError

LabelEncoding = Literal["sparse", "one_hot"]
LearningRate: TypeAlias = float | keras.optimizers.schedules.LearningRateSchedule


@dataclass(frozen=True)
class HeadOutput:
    """One output of the compiled model: the head first, then the auxiliary heads."""

    name: str
    activation: str
    classes: int
    loss_weight: float


# -- the recipe and its overrides ----------------------------------------------------------------


def effective_recipe(
    recipe: TrainingRecipe | None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int | None = None,
    data: str | None = None,
    init_weights: str | None = None,
    distribution: str | None = None,
) -> TrainingRecipe:
    """The blueprint's recipe (or the default one) with the command-line overrides applied and validated.

    Raises:
        BlueprintError: an override is out of range (``training.epochs: ...``).
    """
    values = (recipe or TrainingRecipe()).model_dump(mode="json", exclude_defaults=True)
    for key, value in (
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("seed", seed),
        ("data", data),
        ("init_weights", init_weights),
        ("distribution", distribution),
    ):
        if value is not None:
            values[key] = value
    if learning_rate is not None:
        values["optimizer"] = {**values.get("optimizer", {}), "learning_rate": learning_rate}
    try:
        return TrainingRecipe.model_validate(values)
    except ValidationError as error:
        problems = [problem_from_error(item, TrainingRecipe) for item in error.errors()]
        raise BlueprintError([replace(p, location=("training",) + p.location) for p in problems]) from None


def head_outputs(blueprint: Blueprint) -> list[HeadOutput]:
    """The model's outputs in order, with the loss weight of each (1 for the head).

    Raises:
        RunError: the blueprint has no head, so there is nothing to train against labels.
    """
    if blueprint.head is None:
        raise RunError(
            f"blueprint '{blueprint.name}' has no head: training needs a classifier. Add "
            "`head: {classes: N}` to the blueprint."
        )
    head = HeadOutput(blueprint.head.name, blueprint.head.activation, blueprint.head.classes, 1.0)
    return [head] + [HeadOutput(a.name, a.activation, a.classes, a.loss_weight) for a in blueprint.aux_heads]


def label_encoding(recipe: TrainingRecipe, outputs: list[HeadOutput]) -> LabelEncoding:
    """Integer labels where Keras's sparse losses do the job; one-hot for label smoothing and sigmoid heads."""
    if recipe.label_smoothing > 0 or any(output.activation == "sigmoid" for output in outputs):
        return "one_hot"
    return "sparse"


# -- optimizer and schedule ----------------------------------------------------------------------


def create_learning_rate(recipe: TrainingRecipe, steps_per_epoch: int) -> LearningRate:
    """A float (constant and plateau schedules) or a Keras schedule stepping with ``optimizer.iterations``."""
    peak, schedule = recipe.optimizer.learning_rate, recipe.schedule
    if isinstance(schedule, StepSchedule):
        return _step_schedule(schedule, peak, steps_per_epoch)
    if isinstance(schedule, CosineSchedule):
        return _cosine_schedule(schedule, peak, recipe.epochs, steps_per_epoch)
    return peak


def _step_schedule(schedule: StepSchedule, peak: float, steps_per_epoch: int) -> LearningRate:
    if schedule.step_epochs is not None:  # lr * factor ** floor(step / (step_epochs * steps_per_epoch))
        return keras.optimizers.schedules.ExponentialDecay(
            peak, schedule.step_epochs * steps_per_epoch, schedule.factor, staircase=True
        )
    # The update at iteration i uses the rate for step i and the first update of epoch e is at e * steps,
    # so the boundary "<= e * steps - 1" keeps epoch e - 1 at the old rate and starts epoch e at the new one.
    boundaries = [max(epoch * steps_per_epoch - 1, 0) for epoch in sorted(set(schedule.milestones or []))]
    values = [peak * schedule.factor**index for index in range(len(boundaries) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)


def _cosine_schedule(schedule: CosineSchedule, peak: float, epochs: int, steps_per_epoch: int) -> LearningRate:
    if schedule.min_learning_rate > peak:
        raise RunError(
            f"training.schedule.min_learning_rate ({schedule.min_learning_rate}) is above the learning "
            f"rate ({peak}); lower it, or raise the learning rate."
        )
    warmup_steps = round(schedule.warmup_epochs * steps_per_epoch)
    decay_steps = max(epochs * steps_per_epoch - warmup_steps, 1)
    alpha = schedule.min_learning_rate / peak
    if warmup_steps:
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps, alpha=alpha, warmup_target=peak, warmup_steps=warmup_steps
        )
    return keras.optimizers.schedules.CosineDecay(peak, decay_steps, alpha=alpha)


def create_optimizer(recipe: TrainingRecipe, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The recipe's Keras optimizer with its schedule; unset options keep Keras's defaults."""
    spec = recipe.optimizer
    common: dict[str, Any] = {"learning_rate": create_learning_rate(recipe, steps_per_epoch)}
    for key in ("weight_decay", "clipnorm", "epsilon", "rho"):
        if getattr(spec, key) is not None:
            common[key] = getattr(spec, key)
    if spec.type == "sgd":
        return keras.optimizers.SGD(momentum=spec.momentum, nesterov=spec.nesterov, **common)
    if spec.type == "rmsprop":
        return keras.optimizers.RMSprop(momentum=spec.momentum, **common)
    if spec.type == "adamw":
        return keras.optimizers.AdamW(**common)
    return keras.optimizers.Adam(**common)


# -- losses and metrics --------------------------------------------------------------------------


def create_loss(output: HeadOutput, recipe: TrainingRecipe, encoding: LabelEncoding) -> keras.losses.Loss:
    """Cross-entropy matching the head's activation (a linear head gives logits)."""
    if output.activation == "sigmoid":
        return keras.losses.BinaryCrossentropy(label_smoothing=recipe.label_smoothing)
    from_logits = output.activation == "linear"
    if encoding == "one_hot":
        return keras.losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=recipe.label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)


def create_metrics(recipe: TrainingRecipe, encoding: LabelEncoding) -> list[keras.metrics.Metric]:
    """The recipe's metrics for the head (``accuracy``, ``top5``), named as the recipe names them."""
    sparse = encoding == "sparse"
    metrics: list[keras.metrics.Metric] = []
    for name in recipe.metrics:
        if name == "accuracy":
            metrics.append(
                keras.metrics.SparseCategoricalAccuracy(name="accuracy")
                if sparse
                else keras.metrics.CategoricalAccuracy(name="accuracy")
            )
        else:
            metrics.append(
                keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5")
                if sparse
                else keras.metrics.TopKCategoricalAccuracy(k=5, name="top5")
            )
    return metrics


def compile_model(
    model: keras.Model,
    recipe: TrainingRecipe,
    outputs: list[HeadOutput],
    steps_per_epoch: int,
    *,
    jit_compile: bool | str = "auto",
    optimizer: keras.optimizers.Optimizer | None = None,
) -> None:
    """``model.compile`` with the recipe's optimizer, a loss per output (aux heads weighted) and the head's metrics.

    Pass ``optimizer`` to keep a restored optimizer (and its state) when resuming.
    """
    encoding = label_encoding(recipe, outputs)
    model.compile(
        optimizer=optimizer if optimizer is not None else create_optimizer(recipe, steps_per_epoch),
        loss={output.name: create_loss(output, recipe, encoding) for output in outputs},
        loss_weights={output.name: output.loss_weight for output in outputs},
        metrics={outputs[0].name: create_metrics(recipe, encoding)},
        jit_compile=jit_compile,
    )


def metric_key(name: str, outputs: list[HeadOutput]) -> str:
    """The key Keras logs a recipe metric under: ``val_accuracy`` is ``val_predictions_accuracy`` with aux heads."""
    if len(outputs) == 1:
        return name
    prefix, base = ("val_", name[4:]) if name.startswith("val_") else ("", name)
    return f"{prefix}{outputs[0].name}_{base}" if base in ("accuracy", "top5") else name


# -- augmentation and callbacks ------------------------------------------------------------------


def create_augmentation(
    augmentation: Augmentation | None,
    input_shape: tuple[int, int, int],
    *,
    pixel_range: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
) -> keras.Sequential | None:
    """The recipe's augmentation as Keras preprocessing layers (``None`` when it asks for none)."""
    if augmentation is None:
        return None
    height, width, _ = input_shape
    layers: list[keras.layers.Layer] = []
    if augmentation.crop_padding:
        layers += [
            keras.layers.ZeroPadding2D(augmentation.crop_padding, name="pad"),
            keras.layers.RandomCrop(height, width, seed=seed, name="crop"),
        ]
    if augmentation.flip:
        layers.append(keras.layers.RandomFlip(augmentation.flip, seed=seed + 1, name="flip"))
    if augmentation.translation:
        layers.append(
            keras.layers.RandomTranslation(
                augmentation.translation, augmentation.translation, seed=seed + 2, name="translation"
            )
        )
    if augmentation.rotation:
        layers.append(keras.layers.RandomRotation(augmentation.rotation, seed=seed + 3, name="rotation"))
    if augmentation.zoom:
        layers.append(keras.layers.RandomZoom(augmentation.zoom, seed=seed + 4, name="zoom"))
    if augmentation.contrast:
        layers.append(
            keras.layers.RandomContrast(augmentation.contrast, value_range=pixel_range, seed=seed + 5, name="contrast")
        )
    # Built on its input here, so worker threads never race to build it.
    return keras.Sequential([keras.Input(input_shape), *layers], name="augmentation") if layers else None


def create_recipe_callbacks(
    recipe: TrainingRecipe, outputs: list[HeadOutput], *, has_validation: bool
) -> list[keras.callbacks.Callback]:
    """ReduceLROnPlateau for the plateau schedule and EarlyStopping, watching the keys Keras logs.

    Raises:
        RunError: a callback watches a validation metric but there is no validation data.
    """
    callbacks: list[keras.callbacks.Callback] = []
    schedule = recipe.schedule
    if schedule.type == "plateau":
        monitor = _monitor("training.schedule.monitor", schedule.monitor, outputs, has_validation)
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                factor=schedule.factor,
                patience=schedule.patience,
                min_lr=schedule.min_learning_rate,
                verbose=1,
            )
        )
    if recipe.early_stopping is not None:
        stopping = recipe.early_stopping
        monitor = _monitor("training.early_stopping.monitor", stopping.monitor, outputs, has_validation)
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                patience=stopping.patience,
                restore_best_weights=stopping.restore_best_weights,
                verbose=1,
            )
        )
    return callbacks


def _monitor(field: str, name: str, outputs: list[HeadOutput], has_validation: bool) -> str:
    if name.startswith("val_") and not has_validation:
        raise RunError(
            f"{field} is '{name}' but there is no validation data (validation_split is 0 and the data "
            f"has no validation split). Set training.validation_split above 0, or monitor '{name[4:]}'."
        )
    return metric_key(name, outputs)


__all__ = [
    "HeadOutput",
    "compile_model",
    "create_augmentation",
    "create_learning_rate",
    "create_loss",
    "create_metrics",
    "create_optimizer",
    "create_recipe_callbacks",
    "effective_recipe",
    "head_outputs",
    "label_encoding",
    "metric_key",
]

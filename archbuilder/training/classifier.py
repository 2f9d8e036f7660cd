"""What a saved model says about its run: the classifier in a ``.keras`` file, and how it was trained.

A model saved by ``archbuilder train`` records how it was trained (data, resize, pixel range, class
names), so evaluating or predicting with it needs none of the run's options again, wherever the file
is; other models get the same from the files beside them (see :func:`run_context`). Any ``.keras``
classifier works without them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras

from archbuilder.blueprint.errors import BlueprintError, printable
from archbuilder.blueprint.io import load_blueprint
from archbuilder.compile.model import load_model_file
from archbuilder.training.errors import DataError
from archbuilder.training.model_files import MODEL_CONTEXT, read_model_context
from archbuilder.training.run_folder import BLUEPRINT, CHECKPOINT_STATE, CLASSES, METRICS, read_json_file


@dataclass(frozen=True)
class RunContext:
    """How a model was trained, as far as its inputs and outputs go (see :func:`run_context`)."""

    pixel_range: tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    data: str | None = None
    resize: bool = False
    class_names: tuple[str, ...] | None = None
    epoch: int | None = None  # the epoch (counted from 1) whose weights the file holds, when it says


def load_classifier(path: str | os.PathLike[str]) -> tuple[keras.Model, RunContext]:
    """The model (its first output, the head, when it has auxiliary heads) and its run context."""
    path = Path(path)
    model = load_model_file(path, DataError)
    if len(model.outputs) > 1:
        model = keras.Model(model.inputs, model.outputs[0], name=model.name)
    return model, run_context(path)


def fixed_input_shape(model: keras.Model, path: str | os.PathLike[str]) -> tuple[int, int, int]:
    """The ``(height, width, channels)`` a classifier takes.

    Raises:
        DataError: the model takes images of any size (``convert fully-convolutional`` makes such models: they
            map an image to a grid of class scores, not to one prediction).
    """
    dimensions = tuple(model.input_shape[1:])
    if len(dimensions) != 3 or any(d is None for d in dimensions):
        raise DataError(
            f"{printable(os.fspath(path))}: takes images of any size (input {dimensions}; a fully-convolutional "
            "model gives a grid of class scores, not one class per image), so evaluate and predict cannot use it: "
            "give them the model it was converted from, or call its predict in Python on images of your size."
        )
    height, width, channels = (int(d) for d in dimensions)
    return height, width, channels


def run_context(path: Path) -> RunContext:
    """How the model in ``path`` was trained, as far as its inputs and outputs go.

    A ``.keras`` file written by ``archbuilder train`` records it (data, resize, pixel range, seed,
    class names, epoch; :data:`~archbuilder.training.model_files.MODEL_CONTEXT`), wherever it is copied.
    Other files (an older version's run, a search's ``best.keras``, a model from ``archbuilder build``)
    get it from the files beside them (:func:`_context_beside`).

    Raises:
        DataError: a file that says how the model was trained is there but cannot be read (one line naming it).
    """
    recorded = read_model_context(path, DataError)
    if recorded is None:
        return _context_beside(path.parent, path.stem)
    try:
        low, high = (float(value) for value in recorded.get("pixel_range", (0.0, 1.0)))
        names = recorded.get("class_names")
        data = recorded.get("data")
        epoch = recorded.get("epoch")
        return RunContext(
            pixel_range=(low, high),
            seed=int(recorded.get("seed", 0)),
            data=None if data is None else str(data),
            resize=bool(recorded.get("resize", False)),
            class_names=None if names is None else tuple(str(name) for name in names),
            epoch=None if epoch is None else int(epoch),
        )
    except (TypeError, ValueError):
        raise DataError(
            f"{path}: damaged (its {MODEL_CONTEXT} entry, how the model was trained, holds values of the "
            "wrong kind). Use the run's own copy of the file."
        ) from None


def _context_beside(folder: Path, stem: str) -> RunContext:
    """What the files beside a model say: the blueprint's recipe (pixel range, seed, data) from
    ``NAME.blueprint.yaml`` (written by ``archbuilder build``), ``NAME.yaml`` (a search's ``best.yaml``) or
    a run folder's ``blueprint.yaml``; the run's data and resize from its ``checkpoint.json`` (or, once
    that is deleted, its ``metrics.json``); the class names from ``classes.json``."""
    context: dict[str, Any] = {}
    beside = [folder / name for name in (f"{stem}.blueprint.yaml", f"{stem}.yaml", BLUEPRINT)]
    source = next((path for path in beside if path.is_file()), None)
    if source is not None:
        try:
            training = load_blueprint(source).training
        except BlueprintError as error:
            raise DataError(
                f"{source}: cannot be read as the model's blueprint, which says which pixel range the "
                f"model takes ({error.problems[0] if error.problems else error}). Restore it, or move it "
                "away to feed the model pixels in [0, 1]."
            ) from None
        if training is not None:
            context.update(pixel_range=tuple(training.pixel_range), seed=training.seed, data=training.data)
    # The run's settings: data and resize as it was trained.
    state = read_json_file(
        folder / CHECKPOINT_STATE,
        DataError,
        "Restore it, or delete it if the run is finished "
        "(evaluate then needs --data, and --resize if the run resized).",
    )
    if state is None:
        state = read_json_file(
            folder / METRICS,
            DataError,
            "Restore it, or delete it (evaluate then needs --data, and --resize if the run resized).",
        )
    if isinstance(state, dict):
        settings = state.get("settings")
        if not isinstance(settings, dict):
            settings = {}
        context.update(data=settings.get("data", context.get("data")), resize=bool(settings.get("resize")))
    names = read_json_file(
        folder / CLASSES, DataError, "Restore it, or delete it to print class numbers instead of names."
    )
    if names is not None:
        if not isinstance(names, list):
            raise DataError(
                f"{folder / CLASSES}: damaged (expected a list of class names). Restore it, or "
                "delete it to print class numbers instead of names."
            )
        context["class_names"] = tuple(str(name) for name in names)
    return RunContext(**context)


def classifier_activation(model: keras.Model) -> str:
    """The activation of the model's first output (``"softmax"``, or ``"linear"`` for logits)."""
    history = getattr(model.outputs[0], "_keras_history", None)
    layer = history[0] if history else model.layers[-1]
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "linear") if activation is not None else "linear"


def class_names(context: RunContext, classes: int) -> list[str]:
    """The names of the model's classes (from classes.json), their numbers where it has none."""
    names = context.class_names or ()
    return [names[i] if i < len(names) else str(i) for i in range(classes)]


__all__ = ["RunContext", "class_names", "fixed_input_shape", "load_classifier", "run_context"]

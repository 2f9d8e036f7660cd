"""The twins and their blueprints: which zoo entries are twins of keras.applications networks (by
either name), and the blueprint a pretrained model is built from (a new ``classes``, a new input
size, the application's ``preprocess_input`` first for training).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archbuilder.analysis import analyze
from archbuilder.blueprint.applications import APPLICATIONS, PRETRAINED
from archbuilder.blueprint.layers import ImagenetPreprocessing
from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.compile.builders import BuildError
from archbuilder.pretrained.weights import _check_weights_argument
from archbuilder.zoo import load_zoo_blueprint

#: Zoo name -> keras.applications name, for the entries whose weights load by name.
TWINS: dict[str, str] = {application.zoo_twin: name for name, application in APPLICATIONS.items()}
#: What keras.applications' pretrained inputs are scaled to before their preprocess_input.
PIXEL_RANGE = (0.0, 255.0)


def twin_names() -> str:
    """The zoo names of the twins, comma-separated, for messages."""
    return ", ".join(TWINS)


def application_of(name: str) -> tuple[str, str]:
    """``(zoo name, keras.applications name)`` of a twin, from either name (``mobilenet``, ``MobileNet``).

    Args:
        name: the zoo name or the keras.applications name of a twin, in any case, with or without
            ``.yaml`` / ``.yml``. A path (with a separator) is refused.

    Returns:
        The zoo name and the keras.applications name, e.g. ``("mobilenet", "MobileNet")``.

    Raises:
        BuildError: ``name`` is not one of the twins (the message lists them).
    """
    if any(separator in str(name) for separator in ("/", os.sep)):
        raise BuildError(
            f"pretrained weights load into zoo entries, named: pass the zoo name (one of {twin_names()}), "
            f"not a file. Received: {name}"
        )
    stem = str(name)
    for suffix in (".yaml", ".yml"):
        stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
    by_lower = {zoo.lower(): zoo for zoo in TWINS} | {app.lower(): zoo for zoo, app in TWINS.items()}
    zoo = by_lower.get(stem.lower())
    if zoo is None:
        raise BuildError(
            f"'{name}' has no pretrained weights: weights load into the zoo entries that are twins of "
            f"keras.applications networks only: {twin_names()}. To start another network from a "
            "model you trained, pass --init-weights MODEL.keras to `archbuilder train` (weights by layer name)."
        )
    return zoo, TWINS[zoo]


def pretrained_blueprint(
    name: str,
    *,
    classes: int | None = None,
    input_shape: Sequence[int] | None = None,
    preprocessing: bool = False,
    pretrained: bool = True,
) -> Blueprint:
    """The zoo entry ``name``, resolved, with another ``classes`` and ``input_shape`` where given.

    ``preprocessing`` puts the application's ``preprocess_input`` first in the model (it then takes
    RGB pixels in [0, 255], and its training recipe scales the data to that range). ``pretrained``
    (weights will be loaded): ``name`` must be a twin, the input needs 3 channels and a side of at
    least keras.applications' smallest.

    Args:
        name: a zoo name; with ``pretrained``, a twin's zoo or keras.applications name (see
            :func:`application_of`).
        classes: the head's new number of classes (a positive integer); ``None`` keeps the zoo's.
        input_shape: the new ``(height, width, channels)``; ``None`` keeps the zoo's.
        preprocessing: put the application's ``preprocess_input`` first (twins only) and set the
            recipe's ``pixel_range`` to [0, 255].
        pretrained: weights will be loaded into the model: ``name`` must be a twin, and the input
            needs 3 channels and keras.applications' smallest side.

    Returns:
        The resolved :class:`Blueprint` (analyzed again when ``classes`` or ``input_shape`` changed it).

    Raises:
        BuildError: not a twin (with ``pretrained`` or ``preprocessing``), or a ``classes`` or
            ``input_shape`` that cannot be.
        BlueprintError: an unknown zoo name, or a network that does not fit the input.
    """
    zoo = application_of(name)[0] if pretrained else name
    if preprocessing and not pretrained:
        try:
            zoo = application_of(name)[0]
        except BuildError:
            raise BuildError(
                f"preprocessing puts a keras.applications network's preprocess_input first; '{name}' is not a "
                f"twin of one (twins: {twin_names()}). Leave preprocessing off for other zoo entries."
            ) from None
    blueprint = load_zoo_blueprint(zoo).resolve()
    updates: dict[str, Any] = {}
    if input_shape is not None:
        shape = _check_input_shape(zoo, input_shape, pretrained)
        if shape != tuple(blueprint.input.shape):
            updates["input"] = blueprint.input.model_copy(update={"shape": shape})
    if classes is not None:
        if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 1:
            raise BuildError(f"classes must be a positive integer. Received: {classes!r}")
        if blueprint.head is None:
            raise BuildError(f"'{zoo}' has no classifier head to give {classes} classes")
        updates["head"] = blueprint.head.model_copy(update={"classes": int(classes)})
    blueprint = analyze(blueprint.model_copy(update=updates)).blueprint if updates else blueprint
    if preprocessing and zoo in TWINS:
        return training_blueprint(blueprint, PRETRAINED)
    return blueprint


def training_blueprint(
    blueprint: Blueprint, weights: str | os.PathLike[str], init_weights: str | os.PathLike[str] | None = None
) -> Blueprint:
    """The blueprint ``archbuilder train --weights`` trains: a twin (by its name), with its
    preprocessing in the model and its recipe feeding it pixels in [0, 255].

    Args:
        blueprint: the blueprint to train, named as a twin (its ``name`` is looked up with
            :func:`application_of`).
        weights: ``"imagenet"`` or the path of a weights file or ``.keras`` model of the application.
            Only checked here (loaded later with :func:`load_pretrained`).
        init_weights: the ``--init-weights`` of the run; given (here or in the recipe), it conflicts
            with ``weights``.

    Returns:
        The resolved blueprint with an ``imagenet_preprocessing`` layer first in the stem (unless it
        already starts with one, or the application has no preprocessing) and ``pixel_range`` [0, 255].

    Raises:
        BuildError: not a twin, both ``weights`` and ``init_weights``, or a weights file that is not there.
    """
    _check_weights_argument(weights)
    zoo, application = application_of(blueprint.name)
    recipe_init = blueprint.training.init_weights if blueprint.training else None
    if init_weights is not None or recipe_init:
        raise BuildError(
            f"weights {weights} and init_weights {init_weights or recipe_init} both say where {zoo}'s "
            "weights come from; pass one of them"
        )
    if str(weights) != PRETRAINED and not Path(weights).is_file():
        raise BuildError(
            f"weights: {weights} is not a file. Pass 'imagenet', or the path of a keras.applications "
            f"weights file (.h5, .weights.h5) or a .keras model of {application}"
        )
    resolved = blueprint.resolve()
    _check_input_shape(zoo, resolved.input.shape, pretrained=True)
    updates: dict[str, Any] = {
        "training": (resolved.training or TrainingRecipe()).model_copy(update={"pixel_range": PIXEL_RANGE})
    }
    mode = APPLICATIONS[application].preprocessing
    if mode and not (resolved.stem and isinstance(resolved.stem[0], ImagenetPreprocessing)):
        updates["stem"] = [ImagenetPreprocessing(mode=mode), *resolved.stem]
    return analyze(resolved.model_copy(update=updates)).blueprint


def _check_input_shape(zoo: str, input_shape: Sequence[int], pretrained: bool) -> tuple[int, int, int]:
    try:
        shape = tuple(int(d) for d in input_shape)
        valid = len(shape) == 3 and all(d >= 1 and d == float(given) for d, given in zip(shape, input_shape))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise BuildError(
            f"input_shape must be (height, width, channels), 3 positive integers. Received: {input_shape!r}"
        )
    if pretrained:
        smallest = APPLICATIONS[TWINS[zoo]].min_size
        if shape[2] != 3:
            raise BuildError(
                f"input_shape {shape}: pretrained {zoo} takes 3 channels (RGB; its first convolution's "
                "weights are for 3). Convert the images (archbuilder train --resize does) and keep 3."
            )
        if min(shape[:2]) < smallest:
            raise BuildError(
                f"input_shape {shape}: keras.applications.{TWINS[zoo]} takes inputs of at least "
                f"{smallest}x{smallest}. Resize the images to {smallest}x{smallest} or more."
            )
    height, width, channels = shape  # three (valid)
    return height, width, channels


__all__ = ["PIXEL_RANGE", "TWINS", "application_of", "pretrained_blueprint", "training_blueprint", "twin_names"]

"""Pretrained weights into a model: ``create_model``, the in-order copy from the source network (the
body told apart from the top), the EfficientNets' ImageNet ``Rescaling`` folded into their
``Normalization``, and the report of what was loaded and what was not.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from archbuilder.blueprint.applications import PRETRAINED
from archbuilder.blueprint.model import Blueprint
from archbuilder.compile import build_model
from archbuilder.compile.builders import BuildError
from archbuilder.pretrained.twins import application_of, pretrained_blueprint
from archbuilder.pretrained.weights import _check_weights_argument, _from_file, _imagenet
from archbuilder.zoo import load_zoo_blueprint

# -- the report ----------------------------------------------------------------------------------


@dataclass
class PretrainedReport:
    """What :func:`load_pretrained` did: layers with weights loaded in order, and those left fresh."""

    source: str
    application: str
    loaded: list[tuple[str, str]] = field(default_factory=list)  # (model's layer, source's layer)
    tensors: int = 0
    values: int = 0
    new: list[tuple[str, str]] = field(default_factory=list)  # (model's layer, why it keeps fresh weights)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data: the loaded layers' names and the new layers with their reasons."""
        return {
            "source": self.source,
            "application": self.application,
            "loaded": [name for name, _ in self.loaded],
            "tensors": self.tensors,
            "values": self.values,
            "new": [{"layer": name, "reason": reason} for name, reason in self.new],
            "notes": self.notes,
        }

    def format(self) -> str:
        """The report as text: one summary line, then a line per new layer and per note."""
        total = len(self.loaded) + len(self.new)
        lines = [
            f"weights {self.source} (keras.applications.{self.application}): loaded {len(self.loaded)} of "
            f"{total} layers with weights ({self.tensors} tensors, {self.values:,} values), {len(self.new)} new"
        ]
        lines += [f"  new (fresh weights): {name}: {reason}" for name, reason in self.new]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


# -- the model with its weights ------------------------------------------------------------------


def create_model(
    name: str,
    weights: str | os.PathLike[str] | None = None,
    classes: int | None = None,
    input_shape: Sequence[int] | None = None,
    *,
    preprocessing: bool = False,
    verbose: bool = True,
) -> keras.Model:
    """The zoo network ``name`` as a ``keras.Model``, with pretrained ``weights`` (timm's ``create_model``).

    The report of what was loaded is printed (``verbose``); :func:`pretrained_model` returns it.

    Args:
        name: a zoo name (see :func:`archbuilder.zoo.list_blueprints`). With ``weights``, one of
            the twins of keras.applications networks (:data:`TWINS`), by its zoo name or its
            keras.applications name (``"mobilenet"`` or ``"MobileNet"``).
        weights: ``None`` (fresh initialization; any zoo name), ``"imagenet"`` (keras.applications
            downloads them once into ``~/.keras/models``), or the path of a keras.applications weights
            file (``.h5`` / ``.weights.h5``, with or without its top) or of a ``.keras`` model of the
            same application.
        classes: a new number of classes: the model gets a new classifier (fresh weights; the body
            keeps the pretrained ones). ``None`` keeps the zoo entry's (1000 for the twins).
        input_shape: another ``(height, width, channels)``; with ``weights``, 3 channels and at least
            keras.applications' smallest side. ``None`` keeps the zoo entry's.
        preprocessing: put the application's ``preprocess_input`` in the model (it then takes RGB
            pixels in [0, 255]); without it (default) the model is the keras.applications one, fed
            ``keras.applications.<module>.preprocess_input(x)``. Twins only (another name is refused).
        verbose: print the report of what was loaded (with ``weights``).

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        BuildError: not a twin, weights that cannot be had (offline: the line names the file to
            fetch and where to put it), a file of another network, or a bad ``classes``/``input_shape``.
        BlueprintError: without ``weights``, an unknown zoo name; or a network that does not fit
            ``input_shape``.
    """
    return pretrained_model(name, weights, classes, input_shape, preprocessing=preprocessing, verbose=verbose)[0]


def pretrained_model(
    name: str,
    weights: str | os.PathLike[str] | None = None,
    classes: int | None = None,
    input_shape: Sequence[int] | None = None,
    *,
    preprocessing: bool = False,
    verbose: bool = True,
) -> tuple[keras.Model, PretrainedReport | None]:
    """:func:`create_model`, and its report (``None`` without ``weights``).

    Takes the arguments of :func:`create_model`, and raises what it raises.

    Args:
        name: the zoo name (with ``weights``: a keras.applications twin, or its application name).
        weights: ``None``, ``"imagenet"``, or a keras.applications weights file or ``.keras`` model.
        classes: a new number of classes (a fresh classifier), or ``None`` to keep the network's.
        input_shape: a new ``(height, width, channels)``, or ``None`` to keep the network's.
        preprocessing: put the application's input preprocessing into the model.
        verbose: print what was loaded.

    Returns:
        The model and the :class:`PretrainedReport` of the loaded weights (``None`` without ``weights``).
    """
    if weights is not None:
        _check_weights_argument(weights)
    blueprint = pretrained_blueprint(
        name, classes=classes, input_shape=input_shape, preprocessing=preprocessing, pretrained=weights is not None
    )
    model = build_model(blueprint)
    if weights is None:
        return model, None
    return model, load_pretrained(model, blueprint, weights, verbose=verbose)


def load_pretrained(
    model: keras.Model, blueprint: Blueprint, weights: str | os.PathLike[str], *, verbose: bool = True
) -> PretrainedReport:
    """Load ``weights`` into ``model``, built from ``blueprint`` (a twin, as :func:`pretrained_blueprint` gives).

    The body's layers must all load; the top loads when the weights have one and it fits (same
    classes, and for VGG the same input size), else it keeps its fresh weights and the report says why.

    Args:
        model: the model built from ``blueprint`` (:func:`archbuilder.compile.build_model`); its
            weights are set in place.
        blueprint: the twin's blueprint the model was built from (named as the twin).
        weights: ``"imagenet"`` or the path of a keras.applications weights file (``.h5``,
            ``.weights.h5``) or of a ``.keras`` model of the same application.
        verbose: print the report.

    Returns:
        The :class:`PretrainedReport`: the layers loaded, those left fresh and why, and notes.

    Raises:
        BuildError: the weights cannot be had, or are not this application's.
    """
    _check_weights_argument(weights)
    zoo, application = application_of(blueprint.name)
    resolved = blueprint.resolve()
    native = load_zoo_blueprint(zoo).resolve()
    native_shape = tuple(native.input.shape)
    top_layers = len(resolved.head.fc) + 1 if resolved.head is not None else 0
    classes = resolved.head.classes if resolved.head is not None else None
    reason = _top_reason(resolved, native, classes)
    if str(weights) == PRETRAINED:
        source, imagenet = _imagenet(application, native_shape, include_top=reason is None), True
        label = PRETRAINED
    else:
        path = Path(weights)
        source, imagenet, unfit = _from_file(application, path, native_shape)
        reason = reason or unfit
        label = str(path)
    try:
        report = _transfer(model, source, application, label, top_layers, reason, classes)
        folded = _fold_imagenet_rescaling(model, source, report, imagenet=imagenet)
        if not folded and application.startswith("EfficientNet") and Path(label).suffix in (".h5", ".hdf5"):
            report.notes.append(
                "keras.applications adds a per-channel Rescaling after the Normalization with "
                "weights='imagenet' only; a file of ImageNet weights not recognized as Keras's own "
                "predicts without it, as keras.applications does with that file"
            )
    finally:
        del source
    if verbose:
        print(report.format())
    return report


def _top_reason(resolved: Blueprint, native: Blueprint, classes: int | None) -> str | None:
    """Why the top cannot take the weights' top, known before loading them; ``None`` when it can."""
    if resolved.head is None or native.head is None:
        return None
    if classes != native.head.classes:
        return f"{classes} classes instead of the weights' {native.head.classes}"
    if resolved.head.pool == "flatten" and tuple(resolved.input.shape) != tuple(native.input.shape):
        size = "x".join(str(d) for d in native.input.shape)
        return (
            f"input {'x'.join(str(d) for d in resolved.input.shape)} instead of {size}: the FC layers after "
            "the Flatten take another size"
        )
    return None


# -- the copy, in order --------------------------------------------------------------------------


def _weighted(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if layer.weights]


def _shapes(layer: keras.layers.Layer) -> list[tuple[int, ...]]:
    return [tuple(int(d) for d in w.shape) for w in layer.weights]


def _transfer(
    model: keras.Model,
    source: keras.Model,
    application: str,
    label: str,
    top_layers: int,
    reason: str | None,
    classes: int | None,
) -> PretrainedReport:
    """Copy the source's weights in order (the zoo test's transfer), layer by layer; report it."""
    ours, theirs = _weighted(model), _weighted(source)
    body = len(ours) - top_layers
    if len(theirs) not in (body, len(ours)):
        raise BuildError(
            f"weights: {label} holds {len(theirs)} layers with weights; keras.applications.{application} "
            f"has {body} without its top and {len(ours)} with it. Pass the weights of {application}"
        )
    report = PretrainedReport(label, application)
    pairs = list(zip(ours, theirs))
    for index, (mine, other) in enumerate(pairs[:body]):
        if _shapes(mine) != _shapes(other):
            raise BuildError(
                f"weights: {label} is not {application}'s: its layer {index} with weights ('{other.name}') "
                f"has shapes {_shapes(other)} where {application}'s ('{mine.name}' here) has {_shapes(mine)}"
            )
    if len(theirs) == body:
        reason = reason or "the weights have no top (saved with include_top=False)"
    elif reason is None:
        for mine, other in pairs[body:]:
            if _shapes(mine) != _shapes(other):
                reason = f"the weights' top has shapes {_shapes(other)} at '{other.name}', this model {_shapes(mine)}"
                break
    loading = pairs[:body] if reason is not None else pairs
    for mine, other in loading:
        values = other.get_weights()
        mine.set_weights(values)
        report.loaded.append((mine.name, other.name))
        report.tensors += len(values)
        report.values += sum(int(np.prod(v.shape)) for v in values)
    if reason is not None:
        report.new = [(layer.name, reason) for layer in ours[body:]]
    return report


def _fold_imagenet_rescaling(
    model: keras.Model, source: keras.Model, report: PretrainedReport, *, imagenet: bool
) -> bool:
    """Fold the per-channel Rescaling keras.applications puts after an EfficientNet's Normalization
    with ImageNet weights into the model's Normalization (its variance); whether there was one.

    The source has that layer when keras.applications built it with ``weights="imagenet"`` (or it
    was saved so); a source built to read Keras's ImageNet file by path (``imagenet``) has not,
    and gets the Rescaling Keras would have added, from Keras's own constants.
    """
    normalizations = [layer for layer in _weighted(source) if isinstance(layer, keras.layers.Normalization)]
    for layer in source.layers:
        before = (
            getattr(getattr(layer.input, "_keras_history", None), "operation", None)
            if isinstance(layer, keras.layers.Rescaling) and np.ndim(layer.scale) > 0
            else None
        )
        if isinstance(before, keras.layers.Normalization):
            return _fold(model, source, before, np.asarray(layer.scale, dtype="float64"), report)
    if imagenet and normalizations:
        from keras.src.applications.efficientnet import IMAGENET_STDDEV_RGB

        scale = 1.0 / np.sqrt(np.asarray(IMAGENET_STDDEV_RGB, dtype="float64"))
        return _fold(model, source, normalizations[0], scale, report)
    return False


def _fold(
    model: keras.Model,
    source: keras.Model,
    normalization: keras.layers.Layer,
    scale: np.ndarray,
    report: PretrainedReport,
) -> bool:
    """Scale the output of the model's Normalization matching the source's ``normalization`` by ``scale``."""
    target = _weighted(model)[_weighted(source).index(normalization)]
    values = target.get_weights()
    index = next(i for i, w in enumerate(target.weights) if w.name.endswith("variance"))
    variance = np.asarray(values[index], dtype="float64")
    values[index] = (variance / scale.reshape(variance.shape) ** 2).astype(values[index].dtype)
    target.set_weights(values)
    report.notes.append(
        f"keras.applications.{report.application}(weights='imagenet') rescales per channel after its "
        f"Normalization; that Rescaling is folded into '{target.name}''s variance"
    )
    return True


__all__ = ["PretrainedReport", "create_model", "load_pretrained", "pretrained_model"]

"""Zoo entries with pretrained weights: ``create_model("mobilenet", weights="imagenet", classes=10)``.

The 17 zoo entries listed in :data:`archbuilder.blueprint.applications.APPLICATIONS` are twins of
``keras.applications`` networks: the same layers with weights, in the same order, with the same
shapes (tests/zoo/test_keras_applications.py loads Keras's weights in order and checks the
predictions agree). This module reuses that verified transfer instead of inventing another one:

- the weights come from ``keras.applications.<Name>`` itself: ``weights="imagenet"`` goes through
  its own download and cache (``~/.keras/models``), a file through its own ``load_weights``
  (``.h5`` as keras.applications downloads them, ``.weights.h5`` as ``save_weights`` writes
  them), or a ``.keras`` model of the same application (archbuilder's or Keras's);
- they are copied in order, layer with weights by layer with weights, as the zoo test does, but one
  layer at a time, so that the body (what ``include_top=False`` keeps, whose convolutional weights
  fit any input size) is told apart from the top (the classifier, and VGG's FC layers) and the
  report says what was loaded and what was not, like ``--init-weights``
  (:class:`archbuilder.training.transfer.TransferReport`) does for weights matched by name;
- the blueprint is the zoo's, resolved, with a new ``classes`` (the top then keeps its fresh
  initialization), a new input size (allowed from keras.applications' smallest side up, with 3
  channels; VGG's FC layers after the Flatten depend on it, so its top is then replaced too) and,
  for training, the application's ``preprocess_input`` as the model's first layer (the
  ``imagenet_preprocessing`` layer a ``backbone:`` blueprint uses).

One difference is Keras's own: with ``weights="imagenet"`` only, keras.applications' EfficientNets
add a per-channel ``Rescaling`` after their ``Normalization`` (a blueprint cannot express it, and
it holds no weights). Loading ImageNet weights folds it into the ``Normalization``'s variance, so
the model predicts as ``keras.applications.EfficientNetB0(weights="imagenet")`` does; a weights file
passed by path is recognized as the ImageNet file by its hash and treated the same way.

Errors are :class:`archbuilder.compile.builders.BuildError` (an ``ArchbuilderError``: one line).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from archbuilder.analysis import analyze
from archbuilder.blueprint.applications import APPLICATIONS, PRETRAINED
from archbuilder.blueprint.layers import ImagenetPreprocessing
from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.compile import build_model
from archbuilder.compile.builders import BuildError
from archbuilder.zoo import load_zoo_blueprint

#: Zoo name -> keras.applications name, for the entries whose weights load by name.
TWINS: dict[str, str] = {application.zoo_twin: name for name, application in APPLICATIONS.items()}
#: The file suffixes a weights path may have.
WEIGHTS_SUFFIXES = (".h5", ".hdf5", ".keras")
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


# -- the blueprint -------------------------------------------------------------------------------


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


# -- the weights ---------------------------------------------------------------------------------


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


def _check_weights_argument(weights: Any) -> None:
    if not isinstance(weights, (str, os.PathLike)) or not str(weights):
        raise BuildError(
            f"weights must be 'imagenet' or the path of a keras.applications weights file (.h5, "
            f".weights.h5) or .keras model. Received: {weights!r}"
        )


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


def _imagenet(application: str, shape: tuple[int, ...], *, include_top: bool) -> keras.Model:
    constructor = getattr(keras.applications, application)
    try:
        return constructor(include_top=include_top, weights=PRETRAINED, input_shape=shape)
    except Exception as error:  # noqa: BLE001 (Keras raises plain Exception for a failed download)
        text = " ".join(str(error).split())
        fetch = re.search(r"URL fetch failure on (\S+): (.*)", text)
        if fetch is None:
            raise BuildError(
                f"weights imagenet: keras.applications.{application}(include_top={include_top}, "
                f"weights='imagenet') failed: {type(error).__name__}: {text[:300]}"
            ) from None
        url, why = fetch.groups()
        why = re.sub(r"^None -- ", "", why)
        file_name = url.rsplit("/", 1)[-1]
        raise BuildError(
            f"weights imagenet: cannot download the ImageNet weights of {application} ({why[:200]}). Is this machine "
            f"offline? Fetch {url} where there is internet access and put it at {_keras_cache() / file_name} "
            "(Keras looks there first), or pass the file with --weights PATH (weights=PATH in Python)"
        ) from None


def _keras_cache() -> Path:
    """Where keras.utils.get_file keeps keras.applications' weights (its own choice of folder)."""
    from keras.src.backend.config import keras_home

    base = os.path.expanduser(keras_home())
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return Path(base) / "models"


def _from_file(application: str, path: Path, shape: tuple[int, ...]) -> tuple[keras.Model, bool, str | None]:
    """The source model holding the file's weights, whether they are Keras's ImageNet weights, and
    why its top was not loaded when the file has one that does not fit."""
    if not path.is_file():
        raise BuildError(
            f"weights: {path} is not a file. Pass 'imagenet', or the path of a keras.applications "
            f"weights file (.h5, .weights.h5) or a .keras model of {application}"
        )
    if path.suffix not in WEIGHTS_SUFFIXES:
        raise BuildError(
            f"weights: {path} must be a keras.applications weights file (.h5, .weights.h5) or a .keras "
            f"model of {application}. Received a '{path.suffix}' file"
        )
    if path.suffix == ".keras":
        from archbuilder.compile.model import load_model_file

        return load_model_file(path, BuildError, prefix="weights: "), False, None
    constructor = getattr(keras.applications, application)
    problems: list[str] = []
    # With its top first: Keras loads a file with a top into the network without one, silently
    # leaving the top out, and refuses a file without a top for the network with one.
    for include_top in (True, False):
        source = constructor(include_top=include_top, weights=None, input_shape=shape)
        try:
            source.load_weights(str(path))
        except Exception as error:  # noqa: BLE001 (Keras raises ValueError, KeyError, OSError ...)
            problems.append(" ".join(str(error).split())[:200])
            del source
            continue
        unfit = None
        if not include_top and _tensor_count(path) > len(source.weights):
            unfit = f"the weights' top does not fit this model ({problems[0]})"
        return source, _is_imagenet_file(application, path, include_top), unfit
    raise BuildError(
        f"weights: {path} does not hold the weights of keras.applications.{application} (with or "
        f"without its top): {problems[-1]}. Save them with keras.applications.{application}(weights=...)"
        ".save_weights('NAME.weights.h5'), or pass 'imagenet'"
    )


def _tensor_count(path: Path) -> int:
    """How many arrays an HDF5 weights file holds (0 when it cannot be read)."""
    try:
        import h5py

        found: list[str] = []
        with h5py.File(path, "r") as file:
            file.visititems(lambda name, item: found.append(name) if isinstance(item, h5py.Dataset) else None)
        return len(found)
    except Exception:  # noqa: BLE001
        return 0


def _is_imagenet_file(application: str, path: Path, include_top: bool) -> bool:
    """Whether ``path`` is Keras's own ImageNet file of an EfficientNet (by the hash Keras checks)."""
    if not application.startswith("EfficientNet"):
        return False
    try:
        from keras.src.applications.efficientnet import WEIGHTS_HASHES
    except ImportError:
        return False
    expected = WEIGHTS_HASHES.get(application[-2:].lower(), ("", ""))[0 if include_top else 1]
    if not expected:
        return False
    digest = hashlib.sha256() if len(expected) == 64 else hashlib.md5()  # noqa: S324 (Keras's own md5)
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == expected


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


__all__ = [
    "TWINS",
    "PretrainedReport",
    "application_of",
    "create_model",
    "load_pretrained",
    "pretrained_blueprint",
    "pretrained_model",
    "training_blueprint",
]

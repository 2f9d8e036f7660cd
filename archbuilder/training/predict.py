"""Using a trained model: ``evaluate`` it on a dataset's test split, ``predict`` the classes of images.

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
import numpy as np

from archbuilder.blueprint.errors import BlueprintError
from archbuilder.blueprint.io import load_blueprint
from archbuilder.compile.model import load_model_file
from archbuilder.plots import confusion_figure, save_figure
from archbuilder.training.data import (
    IMAGE_SUFFIXES,
    NPY_MAGIC,
    convert_channels,
    error_reason,
    fit_to_input,
    image_problem,
    load_dataset,
    resize_images,
    to_pixels,
)
from archbuilder.training.errors import DataError
from archbuilder.training.run_folder import (
    BLUEPRINT,
    CHECKPOINT_STATE,
    CLASSES,
    METRICS,
    MODEL_CONTEXT,
    read_json_file,
    read_model_context,
)


@dataclass(frozen=True)
class RunContext:
    """How a model was trained, as far as its inputs and outputs go (see :func:`run_context`)."""

    pixel_range: tuple[float, float] = (0.0, 1.0)
    seed: int = 0
    data: str | None = None
    resize: bool = False
    class_names: tuple[str, ...] | None = None
    epoch: int | None = None  # the epoch (counted from 1) whose weights the file holds, when it says


@dataclass(frozen=True)
class Prediction:
    """The most likely classes of one image, as ``predict`` gives them; ``str()`` is its printed line.

    Attributes:
        source: The image: its path, or ``path[i]`` for the i-th image of an .npy array.
        top: ``(class name, probability)`` pairs, most likely first (an unnamed class: its index).
    """

    source: str
    top: list[tuple[str, float]]  # (class name, probability), most likely first

    def __str__(self) -> str:
        return f"{self.source}: " + ", ".join(f"{name} ({probability:.3f})" for name, probability in self.top)


def load_classifier(path: str | os.PathLike[str]) -> tuple[keras.Model, RunContext]:
    """The model (its first output, the head, when it has auxiliary heads) and its run context."""
    path = Path(path)
    model = load_model_file(path, DataError)
    if len(model.outputs) > 1:
        model = keras.Model(model.inputs, model.outputs[0], name=model.name)
    return model, run_context(path)


def run_context(path: Path) -> RunContext:
    """How the model in ``path`` was trained, as far as its inputs and outputs go.

    A ``.keras`` file written by ``archbuilder train`` records it (data, resize, pixel range, seed,
    class names, epoch; :data:`~archbuilder.training.run_folder.MODEL_CONTEXT`), wherever it is copied.
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


def _classifier_activation(model: keras.Model) -> str:
    history = getattr(model.outputs[0], "_keras_history", None)
    layer = history[0] if history else model.layers[-1]
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "linear") if activation is not None else "linear"


def evaluate(
    model_path: str | os.PathLike[str],
    data: str | None = None,
    *,
    resize: bool = False,
    batch_size: int = 128,
    confusion: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Loss, accuracy, top-5 accuracy, per-class scores and the confusion matrix of a saved model on a test split.

    The images are scaled to the pixel range the model was trained with (see :func:`run_context`);
    a data set without a test split is evaluated on its validation split (``split`` says which).

    Args:
        model_path: a ``.keras`` classifier, such as a run's ``best.keras`` (with auxiliary heads,
            the first output, the head, is evaluated).
        data: a dataset name (``digits``, ``mnist``, ``images:DIR``, ``npz:FILE``, ...); ``None``
            takes the run's own (see :func:`run_context`).
        resize: resize the images to the model's input; also done, without it, when the model's
            run resized its data.
        batch_size: images per batch.
        confusion: where to draw the confusion matrix (png, svg or pdf); nothing is drawn without it.

    Returns:
        ``images`` (an int), ``split`` (``"test"``, or ``"validation"`` for data without a test
        split), ``loss``, ``accuracy`` (and ``top5`` with more than 5 classes) as floats;
        ``per_class``: for each class, its ``name``, ``precision``, ``recall``, ``f1`` (``None`` when
        undefined: a class never predicted has no precision) and ``support`` (its test images);
        ``confusion``: ``classes`` (names) and ``matrix``, integer counts with the true class by row and
        the predicted class by column; ``confusion_image``: the drawing's path, when one was asked for.

    Raises:
        DataError: the model cannot be loaded, the data is missing or does not fit the model.
        ArtifactError: the drawing cannot be written.
    """
    model, context = load_classifier(model_path)
    data = context.data if data is None else data  # the run's own data, by default
    resize = resize or context.resize  # a model trained on resized images takes resized images
    if data is None:
        raise DataError(
            f"which data? Pass --data (e.g. --data digits); {Path(model_path).name} and the files beside it do not say."
        )
    height, width, channels = (int(d) for d in model.input_shape[1:])
    shape, classes = (height, width, channels), int(model.output_shape[-1])
    dataset = load_dataset(data, input_shape=shape, classes=classes, resize=resize, seed=context.seed)
    dataset = fit_to_input(dataset, shape, classes, resize=resize, blueprint_name=f"model {Path(model_path).name}")
    split, split_name = (dataset.test, "test") if dataset.test is not None else (dataset.validation, "validation")
    if split is None:
        raise DataError(
            f"data '{dataset.name}' has no test split to evaluate on; give a folder with test/ "
            "(images:DIR) or x_test and y_test (npz:FILE)."
        )
    activation = _classifier_activation(model)
    metrics: list[Any] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if classes > 5:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5"))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=activation == "linear"), metrics=metrics)
    low, high = context.pixel_range
    images = split.x * np.float32(high - low) + np.float32(low)
    results = model.evaluate(images, split.y, batch_size=batch_size, verbose=0, return_dict=True)
    predicted = np.argmax(np.asarray(model.predict(images, batch_size=batch_size, verbose=0)), axis=-1)
    matrix = confusion_matrix(split.y, predicted, classes)
    names = class_names(context, classes)
    report: dict[str, Any] = {
        "images": len(split),
        "split": split_name,
        **{name: float(value) for name, value in results.items()},
        "per_class": per_class_scores(matrix, names),
        "confusion": {"classes": names, "matrix": matrix.tolist()},
    }
    if confusion is not None:
        title = (
            f"{Path(model_path).name} on {dataset.name} ({split_name}): {len(split)} images, accuracy "
            f"{report.get('accuracy', float('nan')):.4f}"
        )
        report["confusion_image"] = str(save_figure(confusion_figure(matrix, names, title=title), confusion))
    return report


def class_names(context: RunContext, classes: int) -> list[str]:
    """The names of the model's classes (from classes.json), their numbers where it has none."""
    names = context.class_names or ()
    return [names[i] if i < len(names) else str(i) for i in range(classes)]


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Counts (int64) of each (true class, predicted class) pair, the true class by row."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    predicted = np.asarray(predicted, dtype=np.int64).reshape(-1)
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def per_class_scores(matrix: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    """Precision, recall and F1 of each class from a confusion matrix (``None`` where a score is undefined: 0/0)."""
    scores = []
    for index, name in enumerate(names):
        hits = int(matrix[index, index])
        support, predicted = int(matrix[index].sum()), int(matrix[:, index].sum())
        scores.append(
            {
                "name": name,
                "precision": hits / predicted if predicted else None,
                "recall": hits / support if support else None,
                "f1": 2 * hits / (support + predicted) if support + predicted else None,
                "support": support,
            }
        )
    return scores


def predict(
    model_path: str | os.PathLike[str], sources: list[str], *, top_k: int = 5, resize: bool = False
) -> list[Prediction]:
    """The ``top_k`` most likely classes of each image (png/jpg file, or every image of an .npy array).

    Images are resized to the model's input when ``resize`` is given or the model's run resized its data.
    They are scaled to the pixel range the model was trained with; a classifier with a linear (logits)
    output gets a softmax.

    Args:
        model_path: a ``.keras`` classifier, such as a run's ``best.keras`` (with auxiliary heads,
            the first output is used).
        sources: paths of images (png, jpg, ...) and ``.npy`` arrays (one image ``(H, W)`` or
            ``(H, W, C)``, or images ``(N, H, W, C)``), as a list.
        top_k: classes to give per image, most likely first (at most the model's classes).
        resize: resize the images (and convert their channels) to the model's input.

    Returns:
        One :class:`Prediction` per image, in order: its source (``path``, or ``path[i]`` for the
        i-th image of an ``.npy`` array) and ``(class name, probability)`` pairs. Class names come
        from the run's ``classes.json``, else the class numbers.

    Raises:
        DataError: the model cannot be loaded, or an image cannot be read or does not fit the model's
            input (without ``resize``).
    """
    model, context = load_classifier(model_path)
    resize = resize or context.resize
    shape = tuple(int(d) for d in model.input_shape[1:])
    names, images = [], []
    for source in sources:
        array = read_images(source, channels=shape[2])
        images.append(_fit_images(array, shape, resize, source))
        names += (
            [source]
            if len(array) == 1 and not source.endswith(".npy")
            else [f"{source}[{i}]" for i in range(len(array))]
        )
    low, high = context.pixel_range
    batch = np.concatenate(images) * np.float32(high - low) + np.float32(low)
    probabilities = np.asarray(model.predict(batch, verbose=0), dtype="float64")
    if _classifier_activation(model) == "linear":
        probabilities = np.exp(probabilities - probabilities.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
    labels = context.class_names or tuple(str(i) for i in range(probabilities.shape[1]))
    k = min(top_k, probabilities.shape[1])
    return [
        Prediction(name, [(labels[i] if i < len(labels) else str(i), float(row[i])) for i in np.argsort(-row)[:k]])
        for name, row in zip(names, probabilities)
    ]


def read_images(source: str, *, channels: int) -> np.ndarray:
    """Images in [0, 1], NHWC: a png/jpg file (read in the model's color mode) or an .npy array.

    Raises:
        DataError: the file is missing, not an image or .npy array, damaged, pickled, of a shape
            that is not images, empty, not real numbers, or holds NaN or infinite values.
    """
    path = Path(source)
    if not os.path.isfile(path):
        if os.path.isdir(path):
            raise DataError(f"{source}: is a folder. Pass png/jpg images or an .npy array (e.g. {source}/*.png).")
        raise DataError(f"{source}: no such file. Pass png/jpg images or an .npy array.")
    if path.suffix.lower() == ".npy":
        return _read_array(path, source)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{source}: unsupported file type. Pass {', '.join(IMAGE_SUFFIXES)} images or an .npy array.")
    from PIL import Image

    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype="float32") / 255.0
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, ... for a damaged file
        raise DataError(
            f"{source}: cannot read this image ({image_problem(error)}). Pass png/jpg images or an .npy array."
        ) from None
    return (pixels[..., None] if pixels.ndim == 2 else pixels)[None]


NPY_SAVE = "np.save(FILE, images) with images of shape (N, H, W, C), (H, W, C) or (H, W)"


def _read_array(path: Path, source: str) -> np.ndarray:
    try:
        handle = path.open("rb")
    except OSError as error:
        raise DataError(
            f"{source}: cannot open it ({error_reason(error)}). Make the file readable (chmod u+r)."
        ) from None
    with handle:
        magic = handle.read(len(NPY_MAGIC))
        if not magic.startswith(NPY_MAGIC):
            what = (
                "is an .npz archive, not an .npy array"
                if magic.startswith(b"PK")
                else "is empty (0 bytes)"
                if not magic
                else "is not a NumPy .npy array (no .npy header)"
            )
            raise DataError(f"{source}: {what}. Pass one array saved with {NPY_SAVE}.")
        handle.seek(0)
        try:
            array = np.load(handle, allow_pickle=False)
        except Exception as error:  # ValueError, OSError, EOFError, ... for a damaged file
            if isinstance(error, ValueError) and "allow_pickle" in str(error):
                raise DataError(
                    f"{source}: holds Python objects (dtype=object); archbuilder loads .npy files with "
                    "allow_pickle=False because unpickling can run code. Save a numeric array: "
                    f"{NPY_SAVE}, e.g. images.astype('uint8')."
                ) from None
            raise DataError(
                f"{source}: cannot read it as a NumPy .npy array ({error_reason(error)}); it may be "
                f"truncated or damaged. Write it again with {NPY_SAVE}."
            ) from None
    if array.ndim not in (2, 3, 4):
        raise DataError(
            f"{source}: expected an image (H, W), (H, W, C) or images (N, H, W, C). Received: shape {array.shape}"
        )
    if array.size == 0:
        raise DataError(
            f"{source}: holds no pixels (shape {array.shape}). Pass at least one image of at least 1x1 pixel."
        )
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] not in (1, 3, 4)):
        array = array[..., None]
    return to_pixels(array[None] if array.ndim == 3 else array, f"{source}:")


def _fit_images(array: np.ndarray, shape: tuple[int, ...], resize: bool, source: str) -> np.ndarray:
    height, width, channels = shape
    have = tuple(array.shape[1:])
    if have == shape:
        return array
    if not resize:
        raise DataError(
            f"{source}: {'x'.join(map(str, have))} image(s) but the model expects "
            f"{height}x{width}x{channels}. Pass --resize to resize them."
        )
    if have[:2] != (height, width):
        array = resize_images(array, height, width)
    if array.shape[-1] != channels:
        if array.shape[-1] not in (1, 3):
            raise DataError(f"{source}: cannot convert {array.shape[-1]} channels to {channels}.")
        array = convert_channels(array, channels)
    return array


__all__ = [
    "Prediction",
    "RunContext",
    "class_names",
    "confusion_matrix",
    "evaluate",
    "load_classifier",
    "per_class_scores",
    "predict",
    "read_images",
    "run_context",
]

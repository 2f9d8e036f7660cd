"""Predicting the classes of images with a saved model (``archbuilder predict``): png/jpg files and
.npy arrays read as images in [0, 1], fitted to the model's input, and their most likely classes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archbuilder.training.classifier import classifier_activation, fixed_input_shape, load_classifier
from archbuilder.training.data import (
    IMAGE_SUFFIXES,
    NPY_MAGIC,
    convert_channels,
    error_reason,
    image_problem,
    resize_images,
    to_pixels,
)
from archbuilder.training.errors import DataError


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
    shape = fixed_input_shape(model, model_path)
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
    if classifier_activation(model) == "linear":
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


__all__ = ["Prediction", "predict", "read_images"]

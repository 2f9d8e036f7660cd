"""Fitting a dataset to a blueprint: the checks against its input and head, resizing on request,
the validation split and the pixel range.

Only :func:`resize_images` imports Keras (``keras.ops.image.resize``), when it runs.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from archbuilder.training.data.dataset import Dataset, DataWarning, shape_text
from archbuilder.training.errors import DataError


def fit_to_input(
    dataset: Dataset,
    input_shape: tuple[int, int, int],
    classes: int,
    *,
    resize: bool = False,
    blueprint_name: str = "the blueprint",
) -> Dataset:
    """Check the images and labels against the blueprint's input and head; resize only when asked.

    With ``resize``, images are resized (bilinear) to the input's height and width, 1 channel is
    repeated to 3 (or any count), and 3 become 1 (luminance).

    Labels needing more classes than the head has outputs are an error. Data with *fewer* classes
    than the head (a one-class ``images:`` folder feeding a 10-class head, ``digits`` feeding a
    1000-class one) trains, with a :class:`DataWarning` saying so: the extra outputs are never a
    target, which is legitimate (a head sized for classes still to come, a subset of the classes
    for a quick run) and is what Keras does (``image_dataset_from_directory`` accepts a single
    class folder). Silence it with ``warnings.filterwarnings("ignore", category=DataWarning)``.

    Raises:
        DataError: the splits are not image arrays of one size with a label each, the sizes or
            channels differ (and ``resize`` is false), the channels cannot be converted, or a
            label is negative or not below ``classes``.

    Warns:
        DataWarning: the data has fewer classes than ``classes``.
    """
    _check_structure(dataset)
    _check_labels(dataset, classes, blueprint_name)
    height, width, channels = input_shape
    have = dataset.image_shape
    if have == tuple(input_shape):
        return dataset
    if not resize:
        raise DataError(
            f"data '{dataset.name}' has {shape_text(have)} images but {blueprint_name} expects "
            f"{shape_text(input_shape)}. Pass --resize (resize=True in Python) to {_conversion(have, input_shape)}, "
            f"or train a blueprint whose input is {list(have)}."
        )
    if have[2] != channels and have[2] != 1 and not (have[2] == 3 and channels == 1):
        raise DataError(
            f"data '{dataset.name}' has {have[2]} channels and {blueprint_name} expects {channels}: "
            "--resize converts 1 channel to any count and 3 (RGB) to 1 only."
        )
    if have[:2] != (height, width):
        dataset = dataset.map_images(lambda x: resize_images(x, height, width))
    if have[2] != channels:
        dataset = dataset.map_images(lambda x: convert_channels(x, channels))
    return dataset


def _check_structure(dataset: Dataset) -> None:
    """A :class:`Dataset` built in Python gets the shape checks the loaders make."""
    train_shape = None
    for split_name, split in dataset.splits().items():
        x, y = np.asarray(split.x), np.asarray(split.y)
        where = f"data '{dataset.name}': the {split_name} split"
        if x.ndim != 4 or x.dtype.kind not in "biuf":
            raise DataError(
                f"{where} must hold images as a real-number array (N, height, width, channels). "
                f"Received: shape {x.shape}, dtype {x.dtype}"
            )
        if y.ndim != 1 or len(y) != len(x) or (len(y) and y.dtype.kind not in "iu"):
            raise DataError(
                f"{where} must hold one integer label per image: {len(x)} images. Received: labels of "
                f"shape {y.shape}, dtype {y.dtype}"
            )
        if split_name == "train" and not len(x):
            raise DataError(f"{where} holds no images. Expected at least one.")
        train_shape = train_shape or x.shape[1:]
        if x.shape[1:] != train_shape:
            raise DataError(
                f"{where} holds {shape_text(x.shape[1:])} images and the train split "
                f"{shape_text(train_shape)}; every split must have the same image size."
            )


def _check_labels(dataset: Dataset, classes: int, blueprint_name: str) -> None:
    labelled = [split.y for split in dataset.splits().values() if len(split)]
    top = max(int(y.max()) for y in labelled)
    smallest = min(int(y.min()) for y in labelled)
    if smallest < 0:
        raise DataError(f"data '{dataset.name}' has a negative label ({smallest}); labels are 0 .. classes-1.")
    if top >= classes:
        raise DataError(
            f"data '{dataset.name}' has {top + 1} classes (labels 0..{top}) but {blueprint_name} has "
            f"{classes} outputs. Set head.classes: {top + 1} in the blueprint."
        )
    have = max(dataset.classes, top + 1)
    if have < classes:
        warnings.warn(_fewer_classes(dataset, have, classes, blueprint_name), DataWarning, stacklevel=3)


def _fewer_classes(dataset: Dataset, have: int, classes: int, blueprint_name: str) -> str:
    names = dataset.class_names[:have]
    shown = f" ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" if len(names) == have else ""
    start = (
        f"data '{dataset.name}' has {have} class{'es' if have != 1 else ''}{shown} but {blueprint_name} has "
        f"{classes} outputs"
    )
    if have == 1:
        return (
            f"{start}: with one class the model can only learn to predict '{names[0] if names else 0}'. Add the "
            "other classes to the data (a folder per class for images:DIR), or ignore this if it is intended."
        )
    return (
        f"{start}: outputs {have}..{classes - 1} get no training images. Set head.classes: {have} in the "
        "blueprint, or ignore this if the head is meant to be larger than the data."
    )


def _conversion(have: tuple[int, int, int], want: tuple[int, int, int]) -> str:
    steps = []
    if have[:2] != tuple(want[:2]):
        steps.append(f"resize them to {want[0]}x{want[1]}")
    if have[2] != want[2]:
        steps.append("repeat their channel" if have[2] == 1 else f"convert their {have[2]} channels to {want[2]}")
    return " and ".join(steps)


def resize_images(x: np.ndarray, height: int, width: int, chunk: int = 1024) -> np.ndarray:
    """Bilinear resize (antialiased when shrinking) with ``keras.ops.image.resize``, in chunks."""
    from keras import ops

    parts = [
        ops.convert_to_numpy(
            ops.image.resize(x[start : start + chunk], (height, width), interpolation="bilinear", antialias=True)
        )
        for start in range(0, len(x), chunk)
    ]
    return np.clip(np.concatenate(parts).astype("float32"), 0.0, 1.0) if parts else x


def convert_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """1 channel repeated to ``channels``, or 3 (RGB) reduced to 1 (luminance, ITU-R 601 weights)."""
    if x.shape[-1] == 1:
        return np.repeat(x, channels, axis=-1)
    luminance = np.asarray([0.299, 0.587, 0.114], dtype="float32")
    return (x @ luminance)[..., None].astype("float32")


def split_validation(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """Hold out ``fraction`` of the training split (a seeded shuffle) unless the data brings its own."""
    if not 0 <= fraction < 1:  # NaN included
        raise DataError(f"validation_split must be at least 0 and below 1. Received: {fraction}")
    if dataset.validation is not None or fraction == 0:
        return dataset
    count = int(round(len(dataset.train) * fraction))
    if count < 1 or count >= len(dataset.train):
        raise DataError(
            f"validation_split={fraction} of {len(dataset.train)} training images leaves "
            f"{count} for validation; use a split that keeps images on both sides, or 0 for none."
        )
    order = np.random.default_rng(seed).permutation(len(dataset.train))
    return replace(
        dataset, train=dataset.train.take(np.sort(order[count:])), validation=dataset.train.take(np.sort(order[:count]))
    )


def scale_pixels(dataset: Dataset, pixel_range: tuple[float, float]) -> Dataset:
    """Map [0, 1] images to ``pixel_range`` (the recipe's; [0, 255] for blueprints with a Rescaling stem)."""
    low, high = pixel_range
    if (low, high) == (0.0, 1.0):
        return dataset
    return dataset.map_images(lambda x: (x * np.float32(high - low) + np.float32(low)).astype("float32"))

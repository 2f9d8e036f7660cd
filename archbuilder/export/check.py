"""Checking an artifact: running it in its format's own runtime (:func:`run_exported`) and comparing
its outputs with Keras's on random images (:func:`check_export`)."""

from __future__ import annotations

import os
from typing import Any

from archbuilder.export.converters import _quiet
from archbuilder.export.formats import ExportError, _format

#: The height and width of the check's images on a model with an open input size.
OPEN_SIZE = 224


def run_exported(path: str | os.PathLike[str], format: str, images: Any) -> list[Any]:
    """Run an exported artifact on ``images`` in the format's own runtime.

    The runtime is the format's (:attr:`ExportFormat.run`): ``tf.saved_model.load`` (its ``serve``
    function), the LiteRT interpreter (its ``serving_default`` signature), onnxruntime (on the CPU).

    Args:
        path: The artifact: a SavedModel folder, a ``.tflite`` or an ``.onnx`` file.
        format: A key of :data:`FORMATS`, the artifact's format.
        images: A batch of images, NHWC (converted to float32).

    Returns:
        The artifact's outputs as NumPy arrays, in the model's output order.

    Raises:
        ExportError: ``format`` is unknown, or its runtime (``ai-edge-litert``, ``onnxruntime``) is not
            installed.
    """
    import numpy as np

    spec = _format(format)
    return spec.run(os.fspath(path), np.asarray(images, dtype="float32"))


def check_export(model: Any, path: str | os.PathLike[str], format: str, *, batch: int = 2, seed: int = 0) -> float:
    """Compare an exported artifact with its Keras model on random images.

    Both run in inference mode on ``batch`` images in [0, 1), of :data:`OPEN_SIZE` pixels along an open
    height or width; the artifact runs in its own runtime (:func:`run_exported`).

    Args:
        model: The Keras model the artifact was exported from.
        path: The artifact.
        format: A key of :data:`FORMATS`, the artifact's format.
        batch: How many images.
        seed: The seed of the images.

    Returns:
        The largest absolute difference between Keras's and the artifact's outputs, over every output.

    Raises:
        ExportError: ``format`` is unknown, its runtime is not installed, or the artifact's outputs do
            not have the model's shapes.
    """
    import keras
    import numpy as np

    shape = tuple(OPEN_SIZE if d is None else int(d) for d in model.input_shape[1:])
    images = np.random.default_rng(seed).random((batch, *shape), dtype="float32")
    expected = model(images, training=False)
    expected = [
        keras.ops.convert_to_numpy(e) for e in (expected if isinstance(expected, (list, tuple)) else [expected])
    ]
    with _quiet():
        actual = run_exported(path, format, images)
    if [a.shape for a in actual] != [e.shape for e in expected]:
        raise ExportError(
            f"{path}: the {_format(format).title} artifact's outputs have shapes "
            f"{[a.shape for a in actual]}, the model's {[e.shape for e in expected]}"
        )
    return max(float(np.max(np.abs(a.astype("float64") - e.astype("float64")))) for a, e in zip(actual, expected))

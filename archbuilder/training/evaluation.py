"""Evaluating a saved model on a dataset's test split (``archbuilder evaluate``): loss, accuracy,
top-5 accuracy, the per-class scores and the confusion matrix (drawn on request).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from archbuilder.plots import confusion_figure, save_figure
from archbuilder.training.classifier import class_names, classifier_activation, fixed_input_shape, load_classifier
from archbuilder.training.data import fit_to_input, load_dataset
from archbuilder.training.errors import DataError


def evaluate(
    model_path: str | os.PathLike[str],
    data: str | None = None,
    *,
    resize: bool = False,
    batch_size: int = 128,
    confusion: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Loss, accuracy, top-5 accuracy, per-class scores and the confusion matrix of a saved model on a test split.

    The images are scaled to the pixel range the model was trained with (see
    :func:`~archbuilder.training.classifier.run_context`); a data set without a test split is evaluated
    on its validation split (``split`` says which).

    Args:
        model_path: a ``.keras`` classifier, such as a run's ``best.keras`` (with auxiliary heads,
            the first output, the head, is evaluated).
        data: a dataset name (``digits``, ``mnist``, ``images:DIR``, ``npz:FILE``, ...); ``None``
            takes the run's own (see :func:`~archbuilder.training.classifier.run_context`).
        resize: resize the images to the model's input; also done, without it, when the model's
            run resized its data.
        batch_size: images per batch.
        confusion: where to draw the confusion matrix (png, svg or pdf); nothing is drawn without it.

    Returns:
        ``images`` (an int), ``split`` (``"test"``, or ``"validation"`` for data without a test
        split), ``loss``, ``accuracy`` (and ``top5`` with more than 5 classes) as floats;
        ``per_class``: for each class, its ``name``, ``precision``, ``recall``, ``f1`` (``None`` when
        undefined: a class never predicted has no precision) and ``support`` (its images in the split);
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
    shape, classes = fixed_input_shape(model, model_path), int(model.output_shape[-1])
    dataset = load_dataset(data, input_shape=shape, classes=classes, resize=resize, seed=context.seed)
    dataset = fit_to_input(dataset, shape, classes, resize=resize, blueprint_name=f"model {Path(model_path).name}")
    split, split_name = (dataset.test, "test") if dataset.test is not None else (dataset.validation, "validation")
    if split is None:
        raise DataError(
            f"data '{dataset.name}' has no test or validation split to evaluate on; give a folder with test/ "
            "(images:DIR) or x_test and y_test (npz:FILE)."
        )
    activation = classifier_activation(model)
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


__all__ = ["confusion_matrix", "evaluate", "per_class_scores"]

"""Input pipelines: what ``model.fit`` receives for the training and validation data.

Without augmentation: the NumPy arrays themselves, exactly what a hand-written ``model.fit`` gets
(Keras batches, shuffles and prefetches them). With augmentation, under TensorFlow: a ``tf.data``
pipeline (shuffled indices, batched gathers, augmentation mapped in parallel, prefetch); under JAX
and PyTorch: a :class:`AugmentedBatches` ``keras.utils.PyDataset`` when the recipe augments,
prefetched by worker threads. Labels are repeated for every output (auxiliary heads included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from archbuilder.training.data import Split
from archbuilder.training.recipe import HeadOutput, LabelEncoding

Targets = np.ndarray | dict[str, np.ndarray]


@dataclass
class TrainingInputs:
    """Keyword arguments for ``model.fit`` (data, batching, validation) and what they were made of."""

    fit_arguments: dict[str, Any]
    steps_per_epoch: int
    batch_size: int
    augmentation: keras.Sequential | None = None
    kind: str = "numpy"  # "tf.data", "numpy" or "py_dataset"


def make_targets(labels: np.ndarray, outputs: list[HeadOutput], encoding: LabelEncoding) -> Targets:
    """Integer or one-hot labels, keyed by output name when the model has several outputs."""
    if encoding == "one_hot":
        encoded = {o.name: np.eye(o.classes, dtype="float32")[labels] for o in outputs}
    else:
        encoded = {o.name: labels for o in outputs}
    return encoded[outputs[0].name] if len(outputs) == 1 else encoded


def create_inputs(
    train: Split,
    validation: Split | None,
    *,
    batch_size: int,
    outputs: list[HeadOutput],
    encoding: LabelEncoding,
    augmentation: keras.Sequential | None = None,
    seed: int = 0,
    workers: int = 2,
) -> TrainingInputs:
    """The fit arguments for the backend in use; ``augmentation`` applies to the training batches only.

    ``workers`` threads prepare augmented batches under JAX and PyTorch (1 keeps the order of the
    random draws, for deterministic runs).
    """
    train_targets = make_targets(train.y, outputs, encoding)
    validation_targets = make_targets(validation.y, outputs, encoding) if validation is not None else None
    steps = math.ceil(len(train) / batch_size)
    if keras.backend.backend() == "tensorflow" and augmentation is not None:
        arguments = {
            "x": tf_dataset(train.x, train_targets, batch_size, shuffle=True, seed=seed, augmentation=augmentation),
            "shuffle": False,
        }  # the dataset shuffles itself, every epoch
        if validation is not None and validation_targets is not None:
            arguments["validation_data"] = tf_dataset(validation.x, validation_targets, batch_size)
        return TrainingInputs(arguments, steps, batch_size, augmentation, "tf.data")
    validation_data = (validation.x, validation_targets) if validation is not None else None
    if augmentation is None:
        arguments = {
            "x": train.x,
            "y": train_targets,
            "batch_size": batch_size,
            "shuffle": True,
            "validation_data": validation_data,
        }
        return TrainingInputs(arguments, steps, batch_size, None, "numpy")
    batches = AugmentedBatches(train.x, train_targets, batch_size, augmentation, seed=seed, workers=workers)
    arguments = {"x": batches, "validation_data": validation_data, "validation_batch_size": batch_size}
    return TrainingInputs(arguments, steps, batch_size, augmentation, "py_dataset")


def tf_dataset(
    x: np.ndarray,
    targets: Targets,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    augmentation: keras.Sequential | None = None,
) -> Any:
    """A ``tf.data.Dataset`` of batches: index batches (a fresh seeded permutation each epoch when
    shuffling) gathered from host tensors in parallel, augmented in parallel, then prefetched."""
    import tensorflow as tf

    with tf.device("/CPU:0"):  # keep the arrays in host memory; batches travel to the device as they are used
        images = tf.constant(x)
        labels = tf.nest.map_structure(tf.constant, targets)
    count = len(x)
    full, rest = divmod(count, batch_size)

    @tf.autograph.experimental.do_not_convert
    def order(random: Any) -> Any:  # one vectorized shuffle per epoch, not a per-element shuffle buffer
        indices = tf.range(count, dtype=tf.int64)
        return tf.random.experimental.stateless_shuffle(indices, seed=tf.stack([random, 0])) if shuffle else indices

    @tf.autograph.experimental.do_not_convert
    def batches(indices: Any) -> Any:
        whole = tf.data.Dataset.from_tensor_slices(tf.reshape(indices[: full * batch_size], [full, batch_size]))
        return whole.concatenate(tf.data.Dataset.from_tensors(indices[full * batch_size :])) if rest else whole

    @tf.autograph.experimental.do_not_convert
    def gather(batch: Any) -> tuple[Any, Any]:
        return tf.gather(images, batch), tf.nest.map_structure(lambda t: tf.gather(t, batch), labels)

    epochs = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    dataset = epochs.map(order).flat_map(batches).apply(tf.data.experimental.assert_cardinality(full + bool(rest)))
    dataset = dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    if augmentation is not None:

        @tf.autograph.experimental.do_not_convert
        def augment(batch: Any, batch_targets: Any) -> tuple[Any, Any]:
            return augmentation(batch, training=True), batch_targets

        dataset = dataset.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled, augmented training batches from NumPy arrays (JAX and PyTorch backends).

    Worker threads prepare the next batches while the model trains on the current one.

    Args:
        x: the training images, NHWC.
        targets: the labels as the model's outputs take them: one array, or one per head by name.
        batch_size: images per batch (the last batch may be smaller).
        augmentation: applied to each batch in training mode.
        seed: seed of the shuffles (a new order each epoch).
        workers: threads preparing batches.
    """

    def __init__(
        self,
        x: np.ndarray,
        targets: Targets,
        batch_size: int,
        augmentation: keras.Sequential,
        *,
        seed: int = 0,
        workers: int = 2,
    ) -> None:
        super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=8)
        self.x, self.targets, self.batch_size, self.augmentation = x, targets, batch_size, augmentation
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(x))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, Targets]:
        chosen = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        images = keras.ops.convert_to_numpy(self.augmentation(self.x[chosen], training=True))
        if isinstance(self.targets, dict):
            return images, {name: values[chosen] for name, values in self.targets.items()}
        return images, self.targets[chosen]

    def on_epoch_end(self) -> None:
        """Shuffles the images again for the next epoch."""
        self._order = self._rng.permutation(len(self.x))


__all__ = ["AugmentedBatches", "TrainingInputs", "create_inputs", "make_targets", "tf_dataset"]

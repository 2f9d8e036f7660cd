"""Data-parallel training: the recipe's ``distribution`` as a TensorFlow strategy or a Keras distribution.

``mirrored`` (``tf.distribute.MirroredStrategy``, every local GPU, or the logical CPUs) and
``multi_worker`` (``tf.distribute.MultiWorkerMirroredStrategy``, the workers named in ``TF_CONFIG``)
need the TensorFlow backend; ``data_parallel`` (``keras.distribution.DataParallel``) needs JAX.
The recipe's ``batch_size`` is the global batch, split evenly across the replicas; see docs/distribution.md
for the learning-rate scaling rule.

Every batch must split evenly: Keras's JAX ``DataParallel`` shards each batch across the devices
(a batch that does not divide raises in JAX), and under a ``tf.distribute`` strategy Keras builds
the model from the first batch's per-replica parts (which must have equal shapes) while a replica
left with an empty batch fails in TensorFlow's CPU convolutions. So a run under a distribution
needs a ``batch_size`` that divides by the replicas (:func:`check_batch_size`), trains and validates
on splits trimmed to a multiple of the replicas (:func:`trim_to_replicas`, at most N - 1 images
left out), and evaluates the test set with :func:`evaluate`: across the replicas when it splits
evenly, otherwise on one device, over every image either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras

from archbuilder.train.data import Split
from archbuilder.train.errors import RunError

BACKENDS = {"mirrored": "tensorflow", "multi_worker": "tensorflow", "data_parallel": "jax"}


def check_distribution(name: str | None, backend: str | None = None) -> None:
    """Raises RunError when ``name`` is unknown or does not run under ``backend`` (default: Keras's)."""
    if name is None:
        return
    backend = backend or keras.backend.backend()
    if name not in BACKENDS:
        raise RunError(f"unknown distribution '{name}': use one of {', '.join(BACKENDS)}.")
    needed = BACKENDS[name]
    if backend != needed:
        other = ", ".join(f"'{k}'" for k, v in BACKENDS.items() if v == backend) or "none"
        raise RunError(f"distribution '{name}' needs the {needed} backend, and Keras runs on {backend}. Set "
                       f"KERAS_BACKEND={needed} before starting, or pick a distribution the {backend} backend "
                       f"supports ({other}).")


def create_distribution(name: str | None) -> Any:
    """The strategy (TensorFlow) or Keras distribution (JAX) for ``name``; ``None`` for none.

    Create it before the run touches TensorFlow: MultiWorkerMirroredStrategy must configure the
    collective ops at program start.
    """
    check_distribution(name)
    if name is None:
        return None
    if name == "data_parallel":
        return keras.distribution.DataParallel()
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.MultiWorkerMirroredStrategy()


def replicas(distribution: Any) -> int:
    """How many replicas share each global batch (1 without a distribution)."""
    if distribution is None:
        return 1
    if not hasattr(distribution, "num_replicas_in_sync"):
        return int(distribution.device_mesh.shape[0])
    return int(distribution.num_replicas_in_sync)


@contextmanager
def distribution_scope(distribution: Any) -> Iterator[Any]:
    """Build, compile and fit inside this: the strategy's scope, or the Keras distribution set globally."""
    if distribution is None:
        yield None
    elif not hasattr(distribution, "scope"):
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(distribution)
        try:
            yield distribution
        finally:
            keras.distribution.set_distribution(previous)
    else:
        with distribution.scope():
            yield distribution


def check_batch_size(distribution: Any, batch_size: int, name: str | None = None) -> None:
    """Raises RunError unless the global ``batch_size`` splits evenly across the replicas of ``distribution``."""
    count = replicas(distribution)
    if batch_size % count == 0:
        return
    below, above = batch_size // count * count, (batch_size // count + 1) * count
    choices = f"{below} or {above}" if below else str(above)
    raise RunError(f"distribution '{name or 'data-parallel'}' splits each global batch evenly across its {count} "
                   f"replicas, and batch_size {batch_size} does not divide by {count}. Use a multiple of {count}: "
                   f"--batch-size {choices} (or training.batch_size in the blueprint).")


def trim_to_replicas(split: Split | None, count: int, what: str = "training") -> Split | None:
    """``split`` without its last ``len(split) % count`` images, so that every batch of it (a multiple of
    ``count`` images, the last one included) splits evenly across ``count`` replicas.

    Raises:
        RunError: the split has fewer images than replicas.
    """
    if split is None or count <= 1 or len(split) % count == 0:
        return split
    if len(split) < count:
        raise RunError(f"the {what} split has {len(split)} images, fewer than the {count} replicas that share each "
                       "batch: give it more images, or train without a distribution.")
    return Split(split.x[: len(split) // count * count], split.y[: len(split) // count * count])


def evaluation_batch_size(count: int, batch_size: int, replicas: int) -> int | None:
    """The batch for evaluating ``count`` examples across ``replicas``, or ``None`` when they do not split
    evenly (``count`` is not a multiple of ``replicas``: then no batching gives every replica an equal part).

    The batch is capped to the data, so a test set smaller than the global batch is one even batch;
    with ``batch_size`` and ``count`` multiples of ``replicas``, the last batch is one as well.
    """
    if count < replicas or count % replicas:
        return None
    return min(max(batch_size // replicas, 1) * replicas, count)


def single_device_copy(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (same layers, weights, loss and metrics) outside any distribution, for evaluation.

    Call it outside the strategy's scope (TensorFlow) or with no Keras distribution set (JAX): its
    variables are created where it is called.
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    config = model.get_compile_config()
    if config:
        compiled = dict(keras.saving.deserialize_keras_object(config))
        compiled.pop("optimizer", None)  # evaluation does not need it (nor the memory of its slots)
        copy.compile(**compiled)
    return copy


def evaluate(model: keras.Model, x: Any, y: Any, *, batch_size: int, distribution: Any) -> dict[str, float]:
    """``model.evaluate`` over all of ``x``, once, exactly as on one device.

    Under a distribution, with a batch capped to the data (:func:`evaluation_batch_size`) when the
    examples split evenly across the replicas; otherwise on a single-device copy of the model. Call it
    outside :func:`distribution_scope` (it enters the scope itself when it evaluates across replicas).
    """
    if distribution is None:
        results = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    else:
        count = len(keras.tree.flatten(x)[0])
        batch = evaluation_batch_size(count, batch_size, replicas(distribution))
        if batch is None:
            results = single_device_copy(model).evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        else:
            with distribution_scope(distribution):
                results = model.evaluate(x, y, batch_size=batch, verbose=0, return_dict=True)
    return {name: float(value) for name, value in results.items()}


__all__ = ["BACKENDS", "check_batch_size", "check_distribution", "create_distribution", "distribution_scope",
           "evaluate", "evaluation_batch_size", "replicas", "single_device_copy", "trim_to_replicas"]

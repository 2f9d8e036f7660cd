"""Data-parallel training: the recipe's ``distribution`` as a TensorFlow strategy or a Keras distribution.

``mirrored`` (``tf.distribute.MirroredStrategy``, every local GPU, or the logical CPUs) and
``multi_worker`` (``tf.distribute.MultiWorkerMirroredStrategy``, the workers named in ``TF_CONFIG``)
need the TensorFlow backend; ``data_parallel`` (``keras.distribution.DataParallel``) needs JAX.
The recipe's ``batch_size`` is the global batch, split across the replicas; see docs/distribution.md
for the learning-rate scaling rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras

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


__all__ = ["BACKENDS", "check_distribution", "create_distribution", "distribution_scope", "replicas"]

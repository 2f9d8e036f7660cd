"""Data-parallel training: the recipe's ``distribution`` as a TensorFlow strategy or a Keras distribution.

``mirrored`` (``tf.distribute.MirroredStrategy``, every local GPU, or the logical CPUs) needs the
TensorFlow backend; ``data_parallel`` (``keras.distribution.DataParallel``) needs JAX;
``multi_worker`` under JAX joins several processes (``keras.distribution.initialize``) and runs
``DataParallel`` over all their devices, each process feeding its share of every batch; under
TensorFlow it is ``MultiWorkerMirroredStrategy`` with one worker only (Keras 3 cannot fit across
workers, keras-team/keras#20585).
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

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, overload

import keras

from archbuilder.training.data import Split
from archbuilder.training.errors import RunError

BACKENDS = {"mirrored": ("tensorflow",), "multi_worker": ("jax", "tensorflow"), "data_parallel": ("jax",)}
#: What ``multi_worker`` under JAX reads (``keras.distribution.initialize``): the coordinator's address
#: (process 0, ``host:port``), the number of processes, and this process's index.
PROCESS_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


def check_distribution(name: str | None, backend: str | None = None) -> None:
    """Raises RunError when ``name`` is unknown or does not run under ``backend`` (default: Keras's)."""
    if name is None:
        return
    backend = backend or keras.backend.backend()
    if name not in BACKENDS:
        raise RunError(f"unknown distribution '{name}': use one of {', '.join(BACKENDS)}.")
    needed = BACKENDS[name]
    if backend not in needed:
        other = ", ".join(f"'{k}'" for k, v in BACKENDS.items() if backend in v) or "none"
        raise RunError(
            f"distribution '{name}' needs the {' or '.join(needed)} backend, and Keras runs on {backend}. "
            f"Set KERAS_BACKEND={needed[0]} before starting, or pick a distribution the {backend} backend "
            f"supports ({other})."
        )


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
    if name == "multi_worker" and keras.backend.backend() == "jax":
        return _jax_processes()
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    _check_tensorflow_workers()
    return tf.distribute.MultiWorkerMirroredStrategy()


def _jax_processes() -> Any:
    """``keras.distribution.DataParallel`` over the devices of every process (one per host, or several
    on one), joined by ``keras.distribution.initialize``; each process feeds its part of each batch."""
    missing = [variable for variable in PROCESS_VARIABLES if not os.environ.get(variable)]
    if missing:
        raise RunError(
            f"distribution 'multi_worker' under JAX starts one process per worker and needs "
            f"{', '.join(missing)} in each one's environment (the coordinator's host:port, the number "
            "of processes, this process's index from 0); see docs/distribution.md."
        )
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU processes; GPUs use NCCL
    try:
        keras.distribution.initialize()
    except Exception as error:  # noqa: BLE001 - JAX reports a bad address or an unreachable coordinator
        raise RunError(
            f"distribution 'multi_worker' could not join the other processes "
            f"({type(error).__name__}: {error}). Check {', '.join(PROCESS_VARIABLES)}."
        ) from None
    distribution = keras.distribution.DataParallel()
    distribution.auto_shard_dataset = False  # the runner gives each process its own part of every batch
    return distribution


def _check_tensorflow_workers() -> None:
    """MultiWorkerMirroredStrategy runs only as a single worker under Keras 3; say so before training."""
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    except (ValueError, AttributeError):
        raise RunError("TF_CONFIG is not a JSON object with a `cluster`; see docs/distribution.md.") from None
    workers = sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))
    if workers > 1:
        raise RunError(
            f"distribution 'multi_worker' under TensorFlow: TF_CONFIG names {workers} workers, and Keras "
            f"{keras.__version__}'s TensorFlow trainer cannot fit across workers (model.fit fails reducing "
            "its first batch: keras-team/keras#20585, tensorflow/tensorflow#72388). Run the workers under "
            "JAX instead: KERAS_BACKEND=jax with KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and "
            "_PROCESS_ID (docs/distribution.md), or `mirrored` for the GPUs of one machine."
        )


def processes(distribution: Any) -> tuple[int, int]:
    """``(this process's index, the number of processes)`` that feed ``distribution`` its batches."""
    if distribution is None or hasattr(distribution, "scope") or getattr(distribution, "auto_shard_dataset", True):
        return 0, 1
    import jax

    return jax.process_index(), jax.process_count()


@overload
def process_share(split: Split, distribution: Any) -> Split: ...
@overload
def process_share(split: Split | None, distribution: Any) -> Split | None: ...
def process_share(split: Split | None, distribution: Any) -> Split | None:
    """This process's part of ``split`` (every ``count``-th example): together the processes' local batches
    make each global batch. ``split`` must already be trimmed to a multiple of the replicas."""
    index, count = processes(distribution)
    if split is None or count == 1:
        return split
    return Split(split.x[index::count], split.y[index::count])


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
    raise RunError(
        f"distribution '{name or 'data-parallel'}' splits each global batch evenly across its {count} "
        f"replicas, and batch_size {batch_size} does not divide by {count}. Use a multiple of {count}: "
        f"--batch-size {choices} (or training.batch_size in the blueprint)."
    )


@overload
def trim_to_replicas(split: Split, count: int, what: str = ...) -> Split: ...
@overload
def trim_to_replicas(split: Split | None, count: int, what: str = ...) -> Split | None: ...
def trim_to_replicas(split: Split | None, count: int, what: str = "training") -> Split | None:
    """``split`` without its last ``len(split) % count`` images, so that every batch of it (a multiple of
    ``count`` images, the last one included) splits evenly across ``count`` replicas.

    Raises:
        RunError: the split has fewer images than replicas.
    """
    if split is None or count <= 1 or len(split) % count == 0:
        return split
    if len(split) < count:
        raise RunError(
            f"the {what} split has {len(split)} images, fewer than the {count} replicas that share each "
            "batch: give it more images, or train without a distribution."
        )
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
        several = processes(distribution)[1] > 1  # the test set is whole in every process: evaluate it locally
        batch = None if several else evaluation_batch_size(count, batch_size, replicas(distribution))
        if batch is None:
            results = single_device_copy(model).evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        else:
            with distribution_scope(distribution):
                results = model.evaluate(x, y, batch_size=batch, verbose=0, return_dict=True)
    return {name: float(value) for name, value in results.items()}


__all__ = [
    "BACKENDS",
    "PROCESS_VARIABLES",
    "check_batch_size",
    "process_share",
    "processes",
    "check_distribution",
    "create_distribution",
    "distribution_scope",
    "evaluate",
    "evaluation_batch_size",
    "replicas",
    "single_device_copy",
    "trim_to_replicas",
]

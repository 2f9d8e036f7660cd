"""What the backend runs on, and the settings that follow from it: precision, XLA, determinism,
and recognizing an out-of-memory error, for each of the TensorFlow, JAX and PyTorch backends."""

from __future__ import annotations

import contextlib
import functools
import os
import platform
from collections.abc import Iterator

import keras

MIXED = "mixed_float16"
FLOAT32 = "float32"


@functools.cache
def gpu_name() -> str | None:
    """The first GPU the Keras backend will use, or ``None`` on a CPU-only machine."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return None
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    if backend == "jax":
        import jax

        gpus = [device for device in jax.devices() if device.platform == "gpu"]
        return gpus[0].device_kind if gpus else None
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return None


def describe_device() -> str:
    """``'NVIDIA H100 80GB HBM3 (jax)'`` or ``'CPU: x86_64, 2 cores (tensorflow)'``."""
    name = gpu_name()
    where = name if name else f"CPU: {platform.machine()}, {os.cpu_count()} cores"
    return f"{where} ({keras.backend.backend()})"


def choose_precision(mixed_precision: bool | None) -> str:
    """``mixed_float16`` on a GPU unless turned off (or when forced on); ``float32`` otherwise."""
    if mixed_precision is None:
        return MIXED if gpu_name() else FLOAT32
    return MIXED if mixed_precision else FLOAT32


def choose_jit_compile(jit_compile: bool | None) -> bool | str:
    """XLA on a GPU (TensorFlow, JAX) unless turned off; elsewhere Keras's own ``"auto"`` choice."""
    if jit_compile is False:
        return False
    if jit_compile is None and (gpu_name() is None or keras.backend.backend() == "torch"):
        return "auto"  # torch.compile is experimental in Keras; TF on CPU runs faster without XLA
    return True


@contextlib.contextmanager
def precision_policy(name: str) -> Iterator[None]:
    """Set Keras's global dtype policy for the duration of a run (layers take it when they are built)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def keep_outputs_float32(model: keras.Model, output_names: list[str]) -> None:
    """Under mixed precision, run the classifiers in float32 so the softmax and the loss see float32.

    The classifier layers are called again on every step, so changing their policy after building
    makes them cast their float16 input up and compute (and output) in float32.
    """
    for name in output_names:
        layer = model.get_layer(name)
        if layer.dtype_policy.compute_dtype != "float32":
            layer.dtype_policy = FLOAT32


def seed_everything(seed: int, *, deterministic: bool) -> None:
    """``keras.utils.set_random_seed`` always; with ``deterministic``, deterministic kernels as well.

    JAX reads its deterministic-GPU flag when it starts: the command line sets ``XLA_FLAGS`` before
    importing Keras; from Python, set it before importing JAX.
    """
    keras.utils.set_random_seed(seed)
    if not deterministic:
        return
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)


def is_out_of_memory(error: BaseException) -> bool:
    """True for the out-of-memory errors of TensorFlow, JAX (XLA) and PyTorch."""
    if type(error).__name__ in ("ResourceExhaustedError", "OutOfMemoryError"):
        return True
    text = str(error)
    return "RESOURCE_EXHAUSTED" in text or "out of memory" in text.lower()


__all__ = [
    "FLOAT32",
    "MIXED",
    "choose_jit_compile",
    "choose_precision",
    "describe_device",
    "gpu_name",
    "is_out_of_memory",
    "keep_outputs_float32",
    "precision_policy",
    "seed_everything",
]

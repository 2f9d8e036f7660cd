"""Environment variables the backends read when they start, set by the command line before it
imports Keras. No heavy imports here."""

from __future__ import annotations

import os


def deterministic_environment() -> dict[str, str]:
    """Variables asking for deterministic GPU kernels (XLA for JAX, TensorFlow, cuBLAS for PyTorch)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "--xla_gpu_deterministic_ops" not in flags:
        flags = f"{flags} --xla_gpu_deterministic_ops=true".strip()
    return {"XLA_FLAGS": flags, "TF_DETERMINISTIC_OPS": "1", "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}


def prepare_backend_environment(*, deterministic: bool = False) -> None:
    """Quiet TensorFlow's start-up logging (unless the user set it) and, if asked, request determinism."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if deterministic:
        os.environ.update(deterministic_environment())


__all__ = ["deterministic_environment", "prepare_backend_environment"]

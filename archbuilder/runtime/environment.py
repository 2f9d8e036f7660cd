"""Environment variables the backends read when they start, set by the command line before it
imports Keras, and the quiet import of Keras itself. No heavy import at module level."""

from __future__ import annotations

import os
import sys
import tempfile


def deterministic_environment() -> dict[str, str]:
    """Variables asking for deterministic GPU kernels (XLA for JAX, TensorFlow, cuBLAS for PyTorch)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "--xla_gpu_deterministic_ops" not in flags:
        flags = f"{flags} --xla_gpu_deterministic_ops=true".strip()
    return {"XLA_FLAGS": flags, "TF_DETERMINISTIC_OPS": "1", "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}


def prepare_backend_environment(*, deterministic: bool = False) -> None:
    """Quiet the backend's native logging (unless the user set its level) and, if asked, request determinism.

    ``TF_CPP_MIN_LOG_LEVEL=3`` keeps TensorFlow's C++ INFO, WARNING and ERROR lines off the terminal (a
    CPU-only machine's ``failed call to cuInit`` is an ERROR line); Python's warnings are not touched.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if deterministic:
        os.environ.update(deterministic_environment())


def load_backend(*, deterministic: bool = False) -> None:
    """:func:`prepare_backend_environment`, then :func:`import_backend_quietly`: what a command calls just
    before the modules that import Keras (a command that may stop before needing Keras prepares only)."""
    prepare_backend_environment(deterministic=deterministic)
    import_backend_quietly()


def import_backend_quietly() -> None:
    """``import keras`` with file descriptor 2 (standard error) held in a temporary file.

    TensorFlow's and XLA's C++ code logs at load time, before absl reads ``TF_CPP_MIN_LOG_LEVEL``
    ("All log messages before absl::InitializeLog() is called are written to STDERR", "Could not find
    cuda drivers"); no setting reaches those lines, so they are held and dropped. If the import fails,
    what was held is written out before the error propagates. Nothing is held once Keras is loaded.
    """
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as held:
            os.dup2(held.fileno(), 2)
            try:
                import keras  # noqa: F401  (the import is the point: it loads the backend)
            except BaseException:
                os.dup2(saved, 2)
                held.seek(0)
                sys.stderr.write(held.read().decode("utf-8", "replace"))
                raise
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


__all__ = ["deterministic_environment", "import_backend_quietly", "load_backend", "prepare_backend_environment"]

"""The export formats (:data:`FORMATS`: what each writes, the backends that export it and the converters
it needs there), the package's error and result types, and the checks made before converting: a known
format, a backend that exports it, its converters installed."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from archbuilder.errors import ArchbuilderError

INSTALL = "pip install 'archbuilder[export]'"
#: The switch that works for every format: the same .keras file loads under every backend.
USE_TENSORFLOW = "run with KERAS_BACKEND=tensorflow (the same .keras file loads under every backend)"


class ExportError(ArchbuilderError, ValueError):
    """A model cannot be exported to a format; the message says why and what works instead."""


@dataclass(frozen=True)
class ExportFormat:
    """One deployment format and what it needs."""

    name: str  # the command line's name
    title: str  # how messages name it
    keras_format: str  # ``keras.Model.export(format=...)``
    suffix: str  # of the default output (``_saved_model`` names a folder)
    folder: bool  # the artifact is a folder
    runtime: str  # what runs it (and checks it)
    #: backend -> the modules the export needs there (import name, pip name)
    backends: dict[str, tuple[tuple[str, str], ...]]
    #: backend -> why it cannot export this format there
    refused: dict[str, str]


FORMATS: dict[str, ExportFormat] = {
    "saved_model": ExportFormat(
        "saved_model",
        "SavedModel",
        "tf_saved_model",
        "_saved_model",
        True,
        "tf.saved_model.load",
        backends={"tensorflow": (), "jax": (("jax.experimental.jax2tf", "jax"),)},
        refused={
            "torch": "Keras's SavedModel export under PyTorch goes through torch_xla, which archbuilder does not "
            "support"
        },
    ),
    "litert": ExportFormat(
        "litert",
        "LiteRT",
        "litert",
        ".tflite",
        False,
        "ai_edge_litert.interpreter",
        backends={"tensorflow": ()},
        refused={
            "jax": "Keras exports LiteRT only with the TensorFlow or PyTorch backend",
            "torch": "Keras's LiteRT export under PyTorch needs the litert-torch package, which archbuilder "
            "does not support",
        },
    ),
    "onnx": ExportFormat(
        "onnx",
        "ONNX",
        "onnx",
        ".onnx",
        False,
        "onnxruntime",
        backends={"tensorflow": (("tf2onnx", "tf2onnx"), ("onnx", "onnx")), "torch": (("onnx", "onnx"),)},
        refused={"jax": "Keras's ONNX export under JAX needs the jax2onnx package, which archbuilder does not support"},
    ),
}


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_file` wrote."""

    path: Path
    format: ExportFormat
    output_names: tuple[str, ...]  # the model's outputs, in the artifact's order
    float32: bool  # the model had mixed-precision layers and was exported in float32
    max_abs_difference: float | None = None  # from the check, when asked

    def describe(self) -> str:
        """The command's success line."""
        outputs = ", ".join(f"output_{i}={name}" for i, name in enumerate(self.output_names))
        line = f"wrote {self.path} ({self.format.title}; outputs {outputs})"
        if self.float32:
            line += "; mixed-precision layers exported in float32"
        if self.max_abs_difference is not None:
            line += f"; checked with {self.format.runtime}: max abs difference to Keras {self.max_abs_difference:.2e}"
        return line


def default_output(model_path: str | os.PathLike[str], format: str) -> Path:
    """Where ``format`` goes by default: beside the model.

    For example ``m.keras`` -> ``m_saved_model/``, ``m.tflite``, ``m.onnx``.

    Args:
        model_path: The ``.keras`` file.
        format: A key of :data:`FORMATS`.

    Returns:
        The artifact's path: the model's name with the format's suffix (a folder ``NAME_saved_model``
        for ``saved_model``).

    Raises:
        ExportError: ``format`` is unknown.
    """
    spec = _format(format)
    path = Path(model_path)
    return path.with_name(path.stem + spec.suffix) if spec.folder else path.with_suffix(spec.suffix)


def check_supported(format: str) -> None:
    """Check that the active Keras backend can export ``format`` and that its converters are installed.

    Args:
        format: A key of :data:`FORMATS`.

    Returns:
        None; it returns only when the export can go ahead.

    Raises:
        ExportError: ``format`` is unknown, the backend cannot export it (the message points to the
            TensorFlow backend and names the formats this one exports), or a converter it needs there
            is not installed.
    """
    import keras

    spec = _format(format)
    backend = keras.backend.backend()
    if backend not in spec.backends:
        reason = spec.refused.get(backend, f"archbuilder does not export {spec.title} under the {backend} backend")
        working = ", ".join(f.name for f in FORMATS.values() if backend in f.backends)
        elsewhere = f"; under {backend} archbuilder exports {working}" if working else ""
        raise ExportError(
            f"cannot export {spec.title} with the {backend} backend: {reason}. "
            f"{USE_TENSORFLOW[0].upper()}{USE_TENSORFLOW[1:]}{elsewhere}."
        )
    for module, package in spec.backends[backend]:
        if not _importable(module):
            raise ExportError(
                f"{spec.title} export needs the '{package}' package, which is not installed. "
                f"Install the converters with: {INSTALL}"
            )


def _format(name: str) -> ExportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ExportError(f"unknown export format {name!r}. Known formats: {', '.join(FORMATS)}") from None


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False

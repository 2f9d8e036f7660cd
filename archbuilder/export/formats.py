"""The export formats, a registry (:data:`FORMATS`): each :class:`ExportFormat` says what it writes, the
backends that export it and the converters it needs there, and carries its own hooks: how its
artifact runs (the check), what it refuses before converting, how the written artifact is
validated. Adding a format is one :func:`register_format` call in this module (with its hooks beside
it) and its tests; the writer, the check and the command line read the registry.

Also here: the package's error and result types, and the checks made before converting (a known
format, a backend that exports it, its converters installed). Nothing here imports Keras or a
converter at import time (``archbuilder export --help`` lists the formats without them).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archbuilder.errors import ArchbuilderError

INSTALL = "pip install 'archbuilder[export]'"
#: The switch that works for every format: the same .keras file loads under every backend.
USE_TENSORFLOW = "run with KERAS_BACKEND=tensorflow (the same .keras file loads under every backend)"


class ExportError(ArchbuilderError, ValueError):
    """A model cannot be exported to a format; the message says why and what works instead."""


@dataclass(frozen=True)
class ExportFormat:
    """One deployment format, what it needs and its hooks."""

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
    #: runs the artifact (its path) on float32 NHWC images in the format's runtime: its outputs, in order
    run: Callable[[str, Any], list[Any]]
    #: a file inside a folder artifact that marks one (an existing folder without it is never replaced)
    marker: str | None = None
    #: refuses a model the converter is known to mistranslate (the model, the source's name), before converting
    refuse: Callable[[Any, str], None] | None = None
    #: validates the written artifact (raises ``ValueError`` with what is wrong)
    validate: Callable[[str], None] | None = None
    #: Keras's exporter needs the input signature spelled out (it refuses a loaded, never-called model otherwise)
    input_signature: bool = False


#: The formats, by name, in the order the command line lists them.
FORMATS: dict[str, ExportFormat] = {}


def register_format(spec: ExportFormat) -> ExportFormat:
    """Add ``spec`` to :data:`FORMATS` (a name already there is an error)."""
    if spec.name in FORMATS:
        raise ValueError(f"export format {spec.name!r} is registered already")
    if spec.folder != (spec.marker is not None):
        raise ValueError(f"export format {spec.name!r}: a folder format names its marker file, a file format none")
    FORMATS[spec.name] = spec
    return spec


def require(module: str, package: str, spec: ExportFormat) -> Any:
    """Import ``module`` for running a ``spec`` artifact, or say which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(
            f"running a {spec.title} artifact needs the '{package}' package, which is not installed. "
            f"Install it with: {INSTALL}"
        ) from None


def first_line(error: BaseException, limit: int = 300) -> str:
    """The first non-empty line of an error's message (cut at ``limit`` characters)."""
    text = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return text if len(text) <= limit else text[:limit] + "..."


# -- the formats ---------------------------------------------------------------------------------


def _run_saved_model(path: str, images: Any) -> list[Any]:
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(path)  # kept alive while its function runs
    outputs = loaded.serve(images)
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def _run_litert(path: str, images: Any) -> list[Any]:
    import numpy as np

    interpreter = require("ai_edge_litert.interpreter", "ai-edge-litert", FORMATS["litert"]).Interpreter(
        model_path=path
    )
    runner = interpreter.get_signature_runner("serving_default")
    [name] = runner.get_input_details()
    results = runner(**{name: images})
    return [np.asarray(results[f"output_{i}"]) for i in range(len(results))]  # Keras names them so


def _run_onnx(path: str, images: Any) -> list[Any]:
    import numpy as np

    ort = require("onnxruntime", "onnxruntime", FORMATS["onnx"])
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, {session.get_inputs()[0].name: images})]


def _refuse_grouped_under_tensorflow(model: Any, source: str) -> None:
    """tf2onnx cannot convert a grouped convolution (Keras's TensorFlow backend runs it as an XLA-compiled
    function): refused before converting, with what works instead."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    grouped = [layer for layer in all_layers(model) if getattr(layer, "groups", 1) > 1]
    if grouped:
        more = f" and {len(grouped) - 1} more" if len(grouped) > 1 else ""
        raise ExportError(
            f"{source}: ONNX under the TensorFlow backend cannot express the grouped convolution "
            f"'{grouped[0].name}' (groups={grouped[0].groups}){more}: Keras runs grouped convolutions as an "
            "XLA-compiled function, which tf2onnx leaves unconverted. Export ONNX with KERAS_BACKEND=torch "
            "(torch.onnx converts them), or export saved_model or litert."
        )


def _validate_onnx(path: str) -> None:
    """tf2onnx logs the ops it cannot convert and writes them anyway; such a graph fails ONNX's checker."""
    import onnx

    try:
        onnx.checker.check_model(path)
    except onnx.checker.ValidationError as error:
        raise ValueError(f"the written graph is not valid ONNX: {first_line(error)}") from None


def all_layers(model: Any) -> Any:
    """Every layer of ``model``, nested models' layers included (depth first)."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from all_layers(layer)


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


register_format(
    ExportFormat(
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
        run=_run_saved_model,
        marker="saved_model.pb",
    )
)
register_format(
    ExportFormat(
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
        run=_run_litert,
    )
)
register_format(
    ExportFormat(
        "onnx",
        "ONNX",
        "onnx",
        ".onnx",
        False,
        "onnxruntime",
        backends={"tensorflow": (("tf2onnx", "tf2onnx"), ("onnx", "onnx")), "torch": (("onnx", "onnx"),)},
        refused={"jax": "Keras's ONNX export under JAX needs the jax2onnx package, which archbuilder does not support"},
        run=_run_onnx,
        refuse=_refuse_grouped_under_tensorflow,
        validate=_validate_onnx,
        input_signature=True,
    )
)

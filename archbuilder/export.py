"""Deploying a model: a ``.keras`` file becomes a TensorFlow SavedModel, a LiteRT (TFLite) flatbuffer
or an ONNX graph, through Keras's own exporters (``keras.Model.export``).

===============  =====================  ============================================  ==================================
format           written                Keras exporter (backend)                      checked with
===============  =====================  ============================================  ==================================
``saved_model``  ``NAME_saved_model/``  ``tf_saved_model`` (TensorFlow, JAX)          ``tf.saved_model.load``
``litert``       ``NAME.tflite``        ``litert``: TFLite converter (TF)             the ``ai_edge_litert`` interpreter
``onnx``         ``NAME.onnx``          ``onnx``: tf2onnx (TF), torch.onnx (PyTorch)  ``onnxruntime``
===============  =====================  ============================================  ==================================

Every artifact is written atomically: into a hidden temporary sibling (``.NAME.PID.partial...``),
then renamed into place, so a kill or a failed conversion leaves the previous artifact (or nothing),
never half of one. An existing artifact is replaced only when asked (``overwrite=True``).

The exported graph is the model's inference pass (``training=False``: dropout off, batch norm on
its moving statistics), in float32: a model trained with mixed precision (``mixed_float16``
layers, the default on a GPU) is exported with float32 compute, its weights being float32 already.
The batch axis stays open. Its outputs are the model's, in order (the head, then any auxiliary
heads); the SavedModel's and LiteRT's ``serving_default`` signatures name them ``output_0``,
``output_1``, ... and take the image as ``input``.

Converters are optional dependencies (``pip install 'archbuilder[export]'``: tf2onnx, onnx,
onnxruntime, ai-edge-litert); a missing one is a one-line :class:`ExportError`, as is a format the
active Keras backend cannot export and a model a converter rejects. Known gap: tf2onnx cannot
convert a grouped convolution (Keras's TensorFlow backend runs it as an XLA-compiled function), so
ONNX export under TensorFlow refuses it up front and points to ``KERAS_BACKEND=torch``; any other
op tf2onnx leaves unconverted is caught by ONNX's checker.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archbuilder.artifacts import PARTIAL_MARKER, ArtifactError, describe_os_error, fsync_folder, write_atomic
from archbuilder.errors import ArchbuilderError

__all__ = [
    "FORMATS",
    "INSTALL",
    "ExportError",
    "ExportFormat",
    "ExportResult",
    "check_export",
    "check_supported",
    "default_output",
    "export_file",
    "export_model",
    "float32_model",
    "run_exported",
]

INSTALL = "pip install 'archbuilder[export]'"
#: The height and width of the check's images on a model with an open input size.
OPEN_SIZE = 224
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


# -- public API ---------------------------------------------------------------------------------


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


def export_file(
    model_path: str | os.PathLike[str],
    format: str,
    output: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    check: bool = False,
) -> ExportResult:
    """Export a saved ``.keras`` model to ``format`` (``saved_model``, ``litert`` or ``onnx``).

    Args:
        model_path: The ``.keras`` file (e.g. ``runs/lenet5/best.keras``).
        format: A key of :data:`FORMATS`.
        output: Where to write (default: :func:`default_output`).
        overwrite: Replace an existing artifact at ``output``.
        check: Run the artifact in its own runtime on random images and compare it with Keras
            (``ExportResult.max_abs_difference``).

    Returns:
        What was written: the artifact's path and format, the model's output names in the artifact's
        order, whether mixed-precision layers were exported in float32, and (with ``check``) the largest
        difference to Keras.

    Raises:
        ExportError: an unknown format, a backend that cannot export it, a missing converter, an
            unreadable model file, an output of the wrong kind (a wrong suffix, a file where a folder
            goes or the reverse, a folder that holds no SavedModel), an existing output (without
            ``overwrite``), a converter that rejects the model, or (with ``check``) an artifact whose
            outputs do not have the model's shapes or whose runtime is not installed.
        ArtifactError: the artifact cannot be written (full disk, no permission).
    """
    spec = _format(format)
    check_supported(spec.name)
    target = Path(output) if output is not None else default_output(model_path, spec.name)
    _check_output(target, spec, overwrite)
    from archbuilder.compile.model import load_model_file

    model = load_model_file(model_path, ExportError)
    exported = float32_model(model)
    path = _export(exported, target, spec, source=str(model_path))
    difference = check_export(exported, path, spec.name) if check else None
    return ExportResult(path, spec, tuple(_output_names(model)), exported is not model, difference)


def export_model(model: Any, output: str | os.PathLike[str], format: str, *, overwrite: bool = False) -> Path:
    """Export a ``keras.Model`` to ``format`` at ``output`` (atomically; see :func:`export_file`).

    A model with mixed-precision layers is exported in float32 (see :func:`float32_model`).

    Args:
        model: The ``keras.Model``; messages name it by its ``name``.
        output: Where to write: a file with the format's suffix, or a folder for ``saved_model``.
        format: A key of :data:`FORMATS`.
        overwrite: Replace an existing artifact at ``output``.

    Returns:
        ``output`` as a :class:`~pathlib.Path`.

    Raises:
        ExportError: an unknown format, a backend that cannot export it, a missing converter, an
            output of the wrong kind (a wrong suffix, a file where a folder goes or the reverse, a folder
            that holds no SavedModel), an existing output (without ``overwrite``), a converter that
            rejects the model.
        ArtifactError: the artifact cannot be written (full disk, no permission).
    """
    spec = _format(format)
    check_supported(spec.name)
    target = Path(output)
    _check_output(target, spec, overwrite)
    return _export(float32_model(model), target, spec, source=model.name)


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


def float32_model(model: Any) -> Any:
    """``model`` itself when every layer computes in float32, else a float32 copy with the same weights.

    A model trained with mixed precision stores ``mixed_float16`` layers, which would make the
    exported graph compute in float16 (slow or unsupported on most CPUs and converters); its
    variables are float32, so the copy holds exactly the trained weights.

    Args:
        model: a ``keras.Model``.

    Returns:
        ``model``, or its float32 copy.
    """
    import keras

    if all(_policy_name(layer) in (None, "float32") for layer in _all_layers(model)):
        return model
    config = _float32_config(keras.saving.serialize_keras_object(model))
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    return copy


def run_exported(path: str | os.PathLike[str], format: str, images: Any) -> list[Any]:
    """Run an exported artifact on ``images`` in the format's own runtime.

    The runtime is ``tf.saved_model.load`` (its ``serve`` function), the LiteRT interpreter (its
    ``serving_default`` signature) or onnxruntime (on the CPU).

    Args:
        path: The artifact: a SavedModel folder, a ``.tflite`` or an ``.onnx`` file.
        format: A key of :data:`FORMATS`, the artifact's format.
        images: A batch of images, NHWC (converted to float32).

    Returns:
        The artifact's outputs as NumPy arrays, in the model's output order.

    Raises:
        ExportError: ``format`` is unknown, or its runtime (``ai-edge-litert``, ``onnxruntime``) is not
            installed.
    """
    import numpy as np

    spec = _format(format)
    images = np.asarray(images, dtype="float32")
    if spec.name == "saved_model":
        import tensorflow as tf

        loaded = tf.saved_model.load(os.fspath(path))  # kept alive while its function runs
        outputs = loaded.serve(images)
        return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]
    if spec.name == "litert":
        interpreter = _require("ai_edge_litert.interpreter", "ai-edge-litert", spec).Interpreter(
            model_path=os.fspath(path)
        )
        runner = interpreter.get_signature_runner("serving_default")
        [name] = runner.get_input_details()
        results = runner(**{name: images})
        return [np.asarray(results[f"output_{i}"]) for i in range(len(results))]  # Keras names them so
    ort = _require("onnxruntime", "onnxruntime", spec)
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, {session.get_inputs()[0].name: images})]


def check_export(model: Any, path: str | os.PathLike[str], format: str, *, batch: int = 2, seed: int = 0) -> float:
    """Compare an exported artifact with its Keras model on random images.

    Both run in inference mode on ``batch`` images in [0, 1), of :data:`OPEN_SIZE` pixels along an open
    height or width; the artifact runs in its own runtime (:func:`run_exported`).

    Args:
        model: The Keras model the artifact was exported from.
        path: The artifact.
        format: A key of :data:`FORMATS`, the artifact's format.
        batch: How many images.
        seed: The seed of the images.

    Returns:
        The largest absolute difference between Keras's and the artifact's outputs, over every output.

    Raises:
        ExportError: ``format`` is unknown, its runtime is not installed, or the artifact's outputs do
            not have the model's shapes.
    """
    import keras
    import numpy as np

    shape = tuple(OPEN_SIZE if d is None else int(d) for d in model.input_shape[1:])
    images = np.random.default_rng(seed).random((batch, *shape), dtype="float32")
    expected = model(images, training=False)
    expected = [
        keras.ops.convert_to_numpy(e) for e in (expected if isinstance(expected, (list, tuple)) else [expected])
    ]
    with _quiet():
        actual = run_exported(path, format, images)
    if [a.shape for a in actual] != [e.shape for e in expected]:
        raise ExportError(
            f"{path}: the {_format(format).title} artifact's outputs have shapes "
            f"{[a.shape for a in actual]}, the model's {[e.shape for e in expected]}"
        )
    return max(float(np.max(np.abs(a.astype("float64") - e.astype("float64")))) for a, e in zip(actual, expected))


# -- writing -------------------------------------------------------------------------------------


def _export(model: Any, target: Path, spec: ExportFormat, *, source: str) -> Path:
    def write(temporary: Path) -> None:
        _convert(model, temporary, spec, source)

    if spec.folder:
        return _write_folder_atomic(target, write)
    return write_atomic(target, write)


def _convert(model: Any, path: Path, spec: ExportFormat, source: str) -> None:
    _refuse_inexpressible(model, spec, source)
    try:
        with _quiet():
            model.export(os.fspath(path), format=spec.keras_format, verbose=False, **_signature(model, spec))
            if spec.name == "onnx":
                _check_onnx_graph(path)
    except (OSError, MemoryError):
        raise
    except ImportError as error:
        raise ExportError(
            f"{spec.title} export needs a package that is not installed ({error}). Install the "
            f"converters with: {INSTALL}"
        ) from None
    except Exception as error:  # the converter rejected the model (an op it cannot express, ...)
        others = ", ".join(name for name in FORMATS if name != spec.name)
        raise ExportError(
            f"{source}: the {spec.title} converter rejected this model ({type(error).__name__}: "
            f"{_first_line(error)}). Try another format ({others})."
        ) from None


def _refuse_inexpressible(model: Any, spec: ExportFormat, source: str) -> None:
    """Layers a converter is known to mistranslate, refused before converting (one line, what works instead)."""
    import keras

    if spec.name != "onnx" or keras.backend.backend() != "tensorflow":
        return
    grouped = [layer for layer in _all_layers(model) if getattr(layer, "groups", 1) > 1]
    if grouped:
        more = f" and {len(grouped) - 1} more" if len(grouped) > 1 else ""
        raise ExportError(
            f"{source}: ONNX under the TensorFlow backend cannot express the grouped convolution "
            f"'{grouped[0].name}' (groups={grouped[0].groups}){more}: Keras runs grouped convolutions as an "
            "XLA-compiled function, which tf2onnx leaves unconverted. Export ONNX with KERAS_BACKEND=torch "
            "(torch.onnx converts them), or export saved_model or litert."
        )


def _check_onnx_graph(path: Path) -> None:
    """tf2onnx logs the ops it cannot convert and writes them anyway; such a graph fails ONNX's checker."""
    import onnx

    try:
        onnx.checker.check_model(os.fspath(path))
    except onnx.checker.ValidationError as error:
        raise ValueError(f"the written graph is not valid ONNX: {_first_line(error)}") from None


def _signature(model: Any, spec: ExportFormat) -> dict[str, Any]:
    """The input signature for ONNX, spelled out: Keras's ONNX exporter otherwise refuses a model
    that was loaded from a file and never called. The other exporters derive the same one."""
    import keras

    if spec.name != "onnx":
        return {}
    return {
        "input_signature": [keras.InputSpec(shape=tuple(t.shape), dtype=t.dtype, name=t.name) for t in model.inputs]
    }


def _write_folder_atomic(target: Path, write: Callable[[Path], None]) -> Path:
    """``write`` a folder into a hidden sibling, then rename it over ``target`` (an old folder is
    moved aside first and deleted last; on failure it is put back)."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}{PARTIAL_MARKER}")
    aside = target.with_name(f".{target.name}.{os.getpid()}.old")
    moved = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(temporary, ignore_errors=True)
        write(temporary)
        _fsync_tree(temporary)
        if target.exists():
            os.replace(target, aside)
            moved = True
        os.replace(temporary, target)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if moved and not target.exists():
            with contextlib.suppress(OSError):
                os.replace(aside, target)
        if isinstance(error, OSError) and not isinstance(error, ArtifactError):
            raise ArtifactError(describe_os_error(error, target)) from error
        raise
    if moved:
        shutil.rmtree(aside, ignore_errors=True)
    fsync_folder(target.parent)
    return target


def _fsync_tree(folder: Path) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb+") as handle:
                os.fsync(handle.fileno())
        fsync_folder(Path(root))


def _check_output(target: Path, spec: ExportFormat, overwrite: bool) -> None:
    if not spec.folder and target.suffix != spec.suffix:
        raise ExportError(f"{target}: {spec.title} files end with {spec.suffix}; give -o NAME{spec.suffix}")
    if spec.folder and target.suffix in (".keras", ".tflite", ".onnx", ".h5"):
        raise ExportError(
            f"{target}: a SavedModel is a folder; give a folder name without {target.suffix}, "
            f"e.g. {target.with_suffix('').name}_saved_model"
        )
    if not (target.exists() or target.is_symlink()):
        return
    if spec.folder:
        if not target.is_dir():
            raise ExportError(f"{target}: exists and is not a folder; remove it or give another -o")
        if not (target / "saved_model.pb").is_file() and any(target.iterdir()):
            raise ExportError(
                f"{target}: exists and is not a SavedModel folder (no saved_model.pb); archbuilder "
                "replaces only a SavedModel. Give another -o"
            )
    elif target.is_dir():
        raise ExportError(f"{target}: is a folder; give a file name ending with {spec.suffix}")
    if not overwrite:
        raise ExportError(f"{target}: already exists. Pass --overwrite to replace it, or -o to write elsewhere.")


# -- helpers -------------------------------------------------------------------------------------


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


def _require(module: str, package: str, spec: ExportFormat) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(
            f"running a {spec.title} artifact needs the '{package}' package, which is not installed. "
            f"Install it with: {INSTALL}"
        ) from None


def _all_layers(model: Any) -> Iterator[Any]:
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)


def _policy_name(layer: Any) -> str | None:
    policy = getattr(layer, "dtype_policy", None)
    return getattr(policy, "name", None)


def _float32_config(config: Any) -> Any:
    """A serialized model with every mixed-precision dtype policy turned into float32."""
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(config.get("config"), dict):
            name = config["config"].get("name")
            if isinstance(name, str) and name.startswith("mixed_"):
                return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_config(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_config(item) for item in config]
    return config


def _output_names(model: Any) -> Sequence[str]:
    return list(getattr(model, "output_names", None) or [f"output_{i}" for i in range(len(model.outputs))])


def _first_line(error: BaseException, limit: int = 300) -> str:
    text = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return text if len(text) <= limit else text[:limit] + "..."


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The converters' Python warnings and log records off (tf2onnx's NumPy 2 patch and its per-op
    errors, TensorFlow's retracing notes): a failure is reported once, as an :class:`ExportError`."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)

"""Converting a Keras model with Keras's exporters: the float32 copy of a mixed-precision model, the
format's own hooks around the exporter (what it refuses up front, how the written artifact is
validated), and a converter's failure reported as one :class:`~archbuilder.export.formats.ExportError` line."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archbuilder.export.formats import FORMATS, INSTALL, ExportError, ExportFormat, all_layers, first_line


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

    if all(_policy_name(layer) in (None, "float32") for layer in all_layers(model)):
        return model
    config = _float32_config(keras.saving.serialize_keras_object(model))
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    return copy


def _convert(model: Any, path: Path, spec: ExportFormat, source: str) -> None:
    if spec.refuse is not None:
        spec.refuse(model, source)
    try:
        with _quiet():
            model.export(os.fspath(path), format=spec.keras_format, verbose=False, **_signature(model, spec))
            if spec.validate is not None:
                spec.validate(os.fspath(path))
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
            f"{first_line(error)}). Try another format ({others})."
        ) from None


def _signature(model: Any, spec: ExportFormat) -> dict[str, Any]:
    """The input signature, spelled out for the formats whose exporter wants it (Keras's ONNX exporter
    refuses a model that was loaded from a file and never called); the others derive the same one."""
    import keras

    if not spec.input_signature:
        return {}
    return {
        "input_signature": [keras.InputSpec(shape=tuple(t.shape), dtype=t.dtype, name=t.name) for t in model.inputs]
    }


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

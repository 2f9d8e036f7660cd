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

from archbuilder.export.check import check_export, run_exported
from archbuilder.export.converters import float32_model
from archbuilder.export.formats import (
    FORMATS,
    INSTALL,
    ExportError,
    ExportFormat,
    ExportResult,
    check_supported,
    default_output,
)
from archbuilder.export.writing import export_file, export_model

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

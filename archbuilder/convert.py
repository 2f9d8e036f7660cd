"""Model conversions: a Flatten+Dense classifier becomes a fully convolutional network.

"Any FC layer can be converted to a CONV layer": the first Dense after the Flatten, which looks at
an ``H x W x C`` volume, becomes a Conv2D with an ``H x W`` kernel (``padding='valid'``), so on the
training size it yields a ``1 x 1 x units`` volume with the same numbers; every later Dense becomes a
1x1 Conv2D. With the input size left open, one forward pass on a larger image gives a map of class
scores: VGG-16 trained on 224x224 (total stride 32) gives a 6x6 map on 384x384, since
384/32 = 12 and (12 - 7)/1 + 1 = 6 (CS231n, "Converting FC layers to CONV layers").

Each cell of the map is the original network on the crop under it (crops of the training size, one
every ``stride`` pixels) exactly when the layers before the Flatten never pad: with ``padding='same'``
a crop sees zeros at its border where the large image has its neighbouring pixels, so a cell scores
the same window as its crop but with real context instead of zero padding, and the numbers differ
(the seeds' "identical result" holds for networks without padding).

The converted model is independent of the original: its layers are clones with the weights copied.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from archbuilder.artifacts import write_atomic
from archbuilder.compile.model import load_model_file
from archbuilder.errors import ArchbuilderError

__all__ = ["ConversionError", "convert_file", "describe_conversion", "to_fully_convolutional", "with_open_input"]


class ConversionError(ArchbuilderError, ValueError):
    """A model cannot be converted; the message says why and what to do instead."""


#: Layers that may sit between the Flatten and the output and act on each position alone
#: (elementwise, or along the channel axis only). Normalizations are allowed only after the first
#: Dense: before it they normalize every (h, w, c) feature with its own statistics, which do not slide.
_IDENTITY_AT_INFERENCE = (
    keras.layers.Dropout,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
)
_ELEMENTWISE = (
    keras.layers.Activation,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.ELU,
    keras.layers.Softmax,
) + _IDENTITY_AT_INFERENCE
_PER_CHANNEL = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)
_GLOBAL_POOLS = (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)


# -- public API ---------------------------------------------------------------------------------


def to_fully_convolutional(model: keras.Model) -> keras.Model:
    """The model with its Flatten+Dense head turned into convolutions and its input size left open.

    The layers before the Flatten are cloned with their weights; the first Dense after the Flatten
    becomes a ``Conv2D(units, (H, W))`` on the ``H x W x C`` map the Flatten received (kernel
    ``(H*W*C, units)`` reshaped to ``(H, W, C, units)``: Keras flattens row-major over (H, W, C)),
    every later Dense a ``Conv2D(units, 1)``; activations (softmax acts on the channel axis), dropout
    and per-channel normalizations are kept. The converted layers keep the Dense layers' names
    (``head_fc_0``, ``predictions``), so they can be traced back to the blueprint.

    On the training size the output is ``(batch, 1, 1, classes)`` and equals the original's output;
    on a larger image it is a ``(batch, h, w, classes)`` map of class scores, one cell per crop of
    the training size taken every ``stride`` pixels (equal to the original on those crops when the
    layers before the Flatten do not pad; see the module docstring).

    Raises:
        ConversionError: the model has no Flatten+Dense head (e.g. a global-pooling head, which
            already runs on any input size: use :func:`with_open_input`), has several inputs or
            outputs (auxiliary heads), or a layer cannot take an open input size.
    """
    model = _functional(model)
    image = _single_image_input(model)
    output = _single_output(model)
    flatten, flatten_input, head = _find_head(model, output)
    if len(flatten_input.shape) != 4 or flatten.data_format != "channels_last":
        raise ConversionError(
            f"the Flatten '{flatten.name}' receives {_shape(flatten_input)}; only a channels-last "
            "image map (batch, height, width, channels) can be converted to convolutions"
        )
    height, width = flatten_input.shape[1:3]
    if height is None or width is None:
        raise ConversionError(
            f"the Flatten '{flatten.name}' receives a map of unknown size {_shape(flatten_input)}; "
            "build the model with a fixed input size (the size it was trained on) and convert that"
        )

    inputs = keras.Input(shape=(None, None, image.shape[-1]), dtype=image.dtype, name=_layer_of(image).name)
    x = _clone_graph(keras.Model(model.inputs[0], flatten_input), inputs, "before the Flatten")
    first_dense_done = False
    for layer in head:
        if isinstance(layer, keras.layers.Dense):
            kernel_size = (height, width) if not first_dense_done else (1, 1)
            x = _dense_to_conv(layer, kernel_size, x)
            first_dense_done = True
        else:
            x = _clone_layer(layer, x)
    return keras.Model(inputs, x, name=f"{model.name}_fully_convolutional")


def with_open_input(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (weights included) whose input is ``keras.Input((None, None, C))``.

    For networks that already run on any input size (convolutions and global pooling, e.g. ResNet,
    MobileNet, NIN, All-CNN): a global-pooling head averages over the larger map and still returns
    one score vector per image.

    Raises:
        ConversionError: a layer needs the training size (a Flatten+Dense head: use
            :func:`to_fully_convolutional`), or the model has several inputs.
    """
    model = _functional(model)
    image = _single_image_input(model)
    inputs = keras.Input(shape=(None, None, image.shape[-1]), dtype=image.dtype, name=_layer_of(image).name)
    flattens = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Flatten)]
    outputs = _clone_graph(
        model,
        inputs,
        "",
        hint=(f" (it has a Flatten: '{flattens[0]}'; use to_fully_convolutional)" if flattens else ""),
    )
    return keras.Model(inputs, outputs, name=model.name)


def convert_file(source: str | os.PathLike[str], output: str | os.PathLike[str]) -> tuple[keras.Model, keras.Model]:
    """Load ``source`` (a ``.keras`` file), convert it with :func:`to_fully_convolutional`, save it
    to ``output`` (a ``.keras`` file; folders are created). Returns (original, converted).

    Raises:
        ConversionError: a file is missing or unreadable, or the model cannot be converted.
        ArtifactError: the output cannot be written (a full disk, no permission).
    """
    source, output = Path(source), Path(output)
    for path, role in ((source, "MODEL"), (output, "-o")):
        if path.suffix != ".keras":
            raise ConversionError(
                f"{path}: {role} must be a .keras file (make one from a blueprint with "
                "`archbuilder build BLUEPRINT -o MODEL.keras`)"
            )
    original = load_model_file(source, ConversionError)
    try:
        converted = to_fully_convolutional(original)
    except ConversionError as error:
        raise ConversionError(f"{source}: {error}") from None
    write_atomic(output, converted.save)  # folders created; a kill or a full disk leaves no truncated file
    return original, converted


def describe_conversion(original: keras.Model, converted: keras.Model) -> str:
    """What changed, and what a larger input gives: a few lines for the command line."""
    lines = []
    for layer in converted.layers:
        if isinstance(layer, keras.layers.Conv2D) and _is_dense(original, layer.name):
            dense = original.get_layer(layer.name)
            lines.append(
                f"  {layer.name}: Dense({dense.units}) -> Conv2D({layer.filters}, "
                f"kernel_size={layer.kernel_size[0]}x{layer.kernel_size[1]})"
            )
    image = original.inputs[0]
    height, width, channels = image.shape[1:]
    lines.append(
        f"input: {height}x{width}x{channels} -> any size (None, None, {channels}); "
        f"a {height}x{width} image gives a 1x1 map of {converted.outputs[0].shape[-1]} scores"
    )
    stride = output_stride(converted, (height, width, channels))
    if stride is not None:
        lines.append(
            f"total stride {stride}: a {height + 2 * stride}x{width + 2 * stride} image gives a 3x3 map, "
            f"cell (i, j) scoring the {height}x{width} crop at ({stride}*i, {stride}*j)"
        )
    return "\n".join(lines)


def output_stride(converted: keras.Model, shape: tuple[int, int, int], limit: int = 512) -> int | None:
    """Input pixels per cell of the score map (the network's total stride): the distance between the
    heights at which the map gains its second and its third row (None if not found within ``limit``)."""
    height, width, channels = shape
    thresholds: list[int] = []
    for extra in range(1, limit + 1):
        rows = converted.compute_output_shape((1, height + extra, width, channels))[1]
        if rows is not None and rows > len(thresholds) + 1:
            thresholds.append(extra)
            if len(thresholds) == 2:
                return thresholds[1] - thresholds[0]
    return None


# -- finding the head ---------------------------------------------------------------------------


def _functional(model: Any) -> keras.Model:
    if isinstance(model, keras.Sequential):
        try:
            return keras.Model(model.inputs, model.outputs, name=model.name)
        except Exception as error:  # an unbuilt Sequential has no inputs
            raise ConversionError(
                f"the Sequential model '{model.name}' is not built; call it once or give it an "
                f"Input first ({type(error).__name__}: {error})"
            ) from None
    if not isinstance(model, keras.Model):
        raise ConversionError(f"expected a keras.Model. Received: {type(model).__name__}")
    if not hasattr(model, "_run_through_graph") or not model.outputs:
        raise ConversionError(
            f"model '{model.name}' is a subclassed model; only functional and Sequential models "
            "(such as archbuilder's build_model returns) have a layer graph to convert"
        )
    return model


def _single_image_input(model: keras.Model) -> Any:
    if len(model.inputs) != 1:
        raise ConversionError(
            f"model '{model.name}' has {len(model.inputs)} inputs; only a model with one image input can be converted"
        )
    image = model.inputs[0]
    if len(image.shape) != 4:
        raise ConversionError(
            f"model '{model.name}' takes {_shape(image)}; only image models "
            "(batch, height, width, channels) can be converted"
        )
    return image


def _single_output(model: keras.Model) -> Any:
    if len(model.outputs) != 1:
        names = ", ".join(f"'{_layer_of(t).name}'" for t in model.outputs)
        raise ConversionError(
            f"model '{model.name}' has {len(model.outputs)} outputs ({names}); only a single-output classifier can be "
            "converted. Auxiliary heads matter only in training: convert the main output alone, "
            "e.g. to_fully_convolutional(keras.Model(model.inputs, model.outputs[0]))"
        )
    return model.outputs[0]


def _find_head(model: keras.Model, output: Any) -> tuple[keras.layers.Flatten, Any, list[keras.layers.Layer]]:
    """The Flatten, its input tensor and the layers after it, in order; checks each can act per position."""
    head: list[keras.layers.Layer] = []
    tensor = output
    while True:
        layer = _layer_of(tensor)
        if isinstance(layer, keras.layers.Flatten):
            break
        if isinstance(layer, _GLOBAL_POOLS) or isinstance(layer, keras.layers.InputLayer):
            _no_flatten_head(model, output, layer)
        if not isinstance(layer, (keras.layers.Dense, *_ELEMENTWISE, *_PER_CHANNEL)):
            if len(output.shape) == 4:
                _no_flatten_head(model, output, layer)
            raise ConversionError(
                f"model '{model.name}' has no Flatten+Dense head that converts: going back from the output, "
                f"'{layer.name}' ({type(layer).__name__}) comes before any Flatten and cannot be applied at each "
                "position (between a Flatten and the output only Dense, dropout, activation and, after the first "
                "Dense, BatchNormalization/LayerNormalization layers are converted)"
            )
        head.insert(0, layer)
        tensor = _only_input(layer, tensor)
    flatten, tensor = layer, _only_input(layer, tensor)
    denses = [i for i, layer in enumerate(head) if isinstance(layer, keras.layers.Dense)]
    if not denses:
        pool = _global_pool_before(tensor)
        if pool is not None:
            _no_flatten_head(model, output, pool)
        raise ConversionError(
            f"model '{model.name}': its Flatten '{flatten.name}' is followed by no Dense layer, so "
            "there is no FC layer to turn into a convolution"
        )
    for layer in head[: denses[0]]:
        if isinstance(layer, _PER_CHANNEL):
            raise ConversionError(
                f"layer '{layer.name}' ({type(layer).__name__}) normalizes the flattened features between the "
                f"Flatten '{flatten.name}' and the first Dense: its statistics belong to fixed positions, so it "
                "cannot slide over a larger input"
            )
    for layer in head:
        if isinstance(layer, _PER_CHANNEL + (keras.layers.Softmax,)) and _axes(layer) not in ([-1], [1]):
            raise ConversionError(
                f"layer '{layer.name}' ({type(layer).__name__}) acts on axis {layer.axis}; only the "
                "feature axis (-1) maps to the channel axis of a convolution"
            )
    return flatten, tensor, head


def _no_flatten_head(model: keras.Model, output: Any, layer: keras.layers.Layer) -> None:
    if isinstance(layer, _GLOBAL_POOLS):
        raise ConversionError(
            f"model '{model.name}' has a global-pooling head ('{layer.name}', {type(layer).__name__}), not a "
            "Flatten+Dense one: its classifier sees the pooled features, so the network already applies to any input "
            "size and there is nothing to convert. To run it on larger images, give it an open input size with "
            "archbuilder.convert.with_open_input(model) (one score vector per image)"
        )
    last = _layer_of(output)
    raise ConversionError(
        f"model '{model.name}' has no Flatten+Dense head (its output {_shape(output)} comes from "
        f"'{last.name}', {type(last).__name__}); a network without FC layers is fully convolutional already: "
        "give it an open input size with archbuilder.convert.with_open_input(model)"
    )


def _global_pool_before(tensor: Any, depth: int = 4) -> keras.layers.Layer | None:
    """A global pooling layer a few single-input layers upstream (the 1x1-conv classifier head)."""
    for _ in range(depth):
        layer = _layer_of(tensor)
        if isinstance(layer, _GLOBAL_POOLS):
            return layer
        inputs = _node(tensor).input_tensors
        if len(inputs) != 1:
            return None
        tensor = inputs[0]
    return None


# -- building -----------------------------------------------------------------------------------


def _clone_graph(part: keras.Model, inputs: Any, where: str, hint: str = "") -> Any:
    """``part`` called anew on ``inputs`` with cloned layers holding copies of its weights."""
    try:
        structured = [inputs] if isinstance(part.input, (list, tuple)) else inputs  # as part.input is
        clone = keras.models.clone_model(part, input_tensors=structured)
    except Exception as error:
        place = f" {where}" if where else ""
        raise ConversionError(
            f"a layer{place} cannot take an open input size (None, None, {inputs.shape[-1]})"
            f"{hint}: {type(error).__name__}: {error}"
        ) from None
    for layer in clone.layers:
        if not isinstance(layer, keras.layers.InputLayer):
            _copy_weights(part.get_layer(layer.name), layer)
    return clone.outputs[0]


def _clone_layer(layer: keras.layers.Layer, x: Any) -> Any:
    config = layer.get_config()
    if "axis" in config and isinstance(layer, _PER_CHANNEL + (keras.layers.Softmax,)):
        config["axis"] = -1
    if "noise_shape" in config:
        config["noise_shape"] = None
    clone = layer.__class__.from_config(config)
    y = clone(x)
    _copy_weights(layer, clone)
    return y


def _dense_to_conv(dense: keras.layers.Dense, kernel_size: tuple[int, int], x: Any) -> Any:
    if getattr(dense, "quantization_mode", None):
        raise ConversionError(
            f"the Dense '{dense.name}' is quantized ({dense.quantization_mode}); convert the "
            "float model, then quantize the result"
        )
    conv = keras.layers.Conv2D(
        dense.units,
        kernel_size,
        padding="valid",
        activation=dense.activation,
        use_bias=dense.use_bias,
        kernel_initializer=dense.kernel_initializer,
        bias_initializer=dense.bias_initializer,
        kernel_regularizer=dense.kernel_regularizer,
        bias_regularizer=dense.bias_regularizer,
        activity_regularizer=dense.activity_regularizer,
        kernel_constraint=dense.kernel_constraint,
        bias_constraint=dense.bias_constraint,
        trainable=dense.trainable,
        dtype=dense.dtype_policy,
        name=dense.name,
    )
    y = conv(x)
    kernel = np.asarray(keras.ops.convert_to_numpy(dense.kernel))  # merged when LoRA is on
    conv.kernel.assign(kernel.reshape(*kernel_size, -1, dense.units))
    if dense.use_bias:
        conv.bias.assign(keras.ops.convert_to_numpy(dense.bias))
    return y


def _copy_weights(source: keras.layers.Layer, target: keras.layers.Layer) -> None:
    target.set_weights(source.get_weights())
    for layer in _with_sublayers(target):  # set_weights bypasses the hook that load_model uses
        if isinstance(layer, keras.layers.Normalization):
            layer.finalize_state()


def _with_sublayers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layer and, for a nested model, every layer inside it."""
    found = [layer]
    if isinstance(layer, keras.Model):
        for child in layer.layers:
            found.extend(_with_sublayers(child))
    return found


# -- graph helpers (KerasTensor history: the operation that made a tensor, and its call) ---------


def _layer_of(tensor: Any) -> Any:
    return tensor._keras_history.operation


def _node(tensor: Any) -> Any:
    history = tensor._keras_history
    return history.operation._inbound_nodes[history.node_index]


def _only_input(layer: keras.layers.Layer, tensor: Any) -> Any:
    """The single input of the call of ``layer`` that produced ``tensor``."""
    inputs = _node(tensor).input_tensors
    if len(inputs) != 1:
        raise ConversionError(
            f"layer '{layer.name}' ({type(layer).__name__}) in the head takes {len(inputs)} inputs; "
            "only a chain of single-input layers after the Flatten can be converted"
        )
    return inputs[0]


def _is_dense(model: keras.Model, name: str) -> bool:
    try:
        return isinstance(model.get_layer(name), keras.layers.Dense)
    except ValueError:
        return False


def _axes(layer: keras.layers.Layer) -> list[int]:
    axis = layer.axis
    return list(axis) if isinstance(axis, (list, tuple)) else [axis]


def _shape(tensor: Any) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in tensor.shape) + ")"

"""One rule per layer kind: output shape, parameters (as Keras counts them), MACs, receptive field.

Shapes exclude the batch axis. Output sizes follow Keras's formulas exactly
(``keras/src/ops/operation_utils.py::compute_conv_output_shape``):
``valid``: floor((in - d(k-1) - 1) / s) + 1; ``same``: floor((in - 1) / s) + 1.
MACs count the multiply-accumulates of conv and dense layers (the convention of published
figures); FLOPs are 2 x MACs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from archbuilder.blueprint import layers as L
from archbuilder.blueprint.fields import ACTIVATIONS, padding_amounts, pair
from archbuilder.blueprint.layers import Kind
from archbuilder.errors import ArchbuilderError

Shape = tuple[int, ...]
Pair = tuple[int, int]


class GeometryError(ArchbuilderError, ValueError):
    """A layer cannot be applied to its input; the message says why and what to change."""


@dataclass(frozen=True)
class Tensor:
    """What the analyzer knows about a tensor: its shape and receptive field (None: global)."""

    shape: Shape
    receptive_field: Pair | None = (1, 1)
    jump: Pair | None = (1, 1)


@dataclass(frozen=True)
class Effect:
    """What a layer produces."""

    output: Tensor
    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0
    #: Elements of the tensors a nested network (a keras_application) produces inside, besides its output.
    inner_activations: int = 0


@dataclass(frozen=True)
class FitLoss:
    """A ``valid`` window that does not tile its input: the last rows/columns Keras never reads."""

    rows: int
    columns: int
    described: str

    def message(self, strict: bool = False) -> str:
        """The warning (or, with ``strict``, the error) naming the rows and columns Keras drops, and what to do."""
        lost = " and ".join(
            text
            for text in (
                f"the last {self.rows} row(s)" if self.rows else "",
                f"the last {self.columns} column(s)" if self.columns else "",
            )
            if text
        )
        advice = "Adjust the padding or input size" + (
            "." if strict else ", or set strict_fit: true to make this an error."
        )
        return f"inexact fit: ({self.described}) does not tile the input; Keras drops {lost} of the input. {advice}"


Warn = Callable[[FitLoss], None]
#: ``(spec, inputs, warn) -> effect``; a rule takes the kind its tag names (RULES is looked up by the
#: spec's ``type``), so the registry types the spec as Any.
Rule = Callable[[Any, list[Tensor], Warn], Effect]
RULES: dict[str, Rule] = {}

_K = TypeVar("_K", bound=Kind)
_KindRule = Callable[[_K, list[Tensor], Warn], Effect]


def rule(*tags: str) -> Callable[[_KindRule[_K]], _KindRule[_K]]:
    """Register the decorated function as the analysis rule of the layer kinds ``tags``.

    A rule is called as ``rule(spec, inputs, warn)`` with the layer, its input tensors and a callback for
    inexact fits, and returns the layer's :class:`Effect`; :data:`RULES` maps each tag to it.

    Args:
        *tags: The layer ``type`` tags the rule analyzes.

    Returns:
        A decorator that registers a rule and returns it unchanged.
    """

    def register(function: _KindRule[_K]) -> _KindRule[_K]:
        for tag in tags:
            RULES[tag] = function
        return function

    return register


def _fmt(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def _spatial(spec: Kind, tensor: Tensor) -> tuple[int, int, int]:
    if len(tensor.shape) != 3:
        raise GeometryError(
            f"'{spec.type}' needs a feature map [height, width, channels]. Received: shape {list(tensor.shape)}; "
            "move it before the flatten/global pooling/dense layers"
        )
    return tensor.shape


def output_length(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """Keras's output length along one axis, and the input pixels left uncovered (``valid`` only)."""
    if padding == "same":
        return (size - 1) // stride + 1, 0
    effective = dilation * (kernel - 1) + 1
    if size < effective:
        return 0, 0
    return (size - effective) // stride + 1, (size - effective) % stride


def _window(
    spec: Kind, tensor: Tensor, kernel: Pair, strides: Pair, dilation: Pair, padding: str, warn: Warn
) -> tuple[int, int]:
    """Output height and width of a sliding window; errors on an empty output, warns on an inexact fit."""
    height, width, _ = _spatial(spec, tensor)
    out_h, lost_h = output_length(height, kernel[0], strides[0], dilation[0], padding)
    out_w, lost_w = output_length(width, kernel[1], strides[1], dilation[1], padding)
    described = (
        f"input {height}x{width}, {'pool_size' if 'pool' in spec.type else 'kernel_size'}={_pair_text(kernel)}, "
        f"strides={_pair_text(strides)}"
        + (f", dilation_rate={_pair_text(dilation)}" if max(dilation) > 1 else "")
        + f", padding='{padding}'"
    )
    if out_h <= 0 or out_w <= 0:
        raise GeometryError(
            f"output size would be {max(out_h, 0)}x{max(out_w, 0)} ({described}). "
            "Use padding='same', a smaller kernel, or remove a downsampling stage."
        )
    if lost_h or lost_w:
        warn(FitLoss(lost_h, lost_w, described))
    return out_h, out_w


def _pair_text(value: Pair) -> str:
    return str(value[0]) if value[0] == value[1] else f"({value[0]}, {value[1]})"


def _grow(tensor: Tensor, kernel: Pair, strides: Pair, dilation: Pair = (1, 1)) -> tuple[Pair | None, Pair | None]:
    """Receptive field after a window: r + (k_eff - 1) * jump, jump * stride."""
    if tensor.receptive_field is None or tensor.jump is None:
        return None, None
    (rf_h, rf_w), (jump_h, jump_w) = tensor.receptive_field, tensor.jump
    rf = (rf_h + (dilation[0] * (kernel[0] - 1)) * jump_h, rf_w + (dilation[1] * (kernel[1] - 1)) * jump_w)
    jump = (jump_h * strides[0], jump_w * strides[1])
    return rf, jump


def _bias(spec: L.ConvOptions, units: int) -> int:
    return units if spec.use_bias is True else 0


def _padding_mode(spec: L.SpatialOptions | L.Pool) -> str:
    padding = spec.padding
    if not isinstance(padding, str) or padding not in ("same", "valid"):
        raise GeometryError(f"explicit padding {padding!r} must be lowered to zero_padding + 'valid' before analysis")
    return padding


@dataclass(frozen=True)
class _Sliding:
    """What every convolution rule needs: input channels, kernel area, output size, receptive field."""

    channels: int
    area: int
    height: int
    width: int
    receptive_field: Pair | None
    jump: Pair | None

    def output(self, channels: int) -> Tensor:
        return Tensor((self.height, self.width, channels), self.receptive_field, self.jump)


def _slide(spec: L.SpatialOptions, tensor: Tensor, warn: Warn) -> _Sliding:
    _, _, channels = _spatial(spec, tensor)
    kernel, strides, dilation = pair(spec.kernel_size), pair(spec.strides), pair(spec.dilation_rate)
    height, width = _window(spec, tensor, kernel, strides, dilation, _padding_mode(spec), warn)
    rf, jump = _grow(tensor, kernel, strides, dilation)
    return _Sliding(channels, kernel[0] * kernel[1], height, width, rf, jump)


@rule("conv")
def conv_rule(spec: L.Conv, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``conv`` layer: output size, weights (per group) and bias, MACs, receptive field.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Called with the input a ``valid`` window leaves unread (it may raise, under ``strict_fit``).

    Returns:
        The output tensor, with the layer's parameters and MACs.

    Raises:
        GeometryError: The input channels are not divisible by ``groups``,
            the input is no feature map [height, width, channels],
            its padding is explicit (not lowered), or the output would be empty.
    """
    (tensor,) = inputs
    if len(tensor.shape) == 3 and tensor.shape[2] % spec.groups:
        raise GeometryError(
            "the input channels must be evenly divisible by the number of groups. "
            f"Received: groups={spec.groups}, input channels={tensor.shape[2]}"
        )
    window = _slide(spec, tensor, warn)
    per_output = window.area * (window.channels // spec.groups)
    return Effect(
        window.output(spec.filters),
        trainable=per_output * spec.filters + _bias(spec, spec.filters),
        macs=window.height * window.width * spec.filters * per_output,
    )


@rule("depthwise_conv")
def depthwise_rule(spec: L.DepthwiseConv, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``depthwise_conv`` layer: ``depth_multiplier`` outputs per input channel.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Called with the input a ``valid`` window leaves unread (it may raise, under ``strict_fit``).

    Returns:
        The output tensor, with the layer's parameters and MACs.

    Raises:
        GeometryError: The input is no feature map [height, width, channels],
            its padding is explicit (not lowered), or the output would be empty.
    """
    window = _slide(spec, inputs[0], warn)
    out_channels = window.channels * spec.depth_multiplier
    return Effect(
        window.output(out_channels),
        trainable=window.area * out_channels + _bias(spec, out_channels),
        macs=window.height * window.width * out_channels * window.area,
    )


@rule("separable_conv")
def separable_rule(spec: L.SeparableConv, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``separable_conv`` layer: a depthwise conv, then a pointwise conv to ``filters``.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Called with the input a ``valid`` window leaves unread (it may raise, under ``strict_fit``).

    Returns:
        The output tensor, with the layer's parameters and MACs.

    Raises:
        GeometryError: The input is no feature map [height, width, channels],
            its padding is explicit (not lowered), or the output would be empty.
    """
    window = _slide(spec, inputs[0], warn)
    middle = window.channels * spec.depth_multiplier
    return Effect(
        window.output(spec.filters),
        trainable=window.area * middle + middle * spec.filters + _bias(spec, spec.filters),
        macs=window.height * window.width * (middle * window.area + middle * spec.filters),
    )


@rule("dense")
def dense_rule(spec: L.Dense, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``dense`` layer, applied on the last axis (a feature map keeps its receptive field).

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The output tensor, with the layer's parameters and MACs.
    """
    (tensor,) = inputs
    positions = math.prod(tensor.shape[:-1])
    features = tensor.shape[-1]
    keeps_map = len(tensor.shape) == 3
    return Effect(
        Tensor(
            tensor.shape[:-1] + (spec.units,),
            tensor.receptive_field if keeps_map else None,
            tensor.jump if keeps_map else None,
        ),
        trainable=features * spec.units + _bias(spec, spec.units),
        macs=positions * features * spec.units,
    )


@rule("max_pool", "avg_pool")
def pool_rule(spec: L.Pool, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``max_pool`` or ``avg_pool`` layer (``strides`` default to ``pool_size``).

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Called with the input a ``valid`` window leaves unread (it may raise, under ``strict_fit``).

    Returns:
        The output tensor (pooling has no parameters).

    Raises:
        GeometryError: The input is no feature map [height, width, channels],
            its padding is explicit (not lowered), or the output would be empty.
    """
    (tensor,) = inputs
    _, _, channels = _spatial(spec, tensor)
    kernel = pair(spec.pool_size)
    strides = pair(spec.strides) if spec.strides is not None else kernel
    out_h, out_w = _window(spec, tensor, kernel, strides, (1, 1), _padding_mode(spec), warn)
    rf, jump = _grow(tensor, kernel, strides)
    return Effect(Tensor((out_h, out_w, channels), rf, jump))


@rule("global_avg_pool", "global_max_pool")
def global_pool_rule(spec: L.GlobalPool, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a global pooling layer: a channel vector, or 1x1xC with ``keepdims``; the field becomes global.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The output tensor.

    Raises:
        GeometryError: The input is no feature map [height, width, channels].
    """
    (tensor,) = inputs
    _, _, channels = _spatial(spec, tensor)
    return Effect(Tensor((1, 1, channels) if spec.keepdims else (channels,), None, None))


@rule("flatten")
def flatten_rule(spec: Kind, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``flatten`` layer: one axis of all the elements; the field becomes global.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The output tensor.
    """
    (tensor,) = inputs
    return Effect(Tensor((math.prod(tensor.shape),), None, None))


@rule(*ACTIVATIONS, "dropout", "lrn", "rescaling")
def elementwise_rule(spec: Kind, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a layer that keeps its input's shape and has no weights (activations, dropout, LRN, rescaling).

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The input tensor, unchanged.
    """
    (tensor,) = inputs
    return Effect(tensor)


@rule("stochastic_depth", "spatial_dropout")
def feature_map_rule(spec: Kind, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``stochastic_depth`` or ``spatial_dropout`` layer: the input unchanged, which must be a feature map.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The input tensor, unchanged.

    Raises:
        GeometryError: The input is no feature map [height, width, channels].
    """
    (tensor,) = inputs
    _spatial(spec, tensor)
    return Effect(tensor)


@rule("batch_norm")
def batch_norm_rule(spec: L.BatchNorm, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``batch_norm`` layer: gamma/beta per ``scale``/``center``; moving mean and variance.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The input tensor, with the layer's trainable and non-trainable parameters.
    """
    (tensor,) = inputs
    channels = tensor.shape[-1]
    return Effect(tensor, trainable=channels * (int(spec.center) + int(spec.scale)), non_trainable=2 * channels)


@rule("layer_norm")
def layer_norm_rule(spec: Kind, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``layer_norm`` layer: a gamma and a beta per channel.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The input tensor, with the layer's parameters.
    """
    (tensor,) = inputs
    return Effect(tensor, trainable=2 * tensor.shape[-1])


@rule("normalization")
def normalization_rule(spec: L.Normalization, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``normalization`` layer: mean and variance per channel plus a count, all non-trainable.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The input tensor, with the layer's non-trainable parameters.

    Raises:
        GeometryError: ``mean`` or ``variance`` lists neither 1 value nor one per channel.
    """
    (tensor,) = inputs
    channels = tensor.shape[-1]
    for name in ("mean", "variance"):
        value = getattr(spec, name)
        if isinstance(value, list) and len(value) not in (1, channels):
            raise GeometryError(f"{name} has {len(value)} values but the input has {channels} channels")
    # Keras keeps mean and variance per channel plus a sample count, all non-trainable.
    return Effect(tensor, non_trainable=2 * channels + 1)


@rule("zero_padding")
def zero_padding_rule(spec: L.ZeroPadding, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``zero_padding`` layer: the map grows by the padding; the field is unchanged.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The output tensor.

    Raises:
        GeometryError: The input is no feature map [height, width, channels].
    """
    (tensor,) = inputs
    height, width, channels = _spatial(spec, tensor)
    (top, bottom), (left, right) = padding_amounts(spec.padding)
    return Effect(Tensor((height + top + bottom, width + left + right, channels), tensor.receptive_field, tensor.jump))


def rgb_input(spec: Kind, tensor: Tensor, what: str) -> None:
    """Check that ``tensor`` is an RGB feature map (3 channels).

    Args:
        spec: The layer that reads it (named in the error).
        tensor: Its input.
        what: What needs RGB input, for the message (e.g. ``"the ImageNet preprocessing (caffe mode)"``).

    Raises:
        GeometryError: The tensor is no feature map, or it has other than 3 channels.
    """
    _spatial(spec, tensor)
    if tensor.shape[-1] != 3:
        raise GeometryError(
            f"{what} takes RGB images (3 channels). Received: {tensor.shape[-1]} channel(s). Give the blueprint "
            "input 3 channels (archbuilder train --resize repeats a grayscale channel)"
        )


@rule("imagenet_preprocessing")
def imagenet_preprocessing_rule(spec: L.ImagenetPreprocessing, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze an ``imagenet_preprocessing`` layer: the input unchanged, which must be RGB.

    Args:
        spec: The layer.
        inputs: Its input tensor (one).
        warn: Unused (every rule takes it).

    Returns:
        The input tensor, unchanged.

    Raises:
        GeometryError: The input is no feature map [height, width, channels], or it has other than 3 channels.
    """
    (tensor,) = inputs
    rgb_input(spec, tensor, f"the ImageNet preprocessing ({spec.mode} mode)")
    return Effect(tensor)


# The `keras_application` rule lives in archbuilder.analysis.applications: it lowers the zoo twin
# with the graph, which is built from these rules (analysis/__init__ imports it, so it is registered).


def _merged_field(inputs: list[Tensor]) -> tuple[Pair | None, Pair | None]:
    fields = [t.receptive_field for t in inputs if t.receptive_field is not None]
    if len(fields) < len(inputs):
        return None, None
    jumps = [t.jump for t in inputs if t.jump is not None]  # known wherever the field is
    rf = (max(f[0] for f in fields), max(f[1] for f in fields))
    jump = (max(j[0] for j in jumps), max(j[1] for j in jumps))
    return rf, jump


@rule("add", "multiply")
def elementwise_merge_rule(spec: Kind, inputs: list[Tensor], warn: Warn) -> Effect:
    """Keras's Merge layers broadcast as NumPy does (``Merge._compute_elemwise_op_output_shape``):
    shapes are aligned on their last axis, a missing leading axis or a size of 1 repeats, any other
    sizes must be equal (a 16-vector or a 1x1x16 map scales every pixel of a HxWx16 map)."""
    shapes = [t.shape for t in inputs]
    output = shapes[0]
    for shape in shapes[1:]:
        longer, shorter = (output, shape) if len(output) >= len(shape) else (shape, output)
        offset = len(longer) - len(shorter)
        merged = list(longer[:offset])
        for axis, (size, other) in enumerate(zip(longer[offset:], shorter), start=offset):
            if size != other and 1 not in (size, other):
                aligned = (
                    "aligned on their last axis (as Keras aligns them), " if len({len(s) for s in shapes}) > 1 else ""
                )
                raise GeometryError(
                    f"cannot {spec.type} shapes {' and '.join(_fmt(s) for s in shapes)}: {aligned}they differ on axis "
                    f"{axis} ({size} vs {other}) and Keras broadcasts only a size of 1. Use a 1x1 conv (projection), "
                    "a pooling layer or a reshape to match them"
                )
            merged.append(other if size == 1 else size)
        output = tuple(merged)
    rf, jump = _merged_field(inputs)
    return Effect(Tensor(output, rf, jump))


@rule("reshape")
def reshape_rule(spec: L.Reshape, inputs: list[Tensor], warn: Warn) -> Effect:
    """Keras's ``compute_reshape_output_shape``: the element count is kept; one -1 is inferred."""
    (tensor,) = inputs
    elements = math.prod(tensor.shape)
    target = list(spec.target_shape)
    known = math.prod(size for size in target if size != -1)
    wanted = "x".join("?" if size == -1 else str(size) for size in target)
    if -1 in target:
        if elements % known:
            raise GeometryError(
                f"cannot reshape {_fmt(tensor.shape)} ({elements:,} elements) to {wanted}: {elements:,} is not a "
                f"multiple of {known:,}. Make the known sizes of target_shape multiply to a divisor of {elements:,}"
            )
        target[target.index(-1)] = elements // known
    elif known != elements:
        raise GeometryError(
            f"cannot reshape {_fmt(tensor.shape)} ({elements:,} elements) to {wanted} ({known:,} elements): a reshape "
            "keeps every element. Make target_shape multiply to the input's element count, or use -1 for one size"
        )
    shape = tuple(target)
    same = shape == tensor.shape
    return Effect(Tensor(shape, tensor.receptive_field if same else None, tensor.jump if same else None))


@rule("concatenate")
def concatenate_rule(spec: Kind, inputs: list[Tensor], warn: Warn) -> Effect:
    """Analyze a ``concatenate`` layer: the channels add up; the receptive field is the largest.

    Args:
        spec: The layer.
        inputs: Its input tensors.
        warn: Unused (every rule takes it).

    Returns:
        The output tensor.

    Raises:
        GeometryError: The inputs differ on an axis other than the channels.
    """
    shapes = [t.shape for t in inputs]
    if len({s[:-1] for s in shapes}) != 1:
        raise GeometryError(
            f"cannot concatenate shapes {', '.join(_fmt(s) for s in shapes)}: all axes but the channels must match"
        )
    rf, jump = _merged_field(inputs)
    return Effect(Tensor(shapes[0][:-1] + (sum(s[-1] for s in shapes),), rf, jump))

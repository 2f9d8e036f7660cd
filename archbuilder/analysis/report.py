"""Text rendering of an :class:`Analysis`: the per-layer table and the totals (pure Python).

Rows read like the VGGNet case study in CS231n, one Keras layer per row::

    layer      path                 output           memory     params    MACs  receptive field
    CONV3-64   stages[0].blocks[0]  [224x224x64]       3.2M      1,792   86.7M  3x3 /1

``memory`` counts output elements (not bytes); the totals give bytes for a dtype.
"""

from __future__ import annotations

from typing import Any

from archbuilder.analysis.analyzer import DTYPE_BYTES, Analysis, Dtype, LayerReport
from archbuilder.analysis.limits import count as exact_count

_UNITS = ("", "K", "M", "G", "T", "P")
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_HEADERS = ("layer", "path", "output", "memory", "params", "MACs", "receptive field")
_RIGHT_ALIGNED = frozenset({"memory", "params", "MACs"})
#: From here on (a training estimate for a huge batch) a unit no longer helps: digits and an exponent.
_BEYOND_UNITS = 10**18

#: Short labels in the CS231n style for kinds without sizes of their own.
_LABELS = {
    "input": "INPUT",
    "batch_norm": "BN",
    "layer_norm": "LN",
    "lrn": "LRN",
    "flatten": "FLATTEN",
    "zero_padding": "PAD",
    "global_avg_pool": "GAP",
    "global_max_pool": "GMP",
    "add": "ADD",
    "multiply": "MUL",
    "concatenate": "CONCAT",
    "dropout": "DROPOUT",
    "spatial_dropout": "SDROPOUT",
    "stochastic_depth": "DROPPATH",
    "rescaling": "RESCALE",
    "normalization": "NORM",
    "leaky_relu": "LRELU",
}


def _scaled(n: float, base: int, count: int) -> tuple[str, int]:
    """``n`` divided by ``base`` until it prints below ``base``: (digits, unit index)."""
    value, index = float(n), 0
    while True:
        text = f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"
        if abs(float(text)) < base or index == count - 1:
            return text.removesuffix(".0"), index
        value, index = value / base, index + 1


def human(n: float) -> str:
    """``3211264`` -> ``'3.2M'``, ``802816`` -> ``'803K'``, ``512`` -> ``'512'`` (decimal units)."""
    if n >= _BEYOND_UNITS:
        return exact_count(int(n))
    text, index = _scaled(n, 1000, len(_UNITS))
    return text + _UNITS[index]


def human_bytes(n: float) -> str:
    """``61440`` -> ``'60 KiB'`` (binary units)."""
    if n >= _BEYOND_UNITS:
        return f"{exact_count(int(n))} B"
    text, index = _scaled(n, 1024, len(_BYTE_UNITS))
    return f"{text} {_BYTE_UNITS[index]}"


def shape_text(shape: tuple[int, ...]) -> str:
    """``(224, 224, 64)`` -> ``'[224x224x64]'``."""
    return "[" + "x".join(str(size) for size in shape) + "]"


def receptive_field_text(layer: LayerReport) -> str:
    """``'11x11 /4'`` (size, then jump: the stride between neighbouring outputs), ``'global'`` when unbounded."""
    if layer.receptive_field is None:
        return "global"
    jump = layer.jump or (1, 1)
    jump_text = str(jump[0]) if jump[0] == jump[1] else f"{jump[0]}x{jump[1]}"
    return f"{layer.receptive_field[0]}x{layer.receptive_field[1]} /{jump_text}"


def layer_label(layer_type: str, spec: Any) -> str:
    """A short CS231n-style label: ``CONV3-64``, ``CONV7-64/2``, ``POOL2``, ``FC-4096``, ``BN``, ``RELU``."""
    if layer_type in ("conv", "separable_conv", "depthwise_conv"):
        prefix = {"conv": "CONV", "separable_conv": "SEPCONV", "depthwise_conv": "DWCONV"}[layer_type]
        label = f"{prefix}{_size(spec.kernel_size)}"
        if layer_type == "depthwise_conv":
            label += f"x{spec.depth_multiplier}" if spec.depth_multiplier != 1 else ""
        else:
            label += f"-{spec.filters}"
        label += f"/{_size(spec.strides)}" if _size(spec.strides) != "1" else ""
        label += f" d{_size(spec.dilation_rate)}" if _size(spec.dilation_rate) != "1" else ""
        groups = getattr(spec, "groups", 1)
        return label + (f" g{groups}" if groups != 1 else "")
    if layer_type in ("max_pool", "avg_pool"):
        label = ("POOL" if layer_type == "max_pool" else "AVGPOOL") + _size(spec.pool_size)
        strides = spec.strides if spec.strides is not None else spec.pool_size
        return label + (f"/{_size(strides)}" if _size(strides) != _size(spec.pool_size) else "")
    if layer_type == "dense":
        return f"FC-{spec.units}"
    if layer_type == "keras_application":
        application: str = spec.application
        return application.upper() + ("" if spec.is_trainable else " (frozen)")
    if layer_type == "imagenet_preprocessing":
        return f"PREPROCESS-{spec.mode.upper()}"
    return _LABELS.get(layer_type, layer_type.upper())


def _size(value: Any) -> str:
    """``3`` or ``[3, 3]`` -> ``'3'``; ``[1, 7]`` -> ``'1x7'``."""
    if isinstance(value, (list, tuple)):
        return str(value[0]) if len(set(value)) == 1 else "x".join(str(v) for v in value)
    return str(value)


def layer_rows(analysis: Analysis) -> list[tuple[str, ...]]:
    """One row of cells per layer, in :data:`_HEADERS` order."""
    nodes = analysis.graph.nodes if analysis.graph is not None else [None] * len(analysis.layers)
    rows: list[tuple[str, ...]] = []
    for layer, node in zip(analysis.layers, nodes):
        spec = node.spec if node is not None else None
        label = layer_label(layer.type, spec) if spec is not None or layer.type == "input" else layer.type.upper()
        rows.append(
            (
                label,
                layer.path,
                shape_text(layer.output_shape),
                human(layer.activation_elements),
                f"{layer.params:,}",
                human(layer.macs),
                receptive_field_text(layer),
            )
        )
    return rows


def format_table(rows: list[tuple[str, ...]], headers: tuple[str, ...] = _HEADERS) -> str:
    """Columns padded to their widest cell; numeric columns right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = []
    for row in (headers, *rows):
        cells = [
            cell.rjust(width) if header in _RIGHT_ALIGNED else cell.ljust(width)
            for cell, width, header in zip(row, widths, headers)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_totals(analysis: Analysis, *, dtype: Dtype, batch_size: int, optimizer: str) -> str:
    """Params, MACs/FLOPs, forward activation memory and the training-memory estimate."""
    memory = analysis.training_memory(batch_size, dtype, optimizer)
    lines = [
        f"params: {analysis.params:,} (trainable {analysis.trainable_params:,}, "
        f"non-trainable {analysis.non_trainable_params:,})",
        f"MACs: {analysis.macs:,} ({human(analysis.macs)}) per example; "
        f"FLOPs = 2 x MACs = {analysis.flops:,} ({human(analysis.flops)})",
        f"forward activations: {analysis.activation_elements:,} elements = "
        f"{human_bytes(analysis.activation_bytes(dtype))} per example ({dtype}, {DTYPE_BYTES[dtype]} bytes each)",
        f"training memory estimate (batch {batch_size}, {optimizer}): {human_bytes(memory['total'])} = "
        f"activations {human_bytes(memory['activations'])} + weights {human_bytes(memory['weights'])} + "
        f"gradients {human_bytes(memory['gradients'])} + optimizer slots {human_bytes(memory['optimizer_slots'])}",
    ]
    if len(analysis.outputs) > 1:
        outputs = ", ".join(f"{name} {shape_text(shape)}" for name, shape in analysis.outputs.items())
        lines.insert(0, f"outputs: {outputs}")
    return "\n".join(lines)


def format_summary(
    analysis: Analysis, *, dtype: Dtype = "float32", batch_size: int = 32, optimizer: str = "adam"
) -> str:
    """The whole summary: a title, the layer table, the totals and the warnings."""
    blueprint = analysis.blueprint
    title = (
        f"{blueprint.name}: input {shape_text(blueprint.input.shape)} -> output "
        f"{shape_text(analysis.output_shape)}, {len(analysis.layers) - 1} layers"
    )
    parts = [
        title,
        "",
        format_table(layer_rows(analysis)),
        "",
        format_totals(analysis, dtype=dtype, batch_size=batch_size, optimizer=optimizer),
    ]
    if analysis.warnings:
        parts += ["", f"{len(analysis.warnings)} warning(s):"] + [f"  {problem}" for problem in analysis.warnings]
    return "\n".join(parts)


__all__ = [
    "format_summary",
    "format_table",
    "format_totals",
    "human",
    "human_bytes",
    "layer_label",
    "layer_rows",
    "receptive_field_text",
    "shape_text",
]

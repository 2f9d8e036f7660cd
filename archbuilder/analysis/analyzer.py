"""``analyze(blueprint) -> Analysis``: what a network costs, computed without Keras."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from archbuilder.analysis.graph import Graph, Node, build_graph
from archbuilder.analysis.limits import check_input, check_totals
from archbuilder.blueprint.errors import BlueprintError, Problem, format_path
from archbuilder.blueprint.io import Overrides, load_with_sources
from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.resolve import Resolution, resolve_with_origins

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}
Dtype = Literal["float32", "float16", "bfloat16", "float64"]

#: Optimizer state kept per parameter (slots), as Keras's optimizers keep it.
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "rmsprop": 1, "adam": 2, "adamw": 2, "nadam": 2}


@dataclass(frozen=True)
class LayerReport:
    """One Keras layer of the network."""

    path: str
    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: tuple[int, ...]
    trainable_params: int
    non_trainable_params: int
    macs: int
    receptive_field: tuple[int, int] | None
    jump: tuple[int, int] | None
    inner_activations: int = 0  # tensors inside a nested network (keras_application)

    @property
    def params(self) -> int:
        """Trainable plus non-trainable parameters of the layer."""
        return self.trainable_params + self.non_trainable_params

    @property
    def activation_elements(self) -> int:
        """Elements of the layer's output for one example, plus those inside a nested network."""
        return math.prod(self.output_shape) + self.inner_activations

    def to_dict(self) -> dict[str, Any]:
        """The layer as JSON-ready data (``receptive_field`` is ``None`` when unbounded)."""
        return {
            "path": self.path,
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "activation_elements": self.activation_elements,
            "receptive_field": None
            if self.receptive_field is None
            else {"size": list(self.receptive_field), "jump": list(self.jump or (1, 1))},
        }


def _report(node: Node) -> LayerReport:
    effect = node.effect
    return LayerReport(
        path=format_path(node.path),
        name=node.name,
        type=node.type,
        inputs=node.inputs,
        output_shape=effect.output.shape,
        trainable_params=effect.trainable,
        non_trainable_params=effect.non_trainable,
        macs=effect.macs,
        receptive_field=effect.output.receptive_field,
        jump=effect.output.jump,
        inner_activations=effect.inner_activations,
    )


@dataclass
class Analysis:
    """Per-layer and total costs of a resolved blueprint."""

    blueprint: Blueprint
    layers: list[LayerReport]
    outputs: dict[str, tuple[int, ...]]
    warnings: list[Problem] = field(default_factory=list)
    graph: Graph | None = field(default=None, repr=False)
    resolution: Resolution[Blueprint] | None = field(default=None, repr=False)

    @property
    def trainable_params(self) -> int:
        """Trainable parameters of the whole network."""
        return sum(layer.trainable_params for layer in self.layers)

    @property
    def non_trainable_params(self) -> int:
        """Non-trainable parameters (batch-norm statistics, frozen backbones) of the whole network."""
        return sum(layer.non_trainable_params for layer in self.layers)

    @property
    def params(self) -> int:
        """All parameters of the network, trainable or not."""
        return self.trainable_params + self.non_trainable_params

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one example's forward pass."""
        return sum(layer.macs for layer in self.layers)

    @property
    def flops(self) -> int:
        """FLOPs = 2 x MACs (one multiply and one add each)."""
        return 2 * self.macs

    @property
    def activation_elements(self) -> int:
        """Elements of every layer output (and the input) for one example's forward pass."""
        return sum(layer.activation_elements for layer in self.layers)

    @property
    def backward_activation_elements(self) -> int:
        """Elements kept for backpropagation: every output from the first layer with trainable weights on,
        and the inputs of those layers. Nothing before it needs a gradient (a frozen backbone's
        activations are not kept), and nothing at all when no weight is trainable."""
        first = next((i for i, layer in enumerate(self.layers) if layer.trainable_params), None)
        if first is None:
            return 0
        needed = {layer.name for layer in self.layers[first:]}
        needed |= {name for layer in self.layers[first:] for name in layer.inputs}
        return sum(layer.activation_elements for layer in self.layers if layer.name in needed)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape (no batch axis) of the first output: the head's, or the last layer's when there is no head."""
        return next(iter(self.outputs.values()))

    def activation_bytes(self, dtype: Dtype = "float32") -> int:
        """Bytes of :attr:`activation_elements` in ``dtype``, for one example."""
        return self.activation_elements * DTYPE_BYTES[dtype]

    def training_memory(
        self, batch_size: int = 32, dtype: Dtype = "float32", optimizer: str = "adam"
    ) -> dict[str, int]:
        """Estimate of training memory in bytes: activations kept for backward, weights, gradients, slots.

        Weights, gradients and optimizer slots are float32 (Keras keeps float32 variables under
        mixed precision); activations use ``dtype`` and count what backpropagation needs
        (:attr:`backward_activation_elements`).
        """
        if optimizer not in OPTIMIZER_SLOTS:
            raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {', '.join(OPTIMIZER_SLOTS)}")
        weight_bytes = self.params * 4
        estimate = {
            "activations": self.backward_activation_elements * DTYPE_BYTES[dtype] * batch_size,
            "weights": weight_bytes,
            "gradients": self.trainable_params * 4,
            "optimizer_slots": self.trainable_params * 4 * OPTIMIZER_SLOTS[optimizer],
        }
        estimate["total"] = sum(estimate.values())
        return estimate

    def to_dict(self, batch_size: int = 32, dtype: Dtype = "float32", optimizer: str = "adam") -> dict[str, Any]:
        """Totals, training memory (for ``batch_size``, ``dtype`` and ``optimizer``), layers and warnings
        as JSON-ready data."""
        return {
            "name": self.blueprint.name,
            "input_shape": list(self.blueprint.input.shape),
            "output_shape": list(self.output_shape),
            "outputs": {name: list(shape) for name, shape in self.outputs.items()},
            "params": self.params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "flops": self.flops,
            "activation_elements": self.activation_elements,
            "activation_bytes": self.activation_bytes(dtype),
            "dtype": dtype,
            "training_memory": {
                "batch_size": batch_size,
                "optimizer": optimizer,
                **self.training_memory(batch_size, dtype, optimizer),
            },
            "layers": [layer.to_dict() for layer in self.layers],
            "warnings": [str(w) for w in self.warnings],
        }


def analyze(
    blueprint: Blueprint | str | os.PathLike[str] | dict[str, Any], overrides: Overrides | None = None
) -> Analysis:
    """Shapes, parameters, MACs, memory and receptive fields of every layer, without Keras.

    Args:
        blueprint: a Blueprint, a path, a zoo name, YAML text or a dict. From a file, every problem
            and warning carries ``file:line:column``.
        overrides: values to set by path before validation (see :func:`load_blueprint`); a problem or
            warning at an overridden value names the override (``--set head.classes=-1``).

    Returns:
        An :class:`Analysis` of the resolved blueprint: one :class:`LayerReport` per Keras layer
        (the input included), the output shapes by name, the warnings, and the totals and memory
        estimates as properties and methods.

    Raises:
        BlueprintError: the blueprint is invalid, or a layer cannot be applied to its input.
    """
    given, sources = load_with_sources(blueprint, overrides)
    try:
        resolution = resolve_with_origins(given)
        scaled = given.scaling is not None and given.scaling.resolution is not None
        check_input(resolution.blueprint.input.shape, ("scaling", "resolution") if scaled else ("input", "shape"))
        graph = build_graph(resolution)
        layers = [_report(node) for node in graph.nodes]
        check_totals(
            (
                (node.path, layer.name, layer.params, layer.macs, layer.activation_elements)
                for node, layer in zip(graph.nodes, layers)
            ),
            resolution.origin_of,
        )
    except BlueprintError as error:
        if sources is None:
            raise
        raise BlueprintError([sources.attach(problem) for problem in error.problems]) from None
    warnings = [sources.attach(w) for w in graph.warnings] if sources else list(graph.warnings)
    outputs = {name: graph.node(name).output.shape for name in graph.outputs}
    return Analysis(resolution.blueprint, layers, outputs, warnings, graph, resolution)

"""Blueprint -> ``keras.Model`` (functional API), following the analyzer's layer graph node by node."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from archbuilder.analysis.analyzer import Analysis, analyze
from archbuilder.analysis.graph import INPUT_NAME, Graph, GraphBuilder, Node
from archbuilder.blueprint import layers as L
from archbuilder.blueprint.errors import BlueprintError, Problem
from archbuilder.blueprint.layers import Kind
from archbuilder.blueprint.model import Blueprint, Defaults
from archbuilder.blueprint.resolve import fill_defaults
from archbuilder.compile.builders import BUILDERS, NEEDS_INPUT_SHAPE, BuildError


def build_model(blueprint: Analysis | Blueprint | str | os.PathLike[str] | dict[str, Any]) -> keras.Model:
    """Compile a blueprint into a functional ``keras.Model``.

    Every layer is named from its blueprint path (``stages_2_blocks_0_conv1``); the outputs are
    the head (named ``head.name``, default ``predictions``) and any auxiliary heads, in order.

    Args:
        blueprint: the :class:`~archbuilder.analysis.Analysis` of a blueprint (built as analyzed, no
            second analysis), or a :class:`Blueprint`, a path to a YAML file, a zoo name
            (``"resnet50"``), YAML text or a dict, analyzed (and so resolved) first.

    Returns:
        An uncompiled ``keras.Model`` named after the blueprint, with one input (the resolved
        ``input.shape``) and one output, or a list of outputs when there are auxiliary heads.
        Weights are freshly initialized, except the pretrained weights of a ``keras_application``
        backbone.

    Raises:
        BlueprintError: the blueprint is invalid or a layer cannot be built; the message names
            the blueprint path.
    """
    if isinstance(blueprint, Analysis):  # its graph is what the analyzer measured: built as it is
        analysis = blueprint if blueprint.graph is not None else analyze(blueprint.blueprint)
    else:
        analysis = analyze(blueprint)
    graph = analysis.graph
    assert graph is not None
    inputs = keras.Input(shape=analysis.blueprint.input.shape, name=INPUT_NAME)
    tensors = build_nodes(graph.nodes[1:], {INPUT_NAME: inputs})
    outputs = [tensors[name] for name in graph.outputs]
    return keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs, name=analysis.blueprint.name)


def load_model_file(path: str | os.PathLike[str], error: type[Exception], prefix: str = "") -> keras.Model:
    """A saved ``.keras`` model (archbuilder's custom layers registered), uncompiled.

    Raises:
        error: ``"<prefix><path>: ..."``, when the file is missing or Keras cannot read it.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{prefix}{path}: no such model file. Pass a .keras file, e.g. runs/<name>/best.keras.")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as failure:  # Keras raises ValueError, OSError or zip errors for files it cannot read
        raise error(f"{prefix}{path}: cannot load it as a Keras model ({type(failure).__name__}: {failure}).") from None


def build_nodes(nodes: list[Node], tensors: dict[str, Any]) -> dict[str, Any]:
    """Create and call the Keras layer of each node; ``tensors`` maps node names to Keras tensors."""
    for node in nodes:
        arguments = [tensors[name] for name in node.inputs]
        layer = build_layer(node, tuple(arguments[0].shape[1:]))
        try:
            if isinstance(node.spec, L.Normalization):
                _set_normalization(layer, node.spec, arguments[0].shape)
            tensors[node.name] = layer(arguments if len(arguments) > 1 else arguments[0])
        except Exception as exc:  # a Keras error, pointed back at the blueprint
            raise _keras_error(node, exc) from exc
    return tensors


def build_layer(node: Node, input_shape: tuple[int | None, ...] | None = None) -> keras.layers.Layer:
    """The Keras layer for one node (no call); ``input_shape`` (no batch axis) is needed by nested networks.

    Args:
        node: a node of an analyzed graph (``analysis.graph.nodes``, the input node excepted).
        input_shape: the shape the layer will receive, without the batch axis; required for the
            kinds that build a nested network (``keras_application``), ignored by the others.

    Returns:
        The unbuilt Keras layer, named ``node.name``.

    Raises:
        ValueError: the node's kind needs ``input_shape`` and none was given.
        BlueprintError: the builder or Keras rejects the layer (the message names the blueprint path).
    """
    assert node.spec is not None
    extra: dict[str, Any] = {}
    if node.spec.type in NEEDS_INPUT_SHAPE:
        if input_shape is None:
            raise ValueError(f"building '{node.spec.type}' needs its input_shape")
        extra["input_shape"] = input_shape
    try:
        return BUILDERS[node.spec.type](node.spec, node.name, **extra)
    except Exception as exc:
        raise _keras_error(node, exc) from exc


def _keras_error(node: Node, exc: Exception) -> BlueprintError:
    if isinstance(exc, BuildError):
        return BlueprintError([Problem(str(exc), node.path)])
    return BlueprintError([Problem(f"Keras rejected this layer ({type(exc).__name__}: {exc})", node.path)])


def _set_normalization(layer: keras.layers.Normalization, spec: L.Normalization, input_shape: Any) -> None:
    layer.build(input_shape)
    channels = input_shape[-1]
    layer.adapt_mean.assign(np.broadcast_to(np.asarray(spec.mean, dtype="float32"), (channels,)))
    layer.adapt_variance.assign(np.broadcast_to(np.asarray(spec.variance, dtype="float32"), (channels,)))
    layer.finalize_state()


def build_block(block: Kind, inputs: Any, *, name: str = "block", defaults: Defaults | None = None) -> Any:
    """Apply one layer or block template to a Keras tensor, for use in hand-written Keras code.

    Args:
        block: a layer or block of the blueprint format (``Conv(...)``, ``Bottleneck(...)``, ...).
            Its unset fields are filled from ``defaults``.
        inputs: a Keras tensor with a fully known shape apart from the batch axis (channels last).
        name: the prefix of the created layers' names (``"res2a"`` gives ``res2a_conv1``, ...).
        defaults: the blueprint ``defaults`` to fill unset fields from (activation, batch_norm,
            initializer, ...); ``None`` uses ``Defaults()``.

    Returns:
        The Keras tensor the block outputs.

    Raises:
        BlueprintError: the block does not fit ``inputs`` (e.g. an output size of 0) or Keras
            rejects one of its layers; the message names the layer by ``name``.

    Example:
        >>> x = keras.Input((56, 56, 64))
        >>> y = build_block(Bottleneck(filters=64), x, name="res2a", defaults=Defaults(batch_norm=True))
    """
    defaults = defaults or Defaults()
    shape = tuple(int(d) for d in inputs.shape[1:])
    graph_builder = GraphBuilder(shape, defaults)
    output = graph_builder.item((name,), fill_defaults(block, defaults), INPUT_NAME)
    graph = Graph(graph_builder.nodes, [output], graph_builder.ids)
    tensors = build_nodes(graph.nodes[1:], {INPUT_NAME: inputs})
    return tensors[output]

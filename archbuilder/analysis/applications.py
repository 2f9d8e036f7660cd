"""keras.applications networks (``backbone:``), analyzed through the zoo blueprints that reproduce them.

``keras.applications.ResNet50(include_top=False)`` is the zoo's ``resnet50`` without its classifier:
the stem, the stages and the head's layers before pooling (EfficientNet's ``top_conv``, DenseNet's
final batch norm). Lowering that body gives the shapes, parameters, MACs and receptive field Keras
will build, without importing Keras; tests/analysis/test_applications.py checks them against Keras.
"""

from __future__ import annotations

import math
from functools import lru_cache

from archbuilder.analysis.graph import build_graph
from archbuilder.analysis.rules import Effect, GeometryError, Tensor, Warn, rgb_input, rule
from archbuilder.blueprint import layers as L
from archbuilder.blueprint.applications import APPLICATIONS
from archbuilder.blueprint.catalog import blueprint_path
from archbuilder.blueprint.errors import BlueprintError
from archbuilder.blueprint.io import load_blueprint
from archbuilder.blueprint.model import Blueprint, InputSpec, Stage
from archbuilder.blueprint.resolve import Resolution, resolve


def application_effect(spec: L.KerasApplication, tensor: Tensor) -> Effect:
    """What ``spec`` does to ``tensor`` (an RGB feature map), as one layer."""
    height, width, _ = tensor.shape
    minimum = APPLICATIONS[spec.application].min_size
    if min(height, width) < minimum:
        raise GeometryError(
            f"{spec.application} needs an input of at least {minimum}x{minimum} (Keras's limit). "
            f"Received: {height}x{width}. Enlarge the blueprint input (archbuilder train --resize "
            "resizes the images to it)"
        )
    inner, batch_norm_trainable = _body_effect(spec.application, (height, width, 3))
    total = inner.trainable + inner.non_trainable
    # A pretrained network keeps its BatchNormalization layers frozen, even when it is trained.
    trainable = (inner.trainable - (batch_norm_trainable if spec.pretrained else 0)) if spec.is_trainable else 0
    rf, jump = _compose(tensor, inner.output)
    return Effect(
        Tensor(inner.output.shape, rf, jump),
        trainable=trainable,
        non_trainable=total - trainable,
        macs=inner.macs,
        inner_activations=inner.inner_activations,
    )


@lru_cache(maxsize=64)
def _body_effect(application: str, shape: tuple[int, int, int]) -> tuple[Effect, int]:
    """The zoo twin's body on a ``shape`` input, summed into one effect (receptive field from a 1x1
    pixel), and the trainable parameters of its BatchNormalization layers."""
    twin = resolve(_twin(application))
    tail = list(twin.head.layers) if twin.head is not None else []
    body = twin.model_copy(
        update={
            "input": InputSpec(shape=shape),
            "head": None,
            "aux_heads": [],
            "training": None,
            "stages": list(twin.stages) + ([Stage(blocks=tail)] if tail else []),
        }
    )
    try:
        graph = build_graph(Resolution(body))
    except BlueprintError as error:
        raise GeometryError(
            f"{application} cannot take a {shape[0]}x{shape[1]} input: {error.problems[0].message}"
        ) from None
    nodes = graph.nodes[1:]
    last = nodes[-1].effect.output
    batch_norm = sum(node.effect.trainable for node in nodes if node.type == "batch_norm")
    return Effect(
        last,
        trainable=sum(node.effect.trainable for node in nodes),
        non_trainable=sum(node.effect.non_trainable for node in nodes),
        macs=sum(node.effect.macs for node in nodes),
        inner_activations=sum(math.prod(node.output.shape) + node.effect.inner_activations for node in nodes[:-1]),
    ), batch_norm


@rule("keras_application")
def keras_application_rule(spec: L.KerasApplication, inputs: list[Tensor], warn: Warn) -> Effect:
    """A keras.applications network, analyzed as its zoo twin (lowered with the graph)."""
    (tensor,) = inputs
    rgb_input(spec, tensor, spec.application)
    return application_effect(spec, tensor)


def _twin(application: str) -> Blueprint:
    """The zoo twin's blueprint, read from the zoo's file (as :func:`archbuilder.zoo.load_zoo_blueprint` does; the
    analyzer sits below the zoo, so it reads the file through the blueprint package)."""
    return load_blueprint(blueprint_path(APPLICATIONS[application].zoo_twin))


def _compose(outer: Tensor, inner: Tensor) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """Receptive field of a nested network's output, given the field and jump of its input."""
    if outer.receptive_field is None or outer.jump is None or inner.receptive_field is None or inner.jump is None:
        return None, None
    (outer_h, outer_w), (inner_h, inner_w) = outer.receptive_field, inner.receptive_field
    (jump_h, jump_w), (inner_jump_h, inner_jump_w) = outer.jump, inner.jump
    rf = (outer_h + (inner_h - 1) * jump_h, outer_w + (inner_w - 1) * jump_w)
    jump = (jump_h * inner_jump_h, jump_w * inner_jump_w)
    return rf, jump


__all__ = ["application_effect"]

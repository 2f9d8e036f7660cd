"""Helpers shared by the compile and zoo tests."""

from __future__ import annotations

from typing import Any

import keras

import archbuilder
from archbuilder.analysis import Analysis
from archbuilder.compile import build_model


def blueprint_with(*, stem: list | None = None, stages: list | None = None, shape: list | None = None,
                   head: Any = "default", defaults: dict | None = None, aux_heads: list | None = None) -> dict:
    """A small blueprint dict around the given body."""
    blueprint: dict[str, Any] = {"name": "case", "input": {"shape": shape or [16, 16, 3]}}
    if stem:
        blueprint["stem"] = stem
    if stages:
        blueprint["stages"] = stages
    if defaults:
        blueprint["defaults"] = defaults
    if head == "default":
        blueprint["head"] = {"classes": 5}
    elif head is not None:
        blueprint["head"] = head
    if aux_heads:
        blueprint["aux_heads"] = aux_heads
    return blueprint


def assert_analysis_equals_model(analysis: Analysis, model: keras.Model) -> None:
    """Every analyzed layer exists in the model with the same output shape and parameter counts."""
    layers = {layer.name: layer for layer in model.layers}
    assert len(layers) == len(analysis.layers), "the model and the analysis have different layer counts"
    for report in analysis.layers:
        layer = layers[report.name]
        assert tuple(layer.output.shape[1:]) == report.output_shape, report.path
        trainable = sum(int(w.numpy().size) for w in layer.trainable_weights)
        non_trainable = sum(int(w.numpy().size) for w in layer.non_trainable_weights)
        assert (trainable, non_trainable) == (report.trainable_params, report.non_trainable_params), report.path
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    non_trainable = sum(int(w.numpy().size) for w in model.non_trainable_weights)
    assert (trainable, non_trainable) == (analysis.trainable_params, analysis.non_trainable_params)
    assert model.count_params() == analysis.params


def assert_matches_analysis(blueprint: Any) -> keras.Model:
    model = build_model(blueprint)
    assert_analysis_equals_model(archbuilder.analyze(blueprint), model)
    return model

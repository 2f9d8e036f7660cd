"""Helpers shared by the compile and zoo tests."""

from __future__ import annotations

from typing import Any

import keras

import archbuilder
from archbuilder.analysis import Analysis
from archbuilder.compile import build_model


def blueprint_with(
    *,
    stem: list | None = None,
    stages: list | None = None,
    shape: list | None = None,
    head: Any = "default",
    defaults: dict | None = None,
    aux_heads: list | None = None,
) -> dict:
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
    """The analyzer-vs-Keras parity check (the only one; the fuzz tests use it too): every analyzed layer
    is a Keras layer of the model with the same output shape and parameter counts (trainable and not),
    and the totals and the output shapes are the same."""
    names = [layer.name for layer in model.layers]
    assert len(names) == len(analysis.layers), (
        f"the analysis has {len(analysis.layers)} layers, the model {len(names)}: "
        f"only analyzed {sorted({r.name for r in analysis.layers} - set(names))}, "
        f"only in Keras {sorted(set(names) - {r.name for r in analysis.layers})}"
    )
    for report in analysis.layers:
        layer = model.get_layer(report.name)
        assert tuple(layer.output.shape[1:]) == report.output_shape, (
            f"{report.path} ({report.name}): Keras {tuple(layer.output.shape[1:])}, analyzer {report.output_shape}"
        )
        trainable = sum(int(w.numpy().size) for w in layer.trainable_weights)
        non_trainable = sum(int(w.numpy().size) for w in layer.non_trainable_weights)
        assert (trainable, non_trainable) == (report.trainable_params, report.non_trainable_params), (
            f"{report.path} ({report.name}): Keras (trainable, non-trainable) = {(trainable, non_trainable)}, "
            f"analyzer {(report.trainable_params, report.non_trainable_params)}"
        )
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    non_trainable = sum(int(w.numpy().size) for w in model.non_trainable_weights)
    assert (trainable, non_trainable) == (analysis.trainable_params, analysis.non_trainable_params)
    assert model.count_params() == analysis.params
    outputs = model.outputs
    assert [tuple(o.shape[1:]) for o in outputs] == [tuple(s) for s in analysis.outputs.values()]
    assert tuple(outputs[0].shape[1:]) == analysis.output_shape


def assert_matches_analysis(blueprint: Any) -> keras.Model:
    model = build_model(blueprint)
    assert_analysis_equals_model(archbuilder.analyze(blueprint), model)
    return model

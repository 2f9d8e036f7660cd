"""Kernel initializers: names and configured ones reach the Keras layers; bad ones are clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archbuilder
from archbuilder.blueprint import BlueprintError
from archbuilder.compile import build_model


def network(initializer: str) -> str:
    return (
        f"name: x\ninput: {{shape: [16, 16, 64]}}\ndefaults: {{kernel_initializer: {initializer}}}\n"
        "stem:\n  - {type: conv, filters: 256, kernel_size: 3}\n  - {type: depthwise_conv}\n"
        "head: {classes: 512}\n"
    )


def test_variance_scaling_fan_out_as_efficientnet() -> None:
    model = build_model(network("{type: variance_scaling, scale: 2.0, mode: fan_out, distribution: truncated_normal}"))
    conv = model.get_layer("stem_0")
    initializer = conv.kernel_initializer
    assert isinstance(initializer, keras.initializers.VarianceScaling)
    assert (initializer.scale, initializer.mode, initializer.distribution) == (2.0, "fan_out", "truncated_normal")
    kernel = np.asarray(conv.kernel)
    expected = np.sqrt(2.0 / (3 * 3 * 256))  # fan_out = kernel area x filters; Keras corrects for the truncation
    assert kernel.std() == pytest.approx(expected, rel=0.05)
    assert isinstance(model.get_layer("stem_1").depthwise_initializer, keras.initializers.VarianceScaling)
    assert isinstance(model.get_layer("predictions").kernel_initializer, keras.initializers.VarianceScaling)


@pytest.mark.parametrize(
    "text, cls, attributes",
    [
        ("{type: random_normal, stddev: 0.01}", keras.initializers.RandomNormal, {"mean": 0.0, "stddev": 0.01}),
        (
            "{type: truncated_normal, mean: 0.5, stddev: 0.02}",
            keras.initializers.TruncatedNormal,
            {"mean": 0.5, "stddev": 0.02},
        ),
        (
            "{type: random_uniform, minval: -0.1, maxval: 0.3}",
            keras.initializers.RandomUniform,
            {"minval": -0.1, "maxval": 0.3},
        ),
        ("he_normal", keras.initializers.HeNormal, {}),
    ],
)
def test_configured_initializers(text: str, cls: type, attributes: dict) -> None:
    initializer = build_model(network(text)).get_layer("stem_0").kernel_initializer
    assert isinstance(initializer, cls)
    for name, value in attributes.items():
        assert getattr(initializer, name) == pytest.approx(value)


def test_alexnet_gaussian_draws_what_it_says() -> None:
    kernel = np.asarray(build_model(network("{type: random_normal, stddev: 0.01}")).get_layer("stem_0").kernel)
    assert abs(kernel.mean()) < 1e-3 and kernel.std() == pytest.approx(0.01, rel=0.02)


@pytest.mark.parametrize(
    "initializer, message",
    [
        (
            "he_normall",
            "defaults.kernel_initializer: expected 'glorot_uniform', 'glorot_normal', 'he_uniform', 'he_normal', "
            "'lecun_uniform', 'lecun_normal', 'orthogonal', 'zeros', 'ones', 'random_normal', 'random_uniform', "
            "'truncated_normal' or 'variance_scaling'. Received: 'he_normall'. Did you mean 'he_normal'?",
        ),
        (
            "5",
            "defaults.kernel_initializer: expected one of 'glorot_uniform', 'glorot_normal', 'he_uniform', "
            "'he_normal', 'lecun_uniform', 'lecun_normal', 'orthogonal', 'zeros', 'ones', 'random_normal', "
            "'random_uniform', 'truncated_normal', 'variance_scaling' or a mapping with a `type`. Received: 5",
        ),
        (
            "{type: variance_scaling, mode: fan_ot}",
            "defaults.kernel_initializer.mode: expected 'fan_in', 'fan_out' or "
            "'fan_avg'. Received: 'fan_ot'. Did you mean 'fan_out'?",
        ),
        (
            "{type: random_uniform, minval: 1, maxval: 0}",
            "defaults.kernel_initializer: minval must be below maxval. Received: minval=1.0, maxval=0.0",
        ),
        ("{type: random_normal, stddev: 0}", "defaults.kernel_initializer.stddev: must be > 0. Received: 0"),
    ],
)
def test_bad_initializers(initializer: str, message: str) -> None:
    with pytest.raises(BlueprintError) as caught:
        archbuilder.analyze(network(initializer))
    assert [f"{p.path}: {p.message}" for p in caught.value.problems] == [message]

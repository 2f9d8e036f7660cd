"""Zoo blueprints that reproduce a keras.applications network are the same network: same
parameter counts, and Keras's weights loaded in order give the same predictions."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archbuilder
from archbuilder.compile import build_model
from archbuilder.zoo import load_zoo_blueprint

# zoo name, keras.applications constructor, input side used for the prediction check (None: native).
# The quick lane checks one (inverted residuals, depthwise convolutions, batch norm, the initializers);
# the others, the deeper and compound-scaled siblings included, run in the slow lane (make test-all).
FAMILIES = [
    ("mobilenet_v2", "MobileNetV2", None),
]
SIBLINGS = [
    ("resnet50", "ResNet50", None),
    ("efficientnet_b0", "EfficientNetB0", None),
    ("vgg16", "VGG16", None),
    ("resnet50v2", "ResNet50V2", None),
    ("mobilenet", "MobileNet", None),
    ("densenet121", "DenseNet121", 96),
    ("vgg19", "VGG19", None),
    ("resnet101", "ResNet101", 96),
    ("resnet152", "ResNet152", 64),
    ("efficientnet_b1", "EfficientNetB1", 64),
    ("efficientnet_b2", "EfficientNetB2", 64),
    ("efficientnet_b3", "EfficientNetB3", 64),
    ("efficientnet_b4", "EfficientNetB4", 64),
    ("efficientnet_b5", "EfficientNetB5", 64),
    ("efficientnet_b6", "EfficientNetB6", 64),
    ("efficientnet_b7", "EfficientNetB7", 64),
]
APPLICATIONS = [
    *(pytest.param(*case, id=case[0]) for case in FAMILIES),
    *(pytest.param(*case, id=case[0], marks=pytest.mark.slow) for case in SIBLINGS),
]


def _at_side(blueprint: archbuilder.Blueprint, side: int | None) -> archbuilder.Blueprint:
    """The same network at another input resolution (convolutional bodies with global pooling)."""
    if side is None:
        return blueprint
    resolved = blueprint.resolve()
    channels = resolved.input.shape[2]
    return resolved.model_copy(update={"input": resolved.input.model_copy(update={"shape": (side, side, channels)})})


def _drop_paths(model: keras.Model) -> list[tuple[int, float]]:
    """(index of the Add it feeds, rate) of each per-example Dropout (stochastic depth)."""
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    return [
        (next(i for i, add in enumerate(adds) if any(x is layer.output for x in add.input)), round(layer.rate, 6))
        for layer in model.layers
        if isinstance(layer, keras.layers.Dropout) and layer.noise_shape is not None
    ]


def _initializers(model: keras.Model) -> list[dict]:
    """The kernel initializers' configurations, in layer order (seeds left out)."""
    found = []
    for layer in model.layers:
        for name in ("kernel_initializer", "depthwise_initializer"):
            initializer = getattr(layer, name, None)
            if initializer is not None:
                config = keras.initializers.serialize(initializer)
                config["config"] = {k: v for k, v in config["config"].items() if k != "seed"}
                found.append(config)
    return found


@pytest.mark.parametrize("zoo_name, application, side", APPLICATIONS)
def test_zoo_blueprint_is_the_keras_application(zoo_name: str, application: str, side: int | None) -> None:
    blueprint = load_zoo_blueprint(zoo_name)
    native = archbuilder.analyze(blueprint)
    reference = getattr(keras.applications, application)
    # Parameter counts at the native size, from the analyzer (equal to Keras, see test_zoo.py).
    keras_native = reference(weights=None)
    trainable = sum(int(np.prod(w.shape)) for w in keras_native.trainable_weights)
    assert (native.params, native.trainable_params) == (keras_native.count_params(), trainable)
    del keras_native
    # Same weights in the same order give the same predictions.
    small = _at_side(blueprint, side)
    ours = build_model(small)
    shape = small.resolve().input.shape
    theirs = reference(weights=None, input_shape=shape) if side else reference(weights=None)
    ours.set_weights(theirs.get_weights())
    # Stochastic depth (EfficientNet's drop-connect): the same per-example dropouts, rates and places.
    assert _drop_paths(ours) == _drop_paths(theirs)
    # The same initializers, layer for layer (a network trained from scratch starts as Keras's does).
    assert _initializers(ours) == _initializers(theirs)
    x = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    expected = theirs.predict(x, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, atol=1e-4, rtol=1e-3)
    # Softmax outputs of a random network are all near 1/1000; compare what feeds the classifier too.
    features = [keras.Model(m.inputs, m.get_layer("predictions").input) for m in (ours, theirs)]
    ours_features, their_features = (f.predict(x, verbose=0) for f in features)
    scale = float(np.abs(their_features).max())
    np.testing.assert_allclose(ours_features, their_features, atol=1e-4 * scale, rtol=1e-4)
    keras.backend.clear_session()

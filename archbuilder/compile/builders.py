"""One builder per layer kind: a resolved layer spec and a name become a Keras layer.

Block templates have no builder of their own here: :mod:`archbuilder.analysis.blocks` lowers
them into these layers once, for the analyzer and the compiler alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras

from archbuilder.blueprint import initializers as I
from archbuilder.blueprint import layers as L
from archbuilder.blueprint.applications import NO_WEIGHTS, PRETRAINED
from archbuilder.blueprint.layers import Kind
from archbuilder.compile.custom_layers import ImagenetPreprocessing, LocalResponseNormalization, Normalization
from archbuilder.errors import ArchbuilderError

#: ``(spec, name) -> layer``; kinds in NEEDS_INPUT_SHAPE also get ``input_shape`` (no batch axis).
Builder = Callable[..., keras.layers.Layer]
BUILDERS: dict[str, Builder] = {}
NEEDS_INPUT_SHAPE = frozenset({"keras_application"})


class BuildError(ArchbuilderError):
    """A layer cannot be built for a reason the user can fix; the message says how (no Keras wrapping)."""


def builder(*tags: str) -> Callable[[Builder], Builder]:
    """Register the decorated function as the builder of the layer kinds ``tags``.

    A builder is called as ``builder(spec, name)`` (kinds in :data:`NEEDS_INPUT_SHAPE` also get
    ``input_shape``) with a resolved layer spec and its Keras name, and returns the Keras layer;
    :data:`BUILDERS` maps each tag to it.

    Args:
        *tags: The layer ``type`` tags the builder builds.

    Returns:
        A decorator that registers a builder and returns it unchanged.
    """

    def register(function: Builder) -> Builder:
        for tag in tags:
            BUILDERS[tag] = function
        return function

    return register


def _activation(name: str | None) -> str | None:
    return None if name in (None, "linear") else name


def _initializer(value: Any) -> Any:
    """A Keras initializer name as is; a configured one as its Keras class."""
    if value is None or isinstance(value, str):
        return value or "glorot_uniform"
    if isinstance(value, I.VarianceScaling):
        return keras.initializers.VarianceScaling(scale=value.scale, mode=value.mode, distribution=value.distribution)
    if isinstance(value, I.Uniform):
        return keras.initializers.RandomUniform(minval=value.minval, maxval=value.maxval)
    normal = keras.initializers.TruncatedNormal if value.type == "truncated_normal" else keras.initializers.RandomNormal
    return normal(mean=value.mean, stddev=value.stddev)


def _regularizer(spec: Any) -> keras.regularizers.Regularizer | None:
    regularizer = getattr(spec, "kernel_regularizer", None)
    if regularizer is None or (regularizer.l1 == 0 and regularizer.l2 == 0):
        return None
    return keras.regularizers.L1L2(l1=regularizer.l1, l2=regularizer.l2)


def _conv_arguments(spec: Any) -> dict[str, Any]:
    return {
        "kernel_size": spec.kernel_size,
        "strides": spec.strides,
        "padding": spec.padding,
        "dilation_rate": spec.dilation_rate,
        "activation": _activation(spec.activation),
        "use_bias": bool(spec.use_bias),
    }


@builder("conv")
def build_conv(spec: L.Conv, name: str) -> keras.layers.Layer:
    """A ``conv`` spec as a Keras ``Conv2D`` layer named ``name``."""
    return keras.layers.Conv2D(
        spec.filters,
        groups=spec.groups,
        kernel_initializer=_initializer(spec.kernel_initializer),
        kernel_regularizer=_regularizer(spec),
        name=name,
        **_conv_arguments(spec),
    )


@builder("depthwise_conv")
def build_depthwise_conv(spec: L.DepthwiseConv, name: str) -> keras.layers.Layer:
    """A ``depthwise_conv`` spec as a Keras ``DepthwiseConv2D`` layer named ``name``."""
    return keras.layers.DepthwiseConv2D(
        depth_multiplier=spec.depth_multiplier,
        depthwise_initializer=_initializer(spec.kernel_initializer),
        depthwise_regularizer=_regularizer(spec),
        name=name,
        **_conv_arguments(spec),
    )


@builder("separable_conv")
def build_separable_conv(spec: L.SeparableConv, name: str) -> keras.layers.Layer:
    """A ``separable_conv`` spec as a Keras ``SeparableConv2D`` (one initializer and regularizer for both kernels)."""
    return keras.layers.SeparableConv2D(
        spec.filters,
        depth_multiplier=spec.depth_multiplier,
        depthwise_initializer=_initializer(spec.kernel_initializer),
        pointwise_initializer=_initializer(spec.kernel_initializer),
        depthwise_regularizer=_regularizer(spec),
        pointwise_regularizer=_regularizer(spec),
        name=name,
        **_conv_arguments(spec),
    )


@builder("dense")
def build_dense(spec: L.Dense, name: str) -> keras.layers.Layer:
    """A ``dense`` spec as a Keras ``Dense`` layer named ``name``."""
    return keras.layers.Dense(
        spec.units,
        activation=_activation(spec.activation),
        use_bias=bool(spec.use_bias),
        kernel_initializer=_initializer(spec.kernel_initializer),
        kernel_regularizer=_regularizer(spec),
        name=name,
    )


@builder("max_pool")
def build_max_pool(spec: L.MaxPool, name: str) -> keras.layers.Layer:
    """A ``max_pool`` spec as a Keras ``MaxPooling2D`` layer named ``name``."""
    return keras.layers.MaxPooling2D(spec.pool_size, strides=spec.strides, padding=spec.padding, name=name)


@builder("avg_pool")
def build_avg_pool(spec: L.AvgPool, name: str) -> keras.layers.Layer:
    """An ``avg_pool`` spec as a Keras ``AveragePooling2D`` layer named ``name``."""
    return keras.layers.AveragePooling2D(spec.pool_size, strides=spec.strides, padding=spec.padding, name=name)


@builder("global_avg_pool")
def build_global_avg_pool(spec: L.GlobalAvgPool, name: str) -> keras.layers.Layer:
    """A ``global_avg_pool`` spec as a Keras ``GlobalAveragePooling2D`` layer named ``name``."""
    return keras.layers.GlobalAveragePooling2D(keepdims=spec.keepdims, name=name)


@builder("global_max_pool")
def build_global_max_pool(spec: L.GlobalMaxPool, name: str) -> keras.layers.Layer:
    """A ``global_max_pool`` spec as a Keras ``GlobalMaxPooling2D`` layer named ``name``."""
    return keras.layers.GlobalMaxPooling2D(keepdims=spec.keepdims, name=name)


@builder(*L.Activation.tags())
def build_activation(spec: L.Activation, name: str) -> keras.layers.Layer:
    """A parameter-free activation as a Keras ``ReLU`` (relu, relu6) or ``Activation`` layer."""
    # relu and relu6 are ReLU layers, as keras.applications build them; the others Activation layers.
    if spec.type == "relu":
        return keras.layers.ReLU(name=name)
    if spec.type == "relu6":
        return keras.layers.ReLU(max_value=6.0, name=name)
    return keras.layers.Activation(spec.type, name=name)


@builder("leaky_relu")
def build_leaky_relu(spec: L.LeakyRelu, name: str) -> keras.layers.Layer:
    """A ``leaky_relu`` spec as a Keras ``LeakyReLU`` layer named ``name``."""
    return keras.layers.LeakyReLU(negative_slope=spec.negative_slope, name=name)


@builder("elu")
def build_elu(spec: L.Elu, name: str) -> keras.layers.Layer:
    """An ``elu`` spec as a Keras ``ELU`` layer named ``name``."""
    return keras.layers.ELU(alpha=spec.alpha, name=name)


@builder("batch_norm")
def build_batch_norm(spec: L.BatchNorm, name: str) -> keras.layers.Layer:
    """A ``batch_norm`` spec as a Keras ``BatchNormalization`` layer (unset epsilon/momentum: Keras's defaults)."""
    return keras.layers.BatchNormalization(
        epsilon=spec.epsilon or 1e-3, momentum=spec.momentum or 0.99, center=spec.center, scale=spec.scale, name=name
    )


@builder("layer_norm")
def build_layer_norm(spec: L.LayerNorm, name: str) -> keras.layers.Layer:
    """A ``layer_norm`` spec as a Keras ``LayerNormalization`` layer named ``name``."""
    return keras.layers.LayerNormalization(epsilon=spec.epsilon, name=name)


@builder("dropout")
def build_dropout(spec: L.Dropout, name: str) -> keras.layers.Layer:
    """A ``dropout`` spec as a Keras ``Dropout`` layer (an unset rate drops nothing)."""
    return keras.layers.Dropout(spec.rate or 0.0, name=name)


@builder("stochastic_depth")
def build_stochastic_depth(spec: L.StochasticDepth, name: str) -> keras.layers.Layer:
    """A ``stochastic_depth`` spec as a Keras ``Dropout`` that drops whole examples."""
    # One draw per example, broadcast over height, width and channels (as keras.applications EfficientNet).
    return keras.layers.Dropout(spec.rate, noise_shape=(None, 1, 1, 1), name=name)


@builder("spatial_dropout")
def build_spatial_dropout(spec: L.SpatialDropout, name: str) -> keras.layers.Layer:
    """A ``spatial_dropout`` spec as a Keras ``SpatialDropout2D`` layer (an unset rate drops nothing)."""
    return keras.layers.SpatialDropout2D(spec.rate or 0.0, name=name)


@builder("lrn")
def build_lrn(spec: L.LocalResponseNorm, name: str) -> keras.layers.Layer:
    """An ``lrn`` spec as archbuilder's ``LocalResponseNormalization`` layer named ``name``."""
    return LocalResponseNormalization(size=spec.size, bias=spec.bias, alpha=spec.alpha, beta=spec.beta, name=name)


@builder("flatten")
def build_flatten(spec: Kind, name: str) -> keras.layers.Layer:
    """A ``flatten`` spec as a Keras ``Flatten`` layer named ``name``."""
    return keras.layers.Flatten(name=name)


@builder("reshape")
def build_reshape(spec: L.Reshape, name: str) -> keras.layers.Layer:
    """A ``reshape`` spec as a Keras ``Reshape`` layer named ``name``."""
    return keras.layers.Reshape(tuple(spec.target_shape), name=name)


@builder("zero_padding")
def build_zero_padding(spec: L.ZeroPadding, name: str) -> keras.layers.Layer:
    """A ``zero_padding`` spec as a Keras ``ZeroPadding2D`` layer named ``name``."""
    return keras.layers.ZeroPadding2D(spec.padding, name=name)


@builder("rescaling")
def build_rescaling(spec: L.Rescaling, name: str) -> keras.layers.Layer:
    """A ``rescaling`` spec as a Keras ``Rescaling`` layer named ``name``."""
    return keras.layers.Rescaling(spec.scale, offset=spec.offset, name=name)


@builder("normalization")
def build_normalization(spec: L.Normalization, name: str) -> keras.layers.Layer:
    """A ``normalization`` spec as archbuilder's ``Normalization`` layer, without its mean and variance yet."""
    # Built without mean/variance so they are (non-trainable) weights, as in keras.applications;
    # the compiler assigns the blueprint's values once the layer is built (see model.py).
    return Normalization(axis=-1, name=name)


@builder("add")
def build_add(spec: Kind, name: str) -> keras.layers.Layer:
    """An ``add`` spec as a Keras ``Add`` layer named ``name``."""
    return keras.layers.Add(name=name)


@builder("multiply")
def build_multiply(spec: Kind, name: str) -> keras.layers.Layer:
    """A ``multiply`` spec as a Keras ``Multiply`` layer named ``name``."""
    return keras.layers.Multiply(name=name)


@builder("concatenate")
def build_concatenate(spec: Kind, name: str) -> keras.layers.Layer:
    """A ``concatenate`` spec as a Keras ``Concatenate`` layer on the channel axis."""
    return keras.layers.Concatenate(axis=-1, name=name)


@builder("imagenet_preprocessing")
def build_imagenet_preprocessing(spec: L.ImagenetPreprocessing, name: str) -> keras.layers.Layer:
    """An ``imagenet_preprocessing`` spec as archbuilder's ``ImagenetPreprocessing`` layer."""
    return ImagenetPreprocessing(spec.mode, name=name)


@builder("keras_application")
def build_keras_application(spec: L.KerasApplication, name: str, input_shape: tuple[int, ...]) -> keras.Model:
    """``keras.applications.<application>(include_top=False)`` as one nested model named ``name``."""
    weights = {PRETRAINED: PRETRAINED, NO_WEIGHTS: None}.get(spec.weights, spec.weights)
    if weights not in (None, PRETRAINED) and not Path(weights).is_file():
        raise BuildError(
            f"weights: {weights} is not a file. Give the path of a .weights.h5 file saved from "
            f"keras.applications.{spec.application}(include_top=False), 'imagenet' or 'none'"
        )
    constructor = getattr(keras.applications, spec.application)
    try:
        network = constructor(include_top=False, weights=weights, input_shape=tuple(input_shape), name=name)
    except Exception as error:
        raise BuildError(_weights_problem(spec, weights, error)) from error
    network.trainable = spec.is_trainable
    if spec.pretrained:
        keep_batch_norm_frozen(network)
    return network


def keep_batch_norm_frozen(network: keras.Model) -> None:
    """Freeze a pretrained network's BatchNormalization layers (so they run in inference mode).

    Fine-tuning then keeps the statistics the network was trained with, the advice of Keras's
    transfer learning guide. In Keras 3 calling the network with ``training=False`` does not do it:
    ``fit`` calls the outer model with ``training=True``, which reaches the nested network anyway
    (keras-team/keras#20285); a non-trainable BatchNormalization layer always uses its moving statistics.
    """
    for layer in network.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


def _weights_problem(spec: L.KerasApplication, weights: str | None, error: Exception) -> str:
    text = f"{type(error).__name__}: {error}"
    if weights == PRETRAINED and "URL fetch failure" in str(error):
        from keras.src.backend.config import keras_home

        return (
            f"could not download the ImageNet weights of {spec.application} ({error}). Is this machine "
            f"offline? Download that file where there is internet access and put it in "
            f"{Path(keras_home()) / 'models'} (Keras looks there first), or set `weights:` to a local "
            ".weights.h5 file, or to none"
        )
    if weights not in (None, PRETRAINED):
        return (
            f"weights: {weights} does not hold the weights of {spec.application} without its top ({text}). "
            f"Save them with keras.applications.{spec.application}(include_top=False, ...).save_weights(...)"
        )
    return f"keras.applications.{spec.application} failed ({text})"

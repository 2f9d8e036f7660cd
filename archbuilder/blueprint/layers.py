"""Layer kinds: one pydantic class per ``type`` tag, with Keras's own argument names.

Fields left at ``None`` (activation, batch_norm, use_bias, initializer, regularizer, rates) are
taken from the blueprint's ``defaults`` when it is resolved.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, TypeAlias, get_args

from pydantic import Field, model_validator

from archbuilder.blueprint.applications import (
    NO_WEIGHTS,
    TRAINABLE_FIELD,
    WEIGHTS_FIELD,
    ApplicationName,
    PreprocessingMode,
)
from archbuilder.blueprint.errors import FieldError
from archbuilder.blueprint.fields import (
    ACTIVATIONS,
    MAX_INT,
    ActivationName,
    Identifier,
    IntPair,
    Padding,
    PositiveInt,
    Rate,
    Spec,
    ZeroPaddingValue,
    check_strides_and_dilation,
)
from archbuilder.blueprint.initializers import Initializer


class Regularizer(Spec):
    """Keras's L1L2 kernel regularizer (weight decay is ``l2``)."""

    l1: float = Field(0.0, ge=0.0, description="L1 factor.")
    l2: float = Field(0.0, ge=0.0, description="L2 factor (weight decay as a loss term).")


UseBias = bool | Literal["auto"]


class Kind(Spec):
    """Base of every layer and block kind: an optional ``id`` and optional ``inputs``."""

    type: str
    id: Identifier | None = Field(None, description="Name for this output, referenced by `inputs` and `at`.")
    inputs: list[Identifier] | None = Field(
        None, description="Ids whose outputs feed this one (default: the previous output).", max_length=64
    )

    #: Fields multiplied by the scaling width multiplier.
    width_fields: ClassVar[tuple[str, ...]] = ()
    #: Minimum number of inputs (merges need two).
    min_inputs: ClassVar[int] = 1

    @classmethod
    def tags(cls) -> tuple[str, ...]:
        """The ``type`` tags of this kind (none for a base class, whose ``type`` is any string)."""
        return get_args(cls.model_fields["type"].annotation)

    @model_validator(mode="after")
    def _check_inputs(self) -> Kind:
        if self.inputs == []:
            raise ValueError(
                "`inputs` is empty; give the id(s) to read from, or leave `inputs` out to read the previous output"
            )
        if self.inputs is not None and len(self.inputs) < self.min_inputs:
            raise ValueError(f"'{self.type}' needs at least {self.min_inputs} inputs. Received: inputs={self.inputs}")
        if self.inputs is not None and self.min_inputs == 1 and len(self.inputs) > 1:
            raise ValueError(
                f"'{self.type}' takes one input; merge several with add, concatenate or multiply. "
                f"Received: inputs={self.inputs}"
            )
        return self


def kinds_defined_in(module: str) -> tuple[type[Kind], ...]:
    """The kinds a module defines (its classes with ``type`` tags), in definition order: a class is
    listed by being defined, with no second list to keep in sync."""
    return tuple(
        dict.fromkeys(
            value
            for value in vars(sys.modules[module]).values()
            if isinstance(value, type) and issubclass(value, Kind) and value.__module__ == module and value.tags()
        )
    )


class UnitOptions(Spec):
    """What follows a conv's product (its activation, batch norm and bias): conv-like layers and the
    conv template of ``pattern:`` share these fields."""

    activation: ActivationName | None = Field(
        None, description="Activation after the layer (default: defaults.activation)."
    )
    batch_norm: bool | None = Field(
        None, description="Insert BatchNormalization before the activation (default: defaults.batch_norm)."
    )
    use_bias: UseBias | None = Field(
        None, description="true, false, or 'auto': bias only when no batch norm follows (default: defaults.use_bias)."
    )


class KernelOptions(Spec):
    """A sliding window's fields, shared by the spatial conv layers and the conv template of ``pattern:``."""

    kernel_size: IntPair = Field(3, description="Kernel height and width.")
    strides: IntPair = Field(1, description="Step of the sliding window.")
    padding: Padding = Field(
        "valid", description="'valid', 'same', or explicit zero padding (an integer or [rows, cols])."
    )
    dilation_rate: IntPair = Field(1, description="Dilation (atrous) rate.")

    @model_validator(mode="after")
    def _check_strides_and_dilation(self) -> KernelOptions:
        check_strides_and_dilation(self.strides, self.dilation_rate)
        return self


# Pydantic takes the fields of the last base first (it walks the method resolution order backwards), so
# the field groups are listed last-first: the Kind's (type, id, inputs), then the unit's, then the window's.
class ConvOptions(UnitOptions, Kind):
    """What a conv-like layer can take from ``defaults``."""

    kernel_initializer: Initializer | None = Field(
        None, description="A Keras initializer name or a configured one (default: defaults.kernel_initializer)."
    )
    kernel_regularizer: Regularizer | None = Field(
        None, description="L1/L2 on the kernel (default: defaults.kernel_regularizer)."
    )


class SpatialOptions(KernelOptions, ConvOptions):
    """A conv-like layer with a sliding window."""


class Conv(SpatialOptions):
    """Conv2D."""

    type: Literal["conv"] = "conv"
    filters: PositiveInt = Field(description="Number of output channels.")
    groups: PositiveInt = Field(1, description="Grouped convolution (ResNeXt); must divide filters and input channels.")
    width_fields: ClassVar[tuple[str, ...]] = ("filters",)

    @model_validator(mode="after")
    def _check_groups(self) -> Conv:
        if self.filters % self.groups:
            raise ValueError(
                "filters must be evenly divisible by the number of groups. "
                f"Received: groups={self.groups}, filters={self.filters}"
            )
        return self


class DepthwiseConv(SpatialOptions):
    """DepthwiseConv2D."""

    type: Literal["depthwise_conv"] = "depthwise_conv"
    depth_multiplier: PositiveInt = Field(1, description="Output channels per input channel.")


class SeparableConv(SpatialOptions):
    """SeparableConv2D (depthwise then pointwise, one layer)."""

    type: Literal["separable_conv"] = "separable_conv"
    filters: PositiveInt = Field(description="Number of output channels.")
    depth_multiplier: PositiveInt = Field(1, description="Depthwise channels per input channel.")
    width_fields: ClassVar[tuple[str, ...]] = ("filters",)


class Dense(ConvOptions):
    """Dense (fully connected) on the last axis."""

    type: Literal["dense"] = "dense"
    units: PositiveInt = Field(description="Number of output units.")


class Pool(Kind):
    """Options of the pooling layers: window, step and padding."""

    pool_size: IntPair = Field(2, description="Window height and width.")
    strides: IntPair | None = Field(None, description="Step (default: pool_size, as in Keras).")
    padding: Padding = Field("valid", description="'valid', 'same', or explicit zero padding.")


class MaxPool(Pool):
    """Max pooling over a sliding window (Keras MaxPooling2D)."""

    type: Literal["max_pool"] = "max_pool"


class AvgPool(Pool):
    """Average pooling over a sliding window (Keras AveragePooling2D)."""

    type: Literal["avg_pool"] = "avg_pool"


class GlobalPool(Kind):
    """Options of the global pooling layers: one value per channel."""

    keepdims: bool = Field(False, description="Keep the 1x1 spatial axes.")


class GlobalAvgPool(GlobalPool):
    """The average of each channel over the whole map (Keras GlobalAveragePooling2D)."""

    type: Literal["global_avg_pool"] = "global_avg_pool"


class GlobalMaxPool(GlobalPool):
    """The maximum of each channel over the whole map (Keras GlobalMaxPooling2D)."""

    type: Literal["global_max_pool"] = "global_max_pool"


#: The activations without a parameter, one layer class: every activation but the two with a parameter of
#: their own, each its own class below (LeakyRelu's negative_slope, Elu's alpha).
PARAMETER_FREE_ACTIVATIONS: tuple[str, ...] = tuple(name for name in ACTIVATIONS if name not in ("leaky_relu", "elu"))
if TYPE_CHECKING:
    # A Literal built at run time is no static type; a checker sees every activation name.
    ParameterFreeActivation: TypeAlias = ActivationName
else:
    ParameterFreeActivation = Literal[PARAMETER_FREE_ACTIVATIONS]


class Activation(Kind):
    """A parameter-free activation layer."""

    type: ParameterFreeActivation


class LeakyRelu(Kind):
    """Leaky ReLU: x for positive inputs, ``negative_slope`` * x for the others."""

    type: Literal["leaky_relu"] = "leaky_relu"
    negative_slope: float = Field(0.3, ge=0.0, description="Slope for negative inputs (Keras default 0.3).")


class Elu(Kind):
    """ELU: x for positive inputs, ``alpha`` * (exp(x) - 1) for the others."""

    type: Literal["elu"] = "elu"
    alpha: float = Field(1.0, description="Scale of the negative part.")


class BatchNorm(Kind):
    """Batch normalization (Keras BatchNormalization); unset options come from ``defaults``."""

    type: Literal["batch_norm"] = "batch_norm"
    epsilon: float | None = Field(None, gt=0.0, description="Default: defaults.batch_norm_epsilon.")
    momentum: float | None = Field(None, gt=0.0, lt=1.0, description="Default: defaults.batch_norm_momentum.")
    center: bool = Field(True, description="Learn a beta offset.")
    scale: bool = Field(True, description="Learn a gamma scale.")


class LayerNorm(Kind):
    """Layer normalization over the channels (Keras LayerNormalization)."""

    type: Literal["layer_norm"] = "layer_norm"
    epsilon: float = Field(1e-3, gt=0.0, description="Added to the variance.")


class Dropout(Kind):
    """Dropout: zeroes a fraction ``rate`` of the inputs in training."""

    type: Literal["dropout"] = "dropout"
    rate: Rate | None = Field(None, description="Fraction dropped in training (default: defaults.dropout).")


class SpatialDropout(Kind):
    """Spatial dropout: zeroes whole channels in training (Keras SpatialDropout2D)."""

    type: Literal["spatial_dropout"] = "spatial_dropout"
    rate: Rate | None = Field(None, description="Fraction of whole channels dropped (default: defaults.dropout).")


class StochasticDepth(Kind):
    """Drops a whole example's input (a residual branch) with probability ``rate`` in training, scaling
    the kept ones by 1 / (1 - rate): Keras EfficientNet's drop-connect, Huang et al.'s stochastic depth."""

    type: Literal["stochastic_depth"] = "stochastic_depth"
    rate: Rate = Field(description="Probability of dropping the branch for an example.")


class LocalResponseNorm(Kind):
    """Local response normalization across channels (AlexNet): a / (bias + alpha * sum a^2) ** beta."""

    type: Literal["lrn"] = "lrn"
    size: PositiveInt = Field(5, description="Number of adjacent channels summed (odd).")
    bias: float = Field(2.0, gt=0.0, description="k in the AlexNet paper (> 0: the divisor's base stays positive).")
    alpha: float = Field(1e-4, ge=0.0, description="Scale of the sum of squares.")
    beta: float = Field(0.75, description="Exponent.")

    @model_validator(mode="after")
    def _check_odd(self) -> LocalResponseNorm:
        if self.size % 2 == 0:
            raise ValueError(f"size must be odd (a window centred on each channel). Received: size={self.size}")
        return self


class Flatten(Kind):
    """Flattens the input to one axis (Keras Flatten)."""

    type: Literal["flatten"] = "flatten"


#: A target_shape entry: a size, or -1 (once) for the size Keras infers from the input's element count.
ReshapeSize = Annotated[int, Field(ge=-1, le=MAX_INT)]


class Reshape(Kind):
    """Keras Reshape: the same elements in a new shape (no batch axis), e.g. a C-vector to a 1x1xC map."""

    type: Literal["reshape"] = "reshape"
    target_shape: list[ReshapeSize] = Field(
        max_length=3,
        json_schema_extra={"minItems": 1},
        description="The new shape without the batch axis ([1, 1, 16]); one entry may be "
        "-1, inferred from the input's element count ([1, 1, -1] keeps the channels, also under width scaling).",
    )

    @model_validator(mode="after")
    def _check_target_shape(self) -> Reshape:
        if not self.target_shape:
            raise FieldError(("target_shape",), "give 1 to 3 sizes (no batch axis), e.g. target_shape: [1, 1, 16]")
        unknown = [index for index, size in enumerate(self.target_shape) if size == -1]
        for index, size in enumerate(self.target_shape):
            if size == 0:
                raise FieldError(("target_shape", index), "a size must be >= 1, or -1 (inferred). Received: 0")
        if len(unknown) > 1:
            raise FieldError(
                ("target_shape", unknown[1]),
                (f"only one size may be -1 (inferred from the input). Received: target_shape={self.target_shape}"),
            )
        return self


class ZeroPadding(Kind):
    """Pads the map with rows and columns of zeros (Keras ZeroPadding2D)."""

    type: Literal["zero_padding"] = "zero_padding"
    padding: ZeroPaddingValue = Field(1, description="int, [rows, cols], or [[top, bottom], [left, right]].")


class Rescaling(Kind):
    """Multiplies the inputs by ``scale`` and adds ``offset`` (Keras Rescaling)."""

    type: Literal["rescaling"] = "rescaling"
    scale: float = Field(description="Multiply inputs by this.")
    offset: float = Field(0.0, description="Then add this.")


Variance = Annotated[float, Field(ge=0.0)]


class Normalization(Kind):
    """Keras Normalization with fixed per-channel mean and variance."""

    type: Literal["normalization"] = "normalization"
    mean: float | list[float] = Field(description="Per-channel mean (or one value).")
    variance: Variance | list[Variance] = Field(description="Per-channel variance (or one value), >= 0.")


class ImagenetPreprocessing(Kind):
    """A keras.applications network's ``preprocess_input``, as a layer: RGB pixels in [0, 255] in."""

    type: Literal["imagenet_preprocessing"] = "imagenet_preprocessing"
    mode: PreprocessingMode = Field(
        description="caffe (RGB to BGR, minus the ImageNet mean), tf (to [-1, 1]), "
        "torch (to [0, 1], minus the ImageNet mean, over its std)."
    )


class KerasApplication(Kind):
    """A keras.applications network without its top (``include_top=False``), as one nested layer."""

    type: Literal["keras_application"] = "keras_application"
    application: ApplicationName = Field(description="The keras.applications network (ResNet50, MobileNetV2, ...).")
    weights: str = WEIGHTS_FIELD
    trainable: bool | None = TRAINABLE_FIELD

    @property
    def pretrained(self) -> bool:
        """Whether ``weights`` names pretrained weights (anything but ``"none"``)."""
        return self.weights != NO_WEIGHTS

    @property
    def is_trainable(self) -> bool:
        """``trainable`` when set; else the network trains only when it starts from random weights."""
        return (not self.pretrained) if self.trainable is None else self.trainable


class Merge(Kind):
    """Options of the merge layers: they read at least two ``inputs``."""

    min_inputs: ClassVar[int] = 2

    @model_validator(mode="after")
    def _require_inputs(self) -> Merge:
        if self.inputs is None:
            raise ValueError(f"'{self.type}' needs `inputs`: a list of at least two ids to merge")
        return self


class Add(Merge):
    """Elementwise sum; shapes broadcast as Keras's merges do (aligned on the last axis; a size of 1 or a
    missing axis repeats: a HxWxC map plus a C-vector)."""

    type: Literal["add"] = "add"


class Multiply(Merge):
    """Elementwise product, broadcast as `add` (a HxWxC map times a C-vector or a 1x1xC gate)."""

    type: Literal["multiply"] = "multiply"


class Concatenate(Merge):
    """Concatenation on the channels (last) axis; every other axis must match."""

    type: Literal["concatenate"] = "concatenate"


#: Every layer class defined above, in definition order (the order of the kinds in the schema): a new
#: kind is listed by defining its class above this line.
LAYER_CLASSES: tuple[type[Kind], ...] = kinds_defined_in(__name__)

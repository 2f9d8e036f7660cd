"""The blueprint format: pydantic classes, YAML loading and dumping, resolution (no Keras here)."""

from archbuilder.blueprint.blocks import (
    Bottleneck,
    DenseBlock,
    Depthwise,
    Fire,
    Inception,
    InvertedResidual,
    MlpConv,
    Residual,
    SqueezeExcite,
    Transition,
)
from archbuilder.blueprint.errors import BlueprintError, Problem
from archbuilder.blueprint.io import dump_yaml, load_blueprint
from archbuilder.blueprint.kinds import ALL_KINDS, BLOCK_KINDS, KIND_BY_TAG, LAYER_KINDS, AnyKind
from archbuilder.blueprint.layers import (
    Activation,
    Add,
    AvgPool,
    BatchNorm,
    Concatenate,
    Conv,
    Dense,
    DepthwiseConv,
    Dropout,
    Elu,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    LayerNorm,
    LeakyRelu,
    LocalResponseNorm,
    MaxPool,
    Multiply,
    Normalization,
    Regularizer,
    Rescaling,
    SeparableConv,
    SpatialDropout,
    ZeroPadding,
)
from archbuilder.blueprint.model import (
    AuxHead,
    Blueprint,
    Defaults,
    FilterProgression,
    Head,
    InputSpec,
    Pattern,
    PatternStage,
    Scaling,
    Stage,
)
from archbuilder.blueprint.resolve import resolve

__all__ = [name for name in dir() if not name.startswith("_")]

"""The sections of a blueprint: input, defaults, scaling, the pattern form, stages, backbone, heads.

:mod:`archbuilder.blueprint.base` assembles them into the blueprint's fields; the resolver
(:mod:`archbuilder.blueprint.resolve`) works on them and on :class:`~archbuilder.blueprint.base.BlueprintBase`,
so it needs no import of the Blueprint class, and ``Blueprint.resolve()`` imports the resolver at the top.
"""

from __future__ import annotations

import math
import sys
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from archbuilder.blueprint.applications import APPLICATIONS, TRAINABLE_FIELD, WEIGHTS_FIELD, ApplicationName
from archbuilder.blueprint.errors import FieldError
from archbuilder.blueprint.fields import (
    MAX_INT,
    ActivationName,
    Identifier,
    IntPair,
    Padding,
    PositiveInt,
    Rate,
    Spec,
)
from archbuilder.blueprint.initializers import Initializer
from archbuilder.blueprint.kinds import AnyKind
from archbuilder.blueprint.layers import (
    AvgPool,
    ImagenetPreprocessing,
    KerasApplication,
    KernelOptions,
    Kind,
    MaxPool,
    Regularizer,
    UnitOptions,
    UseBias,
)

MAX_REPEAT = 1000
#: Upper bound on the layers and blocks of a resolved blueprint (repeats multiply quickly).
MAX_RESOLVED_ITEMS = 20_000
#: Above this natural logarithm a float would overflow (with a margin for the multiplication by start).
_LOG_FLOAT_MAX = math.log(sys.float_info.max) - 1


def _big(value: float, magnitude: float) -> str:
    """A large count: exact with separators while that stays short, else in scientific notation."""
    if math.isinf(value):
        return f"about 10^{magnitude / math.log(10):.0f}"
    return f"{round(value):,}" if value < 1e15 else f"{value:.3g}"


class InputSpec(Spec):
    """The model's input: the shape of one image."""

    shape: tuple[PositiveInt, PositiveInt, PositiveInt] = Field(
        description="[height, width, channels] (channels-last)."
    )


class Defaults(Spec):
    """Settings applied wherever a layer or block does not set its own."""

    activation: ActivationName = Field("relu", description="Activation after conv/dense layers and inside blocks.")
    batch_norm: bool = Field(False, description="BatchNormalization after every conv (before its activation).")
    batch_norm_epsilon: float = Field(1e-3, gt=0.0, description="BatchNormalization epsilon (Keras default 1e-3).")
    batch_norm_momentum: float = Field(
        0.99, gt=0.0, lt=1.0, description="BatchNormalization momentum (Keras default 0.99)."
    )
    use_bias: UseBias = Field(
        True, description="true, false, or 'auto' (bias only on convs not followed by batch norm)."
    )
    kernel_initializer: Initializer = Field(
        "glorot_uniform",
        description="Conv and dense kernels' initializer: a Keras "
        "name (he_normal, ...) or {type: variance_scaling|random_normal|"
        "truncated_normal|random_uniform, ...}.",
    )
    kernel_regularizer: Regularizer | None = Field(None, description="L1/L2 on every kernel (weight decay as l2).")
    dropout: Rate = Field(0.0, description="Rate for dropout layers without one, and after each head fc layer.")
    stochastic_depth: Rate = Field(
        0.0,
        description="Largest stochastic-depth rate: the i-th of the n residual blocks "
        "(residual, bottleneck, inverted_residual) gets drop_path = rate x i / n, from 0 "
        "(Keras EfficientNet's drop_connect_rate, timm's drop_path_rate).",
    )


class Scaling(Spec):
    """Compound scaling (EfficientNet): a transform of the blueprint, applied when it is resolved."""

    width_multiplier: float = Field(
        1.0, gt=0.0, le=16.0, description="Multiplies every channel width (make-divisible rounding)."
    )
    depth_multiplier: float = Field(1.0, gt=0.0, le=16.0, description="Multiplies every stage's repeat (rounded up).")
    resolution: PositiveInt | None = Field(None, description="New input height and width.")
    divisor: PositiveInt = Field(8, description="Scaled widths are rounded to a multiple of this.")


_EMPTY_STAGE = "this stage has no convs and no pool; remove it or give it convs"


class PatternStage(Spec):
    """One stage of a pattern: N conv layers of the same width, optionally ending with a pool."""

    filters: PositiveInt = Field(description="Filters of every conv in this stage.")
    convs: int = Field(1, ge=0, le=MAX_REPEAT, description="N: number of CONV-ACT in this stage.")
    pool: bool = Field(True, description="End the stage with the pattern's pool.")


class FilterProgression(Spec):
    """Filters of a pattern's stages: a geometric progression from ``start``, optionally capped."""

    start: PositiveInt = Field(description="Filters of the first stage.")
    growth: float = Field(2.0, gt=0.0, description="Each stage multiplies the filters by this.")
    max: PositiveInt | None = Field(None, description="Cap on the filters of any stage.")

    def widths(self, stages: int) -> list[int]:
        """Filters of each of ``stages`` stages: ``round(start * growth**m)``, capped by ``max``, at least 1.

        Raises:
            FieldError: at ``growth`` when a stage would be wider than the largest width allowed.
        """
        widths = []
        for m in range(stages):
            # In logarithms first: growth**m overflows a float long before it could be compared.
            magnitude = math.log(self.start) + m * math.log(self.growth)
            value = math.inf if magnitude > _LOG_FLOAT_MAX else self.start * self.growth**m
            if self.max is not None:
                value = min(value, self.max)
            if value >= MAX_INT + 0.5:
                raise FieldError(
                    ("growth",),
                    (
                        f"stage {m} (from 0) would have {self.start} x {self.growth:g}^{m} = {_big(value, magnitude)} "
                        f"filters, over the limit of {MAX_INT:,}. Use growth <= {self._largest_growth(stages)} "
                        f"(with start {self.start} and {stages} stages), or cap the widths with `max`"
                    ),
                )
            widths.append(max(1, round(value)))
        return widths

    def _largest_growth(self, stages: int) -> str:
        """The largest growth (4 significant digits, rounded down) that keeps the last stage within MAX_INT."""
        last = stages - 1
        exact = (MAX_INT / self.start) ** (1 / last)
        decimals = 3 - math.floor(math.log10(exact))
        growth = math.floor(exact * 10**decimals) / 10**decimals
        while round(self.start * growth**last) > MAX_INT:
            growth -= 10.0**-decimals
        return f"{round(growth, max(decimals, 0)):g}"


# The window's fields, then the unit's (pydantic takes the last base's fields first).
class ConvTemplate(UnitOptions, KernelOptions):
    """The conv of a pattern: every field of `conv` but filters (set per stage)."""

    padding: Padding = Field("same", description="'same', 'valid', or explicit zero padding.")  # keeps its place


class Pattern(Spec):
    """``[(CONV-ACT)*N - POOL?]*M - (FC-ACT)*K - CLASSIFIER``, per stage or compactly."""

    conv: ConvTemplate = Field(default_factory=ConvTemplate, description="The conv repeated in every stage.")
    stages: list[PatternStage] | None = Field(None, max_length=64, description="Per-stage filters and conv counts.")
    N: int | None = Field(None, ge=0, le=MAX_REPEAT, description="Compact form: convs per stage.")
    M: int | None = Field(None, ge=1, le=64, description="Compact form: number of stages.")
    K: int | None = Field(
        None,
        ge=0,
        le=64,
        description="Number of FC layers before the classifier; K > 0 needs `fc` (their units, or a list of K widths).",
    )
    filters: FilterProgression | PositiveInt | None = Field(
        None, description="Compact form: filters per stage: a number (the same in every stage) or {start, growth, max}."
    )
    pool: Annotated[MaxPool | AvgPool, Field(discriminator="type")] | None = Field(
        default_factory=lambda: MaxPool(pool_size=2, strides=2), description="Pool ending each stage (null: none)."
    )
    fc: list[PositiveInt] | PositiveInt | None = Field(
        None, description="FC layers before the classifier: a list of units, or units repeated K times."
    )
    dropout: Rate | None = Field(None, description="Dropout after each FC layer.")

    @field_validator("filters", mode="before")
    @classmethod
    def _check_filters_form(cls, value: Any) -> Any:
        if value is None or isinstance(value, (dict, FilterProgression)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValueError(
            "expected an integer (the filters of every stage, e.g. filters: 32) or a progression "
            f"{{start: 32, growth: 2, max: 256}}. Received: {value!r}"
        )

    @model_validator(mode="after")
    def _check_form(self) -> Pattern:
        compact = {"N": self.N, "M": self.M, "filters": self.filters}
        if self.stages is not None:
            given = [name for name, value in compact.items() if value is not None]
            if given:
                raise ValueError(
                    f"give either `stages` or the compact form (N, M, filters), not both; remove {', '.join(given)}"
                )
            if not self.stages:
                raise FieldError(
                    ("stages",),
                    "`stages` is empty; list at least one stage (e.g. {filters: 32, convs: 2}) "
                    "or use the compact form (N, M, filters)",
                )
            for m, stage in enumerate(self.stages):
                if not stage.convs and not (stage.pool and self.pool is not None):
                    raise FieldError(("stages", m), _EMPTY_STAGE)
        else:
            missing = [name for name, value in compact.items() if value is None]
            if missing:
                raise ValueError(
                    "the pattern needs `stages`, or the compact form with N, M and filters; missing "
                    f"{', '.join(missing)}"
                )
            if not self.N and self.pool is None:
                raise FieldError(
                    ("N",),
                    "N: 0 convs per stage and no pool (pool: null) leaves every stage empty; set N >= 1 or give a pool",
                )
            try:
                self.widths()
            except FieldError as error:
                raise FieldError(("filters",) + error.location, str(error)) from None
        if self.K and self.fc is None:
            raise FieldError(
                ("K",),
                (
                    f"K={self.K} asks for {self.K} FC layer{'s' if self.K > 1 else ''} but the pattern has no `fc` to "
                    "give their units; add fc: <units> (the same for each, e.g. fc: 128) or fc: [units, ...] (one "
                    "per layer), or set K: 0"
                ),
            )
        if isinstance(self.fc, int) and self.K is None:
            raise ValueError("`fc` as a single number needs `K` (how many FC layers)")
        if isinstance(self.fc, list) and self.K is not None and len(self.fc) != self.K:
            raise ValueError(f"`fc` lists {len(self.fc)} layers but K={self.K}")
        return self

    def widths(self) -> list[int]:
        """Filters of each stage of the compact form (``filters`` a number: that width in every stage).

        Raises:
            FieldError: at ``growth`` when a stage would be wider than the largest width allowed.
        """
        assert self.filters is not None and self.M is not None
        if isinstance(self.filters, int):
            return [self.filters] * self.M
        return self.filters.widths(self.M)


class Stage(Spec):
    """A block template repeated, or an explicit list of blocks/layers (optionally repeated)."""

    block: AnyKind | None = Field(None, description="The block (or layer) of this stage.")
    blocks: list[AnyKind] | None = Field(
        None, max_length=MAX_RESOLVED_ITEMS, description="An explicit sequence instead of `block`."
    )
    repeat: int = Field(1, ge=1, le=MAX_REPEAT, description="How many times the block (or the sequence) is repeated.")
    strides: IntPair | None = Field(
        None, description="Downsampling, applied to the first (or last) block; 1 (none) is accepted on any kind."
    )
    stride_block: Literal["first", "last"] = Field(
        "first", description="Which block takes `strides` (ResNet v2 strides its last)."
    )
    id: Identifier | None = Field(None, description="Name for this stage's output.")

    @model_validator(mode="after")
    def _one_body(self) -> Stage:
        if (self.block is None) == (self.blocks is None):
            raise ValueError("a stage needs exactly one of `block` (with `repeat`) or `blocks` (a list)")
        if self.blocks is not None and not self.blocks:
            raise ValueError("`blocks` is empty; list at least one block or layer")
        return self


class Backbone(Spec):
    """A keras.applications network as the body: its own preprocessing, then the network without its top."""

    keras_application: ApplicationName = Field(
        description="The keras.applications network (ResNet50, MobileNetV2, EfficientNetB0, ...)."
    )
    weights: str = WEIGHTS_FIELD
    trainable: bool | None = TRAINABLE_FIELD
    preprocessing: bool = Field(
        True,
        description="Put the application's preprocess_input in the model (it then "
        "takes RGB pixels in [0, 255]); EfficientNet rescales its input itself.",
    )

    def layers(self) -> list[tuple[str, Kind]]:
        """``(name, layer)`` of what the backbone lowers to: its preprocessing (if any), then the network."""
        mode = APPLICATIONS[self.keras_application].preprocessing
        network = KerasApplication(application=self.keras_application, weights=self.weights, trainable=self.trainable)
        steps: list[tuple[str, Kind]] = (
            [("preprocessing", ImagenetPreprocessing(mode=mode))] if mode and self.preprocessing else []
        )
        return steps + [("", network)]


class Head(Spec):
    """Classifier: optional layers, pooling, FC layers, dropout, the final dense."""

    layers: list[AnyKind] = Field(
        default_factory=list, max_length=64, description="Layers before pooling (e.g. a final 1x1 conv)."
    )
    pool: Literal["flatten", "global_avg", "global_max", "none"] | None = Field(
        None,
        description="How the feature map becomes a vector (default: flatten for the pattern form, else global_avg).",
    )
    fc: list[PositiveInt] = Field(
        default_factory=list, max_length=64, description="Hidden FC layers (each with defaults.activation)."
    )
    fc_dropout: Rate | None = Field(None, description="Dropout after each hidden FC layer (default: defaults.dropout).")
    kernel_initializer: Initializer | None = Field(
        None, description="Initializer of the FC layers and the classifier (default: defaults.kernel_initializer)."
    )
    dropout: Rate = Field(0.0, description="Dropout right before the classifier.")
    classes: PositiveInt = Field(description="Number of classes (units of the classifier).")
    activation: Literal["softmax", "sigmoid", "linear"] = Field("softmax", description="Output activation.")
    classifier: Literal["dense", "conv", "none"] = Field(
        "dense",
        description="dense: a Dense layer; conv: a 1x1 conv on the pooled map (MobileNet); "
        "none: the features already have `classes` channels (NIN, All-CNN, SqueezeNet).",
    )
    name: Identifier = Field("predictions", description="Name of the output.")

    @model_validator(mode="after")
    def _check_classifier(self) -> Head:
        if self.classifier == "conv" and (self.pool not in (None, "global_avg", "global_max") or self.fc):
            raise ValueError(
                "classifier: conv needs pool: global_avg or global_max and no `fc` layers "
                f"(it is a 1x1 conv on the pooled 1x1 map). Received: pool={self.pool!r}, fc={self.fc}"
            )
        return self


class AuxHead(Head):
    """An auxiliary classifier attached to a named point (GoogLeNet)."""

    at: Identifier = Field(description="Id of the layer, block or stage whose output feeds this head.")
    name: Identifier = Field(description="Name of this output.")
    loss_weight: float = Field(0.3, ge=0.0, description="Weight of this head's loss in training.")


__all__ = [
    "AuxHead",
    "Backbone",
    "ConvTemplate",
    "Defaults",
    "FilterProgression",
    "Head",
    "InputSpec",
    "MAX_REPEAT",
    "MAX_RESOLVED_ITEMS",
    "Pattern",
    "PatternStage",
    "Scaling",
    "Stage",
]

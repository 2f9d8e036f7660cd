"""Block templates: the literature's building blocks, each one ``type`` tag.

A block's structure (which convolutions, in which order, with which shortcut) is written once,
in :mod:`archbuilder.analysis.blocks` (a lowering per kind), and both the analyzer and the compiler follow it.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from archbuilder.blueprint.errors import FieldError
from archbuilder.blueprint.fields import MAX_INT, ActivationName, IntPair, Padding, PositiveInt, Rate
from archbuilder.blueprint.layers import Kind, kinds_defined_in

Shortcut = Literal["auto", "identity", "projection", "zero_pad"]
SHORTCUT_DESCRIPTION = (
    "auto: the identity when the input and output shapes match; when only the spatial size changes (strides > 1, "
    "the same channels), a parameter-free 1x1 max pool with the block's strides (it subsamples); when the channels "
    "change, a 1x1 projection conv with the block's strides (and batch norm when the block has it, except in the "
    "preact form). identity: the input as it is (subsampled by the same 1x1 max pool when strided; the channels "
    "must match). projection: always the 1x1 conv. zero_pad: the paper's option A, the input subsampled and padded "
    "with zero channels (no parameters; for an output of the same or twice the input's channels)."
)


def _smallest_factor(filters: int) -> str:
    """The smallest factor (3 significant digits, rounded up) with ``int(filters * factor) >= 1``."""
    exact = 1 / filters
    decimals = 2 - math.floor(math.log10(exact))
    factor = math.ceil(exact * 10**decimals) / 10**decimals
    while int(filters * factor) < 1:
        factor += 10.0**-decimals
    return f"{round(factor, decimals):g}"


def _smallest_count(factor: float) -> int:
    """The smallest count with ``int(count * factor) >= 1`` (huge for a tiny factor)."""
    if factor * (MAX_INT + 1) < 1:
        return MAX_INT + 1
    count = max(1, math.ceil(1 / factor))
    while int(count * factor) < 1:
        count += 1
    return count


class Block(Kind):
    """Options every block template takes; unset ones come from ``defaults``."""

    activation: ActivationName | None = Field(
        None, description="Activation inside the block (default: defaults.activation)."
    )
    batch_norm: bool | None = Field(
        None, description="BatchNormalization after each conv (default: defaults.batch_norm)."
    )


class StridedBlock(Block):
    """Options of the block templates that can downsample: their ``strides``."""

    strides: IntPair = Field(
        1, description="Downsampling of this block (a stage's `strides` sets it on its first block)."
    )


class ShortcutBlock(StridedBlock):
    """Options of the blocks with an identity-or-projection shortcut around a residual branch (residual,
    bottleneck). As base-class fields they come before each block's own fields."""

    shortcut: Shortcut = Field("auto", description=SHORTCUT_DESCRIPTION)
    preact: bool = Field(False, description="Pre-activation form (BN-ReLU before each conv, ResNet v2).")
    drop_path: Rate | None = Field(
        None,
        description="Stochastic depth: the rate at which a training example skips "
        "the residual branch (default: from defaults.stochastic_depth).",
    )


class Inception(Block):
    """GoogLeNet's module: 1x1, 1x1->3x3, 1x1->5x5 and pool->1x1 branches, concatenated."""

    type: Literal["inception"] = "inception"
    filters_1x1: PositiveInt = Field(description="Width of the 1x1 branch.")
    reduce_3x3: PositiveInt | None = Field(None, description="1x1 reduction before the 3x3 (not in the naive form).")
    filters_3x3: PositiveInt = Field(description="Width of the 3x3 branch.")
    reduce_5x5: PositiveInt | None = Field(None, description="1x1 reduction before the 5x5 (not in the naive form).")
    filters_5x5: PositiveInt = Field(description="Width of the 5x5 branch.")
    pool_proj: PositiveInt | None = Field(None, description="1x1 after the 3x3 max pool (not in the naive form).")
    naive: bool = Field(
        False, description="The naive module: no 1x1 reductions; the pool branch passes its input channels."
    )
    width_fields: ClassVar[tuple[str, ...]] = (
        "filters_1x1",
        "reduce_3x3",
        "filters_3x3",
        "reduce_5x5",
        "filters_5x5",
        "pool_proj",
    )

    @model_validator(mode="after")
    def _check_form(self) -> Inception:
        reductions = {"reduce_3x3": self.reduce_3x3, "reduce_5x5": self.reduce_5x5, "pool_proj": self.pool_proj}
        if self.naive:
            given = [name for name, value in reductions.items() if value is not None]
            if given:
                raise ValueError(
                    f"the naive inception module has no 1x1 reductions; remove {', '.join(given)} or set naive: false"
                )
        else:
            missing = [name for name, value in reductions.items() if value is None]
            if missing:
                raise ValueError(
                    f"the dimension-reduced inception module needs {', '.join(missing)} (or set naive: true)"
                )
        return self


class Residual(ShortcutBlock):
    """Basic residual block: two 3x3 convs and a shortcut (ResNet-18/34, CIFAR ResNets, WRN)."""

    type: Literal["residual"] = "residual"
    filters: PositiveInt = Field(description="Width of both convs and of the output.")
    kernel_size: IntPair = Field(3, description="Kernel of both convs.")
    se_ratio: float | None = Field(
        None, gt=0.0, le=1.0, description="Squeeze-excite on the residual branch; reduced width = filters * se_ratio."
    )
    dropout: Rate = Field(0.0, description="Dropout between the two convs (Wide ResNet).")
    width_fields: ClassVar[tuple[str, ...]] = ("filters",)


class Bottleneck(ShortcutBlock):
    """1x1 reduce, 3x3, 1x1 expand, plus shortcut (ResNet-50+, ResNeXt, Wide ResNet-50-2, SE-ResNet)."""

    type: Literal["bottleneck"] = "bottleneck"
    filters: PositiveInt = Field(description="Base width; the output has filters * expansion channels.")
    expansion: PositiveInt = Field(4, description="Output channels = filters * expansion.")
    width_factor: float = Field(
        1.0, gt=0.0, description="Inner (3x3) width = int(filters * width_factor): 2 for ResNeXt-50 32x4d and WRN-50-2."
    )
    groups: PositiveInt = Field(1, description="Groups (cardinality) of the 3x3 conv, ResNeXt.")
    stride_on: Literal["1x1", "3x3"] = Field(
        "1x1", description="Where the block's stride goes: the first 1x1 (Keras ResNet50) or the 3x3 (ResNet v1.5)."
    )
    padding: Padding = Field("same", description="Padding of the 3x3 conv ('same' or explicit).")
    se_ratio: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="Squeeze-excite on the residual branch; reduced width = output channels * se_ratio.",
    )
    width_fields: ClassVar[tuple[str, ...]] = ("filters",)

    @property
    def inner_filters(self) -> int:
        """Width of the 3x3 conv: ``int(filters * width_factor)``."""
        return int(self.filters * self.width_factor)

    @property
    def out_filters(self) -> int:
        """Channels the block outputs: ``filters * expansion``."""
        return self.filters * self.expansion

    @model_validator(mode="after")
    def _check_widths(self) -> Bottleneck:
        inner = (
            f"the inner width int(filters x width_factor) = int({self.filters} x {self.width_factor:g}) = "
            f"{self.inner_filters:,}"
        )
        if self.inner_filters < 1:
            smallest_filters = _smallest_count(self.width_factor)
            other = (
                f", or filters >= {smallest_filters} (with width_factor {self.width_factor:g})"
                if smallest_filters <= MAX_INT
                else ""
            )
            raise FieldError(
                ("width_factor",),
                (
                    f"{inner}; a conv needs at least 1 filter. Use width_factor >= {_smallest_factor(self.filters)} "
                    f"(with filters {self.filters}){other}"
                ),
            )
        if self.inner_filters > MAX_INT:
            raise FieldError(
                ("width_factor",),
                (
                    f"{inner}, over the limit of {MAX_INT:,}. Use width_factor <= {MAX_INT // self.filters} "
                    f"(with filters {self.filters})"
                ),
            )
        if self.out_filters > MAX_INT:
            raise FieldError(
                ("expansion",),
                (
                    f"the output width filters x expansion = {self.filters} x {self.expansion} = {self.out_filters:,} "
                    f"is over the limit of {MAX_INT:,}. Use expansion <= {MAX_INT // self.filters} (with filters "
                    f"{self.filters})"
                ),
            )
        if self.inner_filters % self.groups:
            raise ValueError(
                f"the inner width must be evenly divisible by the number of groups. Received: groups={self.groups}, "
                f"inner width={self.inner_filters} (filters={self.filters} x width_factor={self.width_factor})"
            )
        return self


class Depthwise(StridedBlock):
    """MobileNet's depthwise-separable block: depthwise 3x3-BN-act, pointwise 1x1-BN-act."""

    type: Literal["depthwise"] = "depthwise"
    filters: PositiveInt = Field(description="Pointwise output channels.")
    kernel_size: IntPair = Field(3, description="Depthwise kernel.")
    depth_multiplier: PositiveInt = Field(1, description="Depthwise channels per input channel.")
    padding: Padding = Field("same", description="Padding of the depthwise conv.")
    width_fields: ClassVar[tuple[str, ...]] = ("filters",)


class InvertedResidual(StridedBlock):
    """MobileNetV2 / EfficientNet MBConv: 1x1 expand, depthwise, optional squeeze-excite, 1x1 project."""

    type: Literal["inverted_residual"] = "inverted_residual"
    filters: PositiveInt = Field(description="Output channels (after the linear projection).")
    expansion: PositiveInt = Field(6, description="Expanded width = input channels * expansion (1: no expand conv).")
    kernel_size: IntPair = Field(3, description="Depthwise kernel.")
    padding: Padding = Field("same", description="Padding of the depthwise conv.")
    se_ratio: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="Squeeze-excite; reduced width = max(1, int(input channels * se_ratio)) (EfficientNet).",
    )
    drop_path: Rate | None = Field(
        None,
        description="Stochastic depth on the residual branch, when the block has one "
        "(stride 1, same width) (default: from defaults.stochastic_depth).",
    )
    width_fields: ClassVar[tuple[str, ...]] = ("filters",)


class SqueezeExcite(Block):
    """Squeeze-and-excitation: global pool, 1x1 reduce + activation, 1x1 expand + sigmoid, rescale."""

    type: Literal["squeeze_excite"] = "squeeze_excite"
    ratio: float = Field(
        0.25, gt=0.0, le=1.0, description="Reduced width = max(1, int(channels * ratio)); SENet's r=16 is 0.0625."
    )


class DenseBlock(Block):
    """DenseNet dense block: each layer (BN-act-1x1-BN-act-3x3) adds growth_rate channels by concatenation."""

    type: Literal["dense_block"] = "dense_block"
    num_layers: int = Field(
        ge=1, le=1000, description="Number of layers in the block (at most 1,000; DenseNet-264 has 64)."
    )
    growth_rate: PositiveInt = Field(32, description="Channels each layer adds.")
    bottleneck_width: PositiveInt | None = Field(
        4, description="1x1 bottleneck of bottleneck_width * growth_rate channels (DenseNet-BC); null for none."
    )
    width_fields: ClassVar[tuple[str, ...]] = ("growth_rate",)

    @model_validator(mode="after")
    def _check_widths(self) -> DenseBlock:
        if self.bottleneck_width is not None and self.bottleneck_width * self.growth_rate > MAX_INT:
            raise FieldError(
                ("bottleneck_width",),
                (
                    f"the 1x1 bottleneck width bottleneck_width x growth_rate = {self.bottleneck_width} x "
                    f"{self.growth_rate} = {self.bottleneck_width * self.growth_rate:,} is over the limit of "
                    f"{MAX_INT:,}. Use bottleneck_width <= {MAX_INT // self.growth_rate} (with growth_rate "
                    f"{self.growth_rate})"
                ),
            )
        return self


class Transition(Block):
    """DenseNet transition: BN-act, 1x1 conv to int(channels * reduction), 2x2 average pool."""

    type: Literal["transition"] = "transition"
    reduction: float = Field(0.5, gt=0.0, le=1.0, description="Compression factor theta.")


class Fire(Block):
    """SqueezeNet fire module: 1x1 squeeze, then 1x1 and 3x3 expands concatenated."""

    type: Literal["fire"] = "fire"
    squeeze: PositiveInt = Field(description="Width of the 1x1 squeeze.")
    expand_1x1: PositiveInt = Field(description="Width of the 1x1 expand.")
    expand_3x3: PositiveInt = Field(description="Width of the 3x3 expand.")
    width_fields: ClassVar[tuple[str, ...]] = ("squeeze", "expand_1x1", "expand_3x3")


class MlpConv(StridedBlock):
    """Network in Network's mlpconv: a kxk conv followed by 1x1 convs (a micro MLP per position)."""

    type: Literal["mlpconv"] = "mlpconv"
    filters: list[PositiveInt] = Field(min_length=1, max_length=16, description="Widths: the kxk conv, then each 1x1.")
    kernel_size: IntPair = Field(3, description="Kernel of the first conv.")
    padding: Padding = Field("same", description="Padding of the first conv.")
    width_fields: ClassVar[tuple[str, ...]] = ("filters",)


#: Every block class defined above, in definition order (the order of the kinds in the schema): a new
#: kind is listed by defining its class above this line.
BLOCK_CLASSES: tuple[type[Kind], ...] = kinds_defined_in(__name__)

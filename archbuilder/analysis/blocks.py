"""Block templates lowered into primitive layers, once, for both the analyzer and the compiler.

Each lowering follows the literature (../shared/seeds/) and, where Keras ships the network, the
layer structure of ``keras.applications`` so that its weights load in order.
"""

from __future__ import annotations

from typing import Any

from archbuilder.analysis.graph import GraphBuilder, lowering
from archbuilder.blueprint import blocks as B
from archbuilder.blueprint import layers as L
from archbuilder.blueprint.errors import Location
from archbuilder.blueprint.fields import MAX_INT, pair


def _activation(g: GraphBuilder, block: B.Block) -> str:
    return block.activation or g.defaults.activation


def _batch_norm(g: GraphBuilder, block: B.Block) -> bool:
    return g.defaults.batch_norm if block.batch_norm is None else block.batch_norm


def merge(g: GraphBuilder, path: Location, kind: type[L.Add | L.Multiply | L.Concatenate], inputs: list[str]) -> str:
    """An internal merge (no user ids involved)."""
    return g.add(path, kind.model_construct(), inputs)


def preactivate(g: GraphBuilder, path: Location, x: str, activation: str, batch_norm: bool) -> str:
    """BN then activation before a conv (ResNet v2, DenseNet)."""
    if batch_norm:
        x = g.batch_norm(path + ("preact", "bn"), x)
    return g.activation(path + ("preact",), activation, x)


def squeeze_excite(g: GraphBuilder, path: Location, x: str, reduced: int, activation: str) -> str:
    """Global pool, 1x1 reduce + activation, 1x1 expand + sigmoid, rescale the input."""
    channels = g.channels(x)
    squeezed = g.add(path + ("squeeze",), L.GlobalAvgPool(keepdims=True), [x])
    squeezed = g.conv(path + ("reduce",), squeezed, reduced, 1, activation=activation, batch_norm=False, use_bias=True)
    gate = g.conv(path + ("expand",), squeezed, channels, 1, activation="sigmoid", batch_norm=False, use_bias=True)
    return merge(g, path + ("scale",), L.Multiply, [x, gate])


def _shortcut(
    g: GraphBuilder, path: Location, block: Any, x: str, source: str, out_channels: int, batch_norm: bool
) -> str:
    """Identity, strided subsampling, or 1x1 projection.

    ``shortcut: auto`` projects when the channel count changes; when only the stride changes it
    subsamples with a 1x1 max pool (ResNet v2 as in Keras); otherwise it is the identity.
    """
    strides = pair(block.strides)
    in_channels = g.channels(x)
    if block.shortcut == "identity" and in_channels != out_channels:
        raise g.error(
            path + ("shortcut",),
            (
                f"an identity shortcut needs the input channels ({in_channels}) to equal the output channels "
                f"({out_channels}); use shortcut: projection (or auto)"
            ),
        )
    if block.shortcut == "zero_pad":
        return _zero_pad_shortcut(g, path, block, x, out_channels)
    if block.shortcut == "projection" or (block.shortcut == "auto" and in_channels != out_channels):
        return g.conv(
            path + ("shortcut",),
            source,
            out_channels,
            1,
            strides=block.strides,
            activation="linear",
            batch_norm=batch_norm,
        )
    if max(strides) > 1:
        # 'same' with a 1x1 window pads nothing: it only subsamples, dropping no border.
        return g.add(path + ("shortcut",), L.MaxPool(pool_size=1, strides=block.strides, padding="same"), [x])
    return x


def drop_path(g: GraphBuilder, path: Location, block: Any, branch: str) -> str:
    """Stochastic depth on a residual branch, right before its add (``<path>_drop``)."""
    if not block.drop_path:
        return branch
    return g.add(path + ("drop",), L.StochasticDepth(rate=block.drop_path), [branch])


def _zero_pad_shortcut(g: GraphBuilder, path: Location, block: Any, x: str, out_channels: int) -> str:
    """Option A of He et al. (2015): subsample (a 1x1 max pool with the block's stride) and append as many
    zero channels (a 0x rescaling of the subsampled input, concatenated), as fb.resnet.torch does."""
    in_channels = g.channels(x)
    if out_channels not in (in_channels, 2 * in_channels):
        raise g.error(
            path + ("shortcut",),
            (
                f"a zero_pad shortcut appends as many zero channels as the input has: it gives {in_channels} or "
                f"{2 * in_channels} channels, and the block outputs {out_channels}; use shortcut: projection"
            ),
        )
    if max(pair(block.strides)) > 1:
        x = g.add(path + ("shortcut",), L.MaxPool(pool_size=1, strides=block.strides, padding="same"), [x])
    if out_channels == in_channels:
        return x
    zeros = g.add(path + ("shortcut", "zeros"), L.Rescaling(scale=0.0), [x])
    return merge(g, path + ("shortcut", "pad"), L.Concatenate, [x, zeros])


def _residual_output(g: GraphBuilder, path: Location, block: Any, shortcut: str, branch: str, activation: str) -> str:
    if block.se_ratio is not None:
        reduced = max(1, int(g.channels(branch) * block.se_ratio))
        branch = squeeze_excite(g, path + ("se",), branch, reduced, activation)
    branch = drop_path(g, path, block, branch)
    out = merge(g, path + ("add",), L.Add, [shortcut, branch])
    return out if block.preact else g.activation(path, activation, out)


@lowering("residual")
def lower_residual(g: GraphBuilder, path: Location, block: B.Residual, x: str) -> str:
    """Lower a ``residual`` block: two convs (dropout between) plus a shortcut, added.

    ``preact`` puts BN and activation before the convs (ResNet v2) and none after the add; ``se_ratio``
    squeeze-excites the branch and ``drop_path`` applies stochastic depth to it before the add.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input,
            or the ``shortcut`` (identity, zero_pad) cannot give the block's output channels.
    """
    activation, batch_norm = _activation(g, block), _batch_norm(g, block)
    source = preactivate(g, path, x, activation, batch_norm) if block.preact else x
    shortcut = _shortcut(g, path, block, x, source, block.filters, batch_norm and not block.preact)
    h = g.conv(
        path + ("conv1",),
        source,
        block.filters,
        block.kernel_size,
        strides=block.strides,
        activation=activation,
        batch_norm=batch_norm,
    )
    if block.dropout:
        h = g.add(path + ("dropout",), L.Dropout(rate=block.dropout), [h])
    h = g.conv(
        path + ("conv2",),
        h,
        block.filters,
        block.kernel_size,
        activation="linear",
        batch_norm=batch_norm and not block.preact,
    )
    return _residual_output(g, path, block, shortcut, h, activation)


@lowering("bottleneck")
def lower_bottleneck(g: GraphBuilder, path: Location, block: B.Bottleneck, x: str) -> str:
    """Lower a ``bottleneck`` block: 1x1 reduce, 3x3 (grouped) and 1x1 expand convs plus a shortcut.

    The stride goes on the first 1x1 or on the 3x3 conv per ``stride_on``; ``preact``, ``se_ratio`` and
    ``drop_path`` act as in :func:`lower_residual`.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input,
            or the ``shortcut`` (identity, zero_pad) cannot give the block's output channels.
    """
    activation, batch_norm = _activation(g, block), _batch_norm(g, block)
    source = preactivate(g, path, x, activation, batch_norm) if block.preact else x
    shortcut = _shortcut(g, path, block, x, source, block.out_filters, batch_norm and not block.preact)
    stride_1x1 = block.strides if block.stride_on == "1x1" else 1
    stride_3x3 = block.strides if block.stride_on == "3x3" else 1
    h = g.conv(
        path + ("conv1",),
        source,
        block.inner_filters,
        1,
        strides=stride_1x1,
        activation=activation,
        batch_norm=batch_norm,
    )
    h = g.conv(
        path + ("conv2",),
        h,
        block.inner_filters,
        3,
        strides=stride_3x3,
        padding=block.padding,
        groups=block.groups,
        activation=activation,
        batch_norm=batch_norm,
    )
    h = g.conv(
        path + ("conv3",), h, block.out_filters, 1, activation="linear", batch_norm=batch_norm and not block.preact
    )
    return _residual_output(g, path, block, shortcut, h, activation)


@lowering("depthwise")
def lower_depthwise(g: GraphBuilder, path: Location, block: B.Depthwise, x: str) -> str:
    """Lower a ``depthwise`` block: a depthwise conv, then a 1x1 pointwise conv to ``filters``.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input.
    """
    activation, batch_norm = _activation(g, block), _batch_norm(g, block)
    h = g.depthwise(
        path + ("depthwise",),
        x,
        block.kernel_size,
        strides=block.strides,
        padding=block.padding,
        depth_multiplier=block.depth_multiplier,
        activation=activation,
        batch_norm=batch_norm,
    )
    return g.conv(path + ("pointwise",), h, block.filters, 1, activation=activation, batch_norm=batch_norm)


@lowering("inverted_residual")
def lower_inverted_residual(g: GraphBuilder, path: Location, block: B.InvertedResidual, x: str) -> str:
    """Lower an ``inverted_residual`` block (MobileNetV2): 1x1 expand, depthwise, optional SE, 1x1 project.

    The expansion conv is left out when ``expansion`` is 1; the input is added back (after
    ``drop_path``) when the stride is 1 and the channels are unchanged.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input, or the expanded width is over the integer limit.
    """
    activation, batch_norm = _activation(g, block), _batch_norm(g, block)
    in_channels = g.channels(x)
    if in_channels * block.expansion > MAX_INT:
        raise g.error(
            path + ("expansion",),
            (
                f"the expanded width input channels x expansion = {in_channels} x {block.expansion} = "
                f"{in_channels * block.expansion:,} is over the limit of {MAX_INT:,}. Use expansion <= "
                f"{MAX_INT // in_channels} here (the block's input has {in_channels} channels)"
            ),
        )
    h = x
    if block.expansion != 1:
        h = g.conv(
            path + ("expand",), h, in_channels * block.expansion, 1, activation=activation, batch_norm=batch_norm
        )
    h = g.depthwise(
        path + ("depthwise",),
        h,
        block.kernel_size,
        strides=block.strides,
        padding=block.padding,
        activation=activation,
        batch_norm=batch_norm,
    )
    if block.se_ratio is not None:
        h = squeeze_excite(g, path + ("se",), h, max(1, int(in_channels * block.se_ratio)), activation)
    h = g.conv(path + ("project",), h, block.filters, 1, activation="linear", batch_norm=batch_norm)
    if max(pair(block.strides)) == 1 and in_channels == block.filters:
        h = drop_path(g, path, block, h)
        h = merge(g, path + ("add",), L.Add, [h, x])
    return h


@lowering("squeeze_excite")
def lower_squeeze_excite(g: GraphBuilder, path: Location, block: B.SqueezeExcite, x: str) -> str:
    """Lower a ``squeeze_excite`` block, reducing to ``ratio`` times the input channels (at least 1).

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input.
    """
    reduced = max(1, int(g.channels(x) * block.ratio))
    return squeeze_excite(g, path, x, reduced, _activation(g, block))


@lowering("inception")
def lower_inception(g: GraphBuilder, path: Location, block: B.Inception, x: str) -> str:
    """Lower an ``inception`` module: 1x1, 3x3, 5x5 and pooling branches, concatenated.

    The reduced module puts 1x1 convs before the 3x3 and 5x5 convs and after the pool; the ``naive``
    one has none.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input.
    """
    activation, batch_norm = _activation(g, block), _batch_norm(g, block)

    def conv(name: str, source: str, filters: int, kernel: int) -> str:
        return g.conv(path + (name,), source, filters, kernel, activation=activation, batch_norm=batch_norm)

    pool = L.MaxPool(pool_size=3, strides=1, padding="same")
    branch_1x1 = conv("branch1x1", x, block.filters_1x1, 1)
    if block.naive:
        branch_3x3 = conv("branch3x3", x, block.filters_3x3, 3)
        branch_5x5 = conv("branch5x5", x, block.filters_5x5, 5)
        branch_pool = g.add(path + ("branch_pool",), pool, [x])
    else:
        # The reduced module has all three (validated).
        assert block.reduce_3x3 is not None and block.reduce_5x5 is not None and block.pool_proj is not None
        branch_3x3 = conv("branch3x3", conv("branch3x3_reduce", x, block.reduce_3x3, 1), block.filters_3x3, 3)
        branch_5x5 = conv("branch5x5", conv("branch5x5_reduce", x, block.reduce_5x5, 1), block.filters_5x5, 5)
        branch_pool = conv("branch_pool_proj", g.add(path + ("branch_pool",), pool, [x]), block.pool_proj, 1)
    return merge(g, path + ("concat",), L.Concatenate, [branch_1x1, branch_3x3, branch_5x5, branch_pool])


@lowering("dense_block")
def lower_dense_block(g: GraphBuilder, path: Location, block: B.DenseBlock, x: str) -> str:
    """Lower a ``dense_block`` (DenseNet): ``num_layers`` pre-activated convs, each concatenated to its input.

    Each layer adds ``growth_rate`` channels, through a 1x1 conv of ``bottleneck_width * growth_rate``
    filters first when ``bottleneck_width`` is set.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input.
    """
    activation, batch_norm = _activation(g, block), _batch_norm(g, block)
    for index in range(block.num_layers):
        layer_path = path + ("layers", index)
        h = preactivate(g, layer_path, x, activation, batch_norm)
        if block.bottleneck_width is not None:
            h = g.conv(
                layer_path + ("conv1",),
                h,
                block.bottleneck_width * block.growth_rate,
                1,
                activation=activation,
                batch_norm=batch_norm,
            )
        h = g.conv(layer_path + ("conv2",), h, block.growth_rate, 3, activation="linear", batch_norm=False)
        x = merge(g, layer_path + ("concat",), L.Concatenate, [x, h])
    return x


@lowering("transition")
def lower_transition(g: GraphBuilder, path: Location, block: B.Transition, x: str) -> str:
    """Lower a DenseNet ``transition``: BN, activation, 1x1 conv to ``reduction`` x channels, 2x2 average pool.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input.
    """
    h = preactivate(g, path, x, _activation(g, block), _batch_norm(g, block))
    h = g.conv(
        path + ("conv",), h, max(1, int(g.channels(x) * block.reduction)), 1, activation="linear", batch_norm=False
    )
    return g.add(path + ("pool",), L.AvgPool(pool_size=2, strides=2), [h])


@lowering("fire")
def lower_fire(g: GraphBuilder, path: Location, block: B.Fire, x: str) -> str:
    """Lower a ``fire`` module (SqueezeNet): a 1x1 squeeze conv, then 1x1 and 3x3 expand convs, concatenated.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input.
    """
    activation, batch_norm = _activation(g, block), _batch_norm(g, block)
    squeezed = g.conv(path + ("squeeze",), x, block.squeeze, 1, activation=activation, batch_norm=batch_norm)
    expand_1x1 = g.conv(
        path + ("expand1x1",), squeezed, block.expand_1x1, 1, activation=activation, batch_norm=batch_norm
    )
    expand_3x3 = g.conv(
        path + ("expand3x3",), squeezed, block.expand_3x3, 3, activation=activation, batch_norm=batch_norm
    )
    return merge(g, path + ("concat",), L.Concatenate, [expand_1x1, expand_3x3])


@lowering("mlpconv")
def lower_mlpconv(g: GraphBuilder, path: Location, block: B.MlpConv, x: str) -> str:
    """Lower an ``mlpconv`` block (Network in Network): one conv with the block's kernel, then 1x1 convs.

    ``filters`` lists each conv's width; only the first takes the kernel size, strides and padding.

    Args:
        g: The graph being built; its ``defaults`` fill the block's unset activation and batch norm.
        path: The block's blueprint path; its layers are named after it.
        block: The validated block.
        x: The name of the node the block reads.

    Returns:
        The name of the block's output node.

    Raises:
        BlueprintError: A layer does not fit its input.
    """
    activation, batch_norm = _activation(g, block), _batch_norm(g, block)
    for index, filters in enumerate(block.filters):
        first = index == 0
        x = g.conv(
            path + ("conv", index),
            x,
            filters,
            block.kernel_size if first else 1,
            strides=block.strides if first else 1,
            padding=block.padding if first else "same",
            activation=activation,
            batch_norm=batch_norm,
        )
    return x

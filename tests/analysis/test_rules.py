"""One rule per primitive layer kind: output shape, params as Keras counts them, MACs; Keras output-size
rules and the errors and warnings of impossible or inexact geometry.

Every expected number is worked out by hand in the tables (formula in the comment next to it):
conv params = k_h*k_w*(C_in/groups)*filters (+filters bias); conv MACs = H_out*W_out*filters*k_h*k_w*C_in/groups;
valid: out = floor((in - d(k-1) - 1)/s) + 1; same: out = ceil(in/s).
The default ``defaults`` apply: relu fused into conv/dense (no separate layer), no batch norm, use_bias true.
"""

from __future__ import annotations

import textwrap

import pytest

import archbuilder.analysis.blocks  # noqa: F401  (registers the block lowerings)
from archbuilder import BlueprintError, analyze
from archbuilder.analysis import LOWERINGS, RULES
from archbuilder.analysis.rules import output_length
from archbuilder.blueprint.fields import ACTIVATIONS
from archbuilder.blueprint.kinds import BLOCK_KINDS, LAYER_KINDS


def param(id_: str, *values):
    return pytest.param(*values, id=id_)


# -- registries ---------------------------------------------------------------------------------


def test_rules_cover_every_layer_kind():
    assert set(RULES) == set(LAYER_KINDS)


def test_lowerings_cover_every_block_kind():
    assert set(LOWERINGS) == set(BLOCK_KINDS)


# -- one table per kind ---------------------------------------------------------------------------

CONV_CASES = [
    # in 8x8x16, 3x3 same s1, 32 filters: out ceil(8/1)=8; params 3*3*16*32+32 = 4,640; MACs 8*8*32*(3*3*16) = 294,912
    param("3x3-same", (8, 8, 16), {"filters": 32, "kernel_size": 3, "padding": "same"}, (8, 8, 32), 4_640, 294_912),
    # valid: (8-3)//1+1 = 6; MACs 6*6*32*144 = 165,888
    param("3x3-valid", (8, 8, 16), {"filters": 32, "kernel_size": 3}, (6, 6, 32), 4_640, 165_888),
    # valid s2 on 9: (9-3)//2+1 = 4 (exact fit); MACs 4*4*32*144 = 73,728
    param("3x3-valid-s2", (9, 9, 16), {"filters": 32, "strides": 2}, (4, 4, 32), 4_640, 73_728),
    # same s2 on 9: ceil(9/2) = 5; MACs 5*5*32*144 = 115,200
    param("3x3-same-s2-odd", (9, 9, 16), {"filters": 32, "strides": 2, "padding": "same"}, (5, 5, 32), 4_640, 115_200),
    # same s2 on 8: ceil(8/2) = 4; MACs 4*4*32*144 = 73,728
    param("3x3-same-s2-even", (8, 8, 16), {"filters": 32, "strides": 2, "padding": "same"}, (4, 4, 32), 4_640, 73_728),
    # groups 4: 3*3*(16/4)*32+32 = 1,152+32 = 1,184; MACs 8*8*32*(3*3*4) = 73,728
    param("groups-4", (8, 8, 16), {"filters": 32, "groups": 4, "padding": "same"}, (8, 8, 32), 1_184, 73_728),
    # groups = channels (depthwise as conv): 3*3*1*16+16 = 160; MACs 8*8*16*9 = 9,216
    param("groups-16", (8, 8, 16), {"filters": 16, "groups": 16, "padding": "same"}, (8, 8, 16), 160, 9_216),
    # dilation 2, valid: (8 - 2*(3-1) - 1)//1 + 1 = 4; MACs 4*4*32*144 = 73,728 (dilation adds no MACs)
    param("dilation-2-valid", (8, 8, 16), {"filters": 32, "dilation_rate": 2}, (4, 4, 32), 4_640, 73_728),
    # dilation 2, same: ceil(8/1) = 8; MACs 8*8*32*144 = 294,912
    param(
        "dilation-2-same",
        (8, 8, 16),
        {"filters": 32, "dilation_rate": 2, "padding": "same"},
        (8, 8, 32),
        4_640,
        294_912,
    ),
    # 1x7: 1*7*16*32+32 = 3,616; MACs 8*8*32*(1*7*16) = 229,376
    param(
        "kernel-1x7", (8, 8, 16), {"filters": 32, "kernel_size": [1, 7], "padding": "same"}, (8, 8, 32), 3_616, 229_376
    ),
    # 3x5 kernel, strides (1, 2), valid on 8x9: h (8-3)//1+1 = 6, w (9-5)//2+1 = 3; params 3*5*16*32+32 = 7,712;
    # MACs 6*3*32*(3*5*16) = 138,240
    param(
        "asymmetric", (8, 9, 16), {"filters": 32, "kernel_size": [3, 5], "strides": [1, 2]}, (6, 3, 32), 7_712, 138_240
    ),
    # 1x1 s2 same: 4x4; params 16*32+32 = 544; MACs 4*4*32*16 = 8,192
    param(
        "1x1-s2", (8, 8, 16), {"filters": 32, "kernel_size": 1, "strides": 2, "padding": "same"}, (4, 4, 32), 544, 8_192
    ),
    # no bias: 3*3*16*32 = 4,608
    param("no-bias", (8, 8, 16), {"filters": 32, "padding": "same", "use_bias": False}, (8, 8, 32), 4_608, 294_912),
]


@pytest.mark.parametrize(("shape", "spec", "out", "params", "macs"), CONV_CASES)
def test_conv(net, shape, spec, out, params, macs):
    layer = net(shape=shape, stem=[{"type": "conv", **spec}])["stem_0"]
    assert (layer.type, layer.output_shape, layer.trainable_params, layer.non_trainable_params, layer.macs) == (
        "conv",
        out,
        params,
        0,
        macs,
    )


@pytest.mark.parametrize(
    ("padding", "padded", "out"),
    [
        # int 1: 8+1+1 = 10 both ways; conv 3x3 valid: 10-3+1 = 8
        param("int", 1, (10, 10, 16), (8, 8, 32)),
        # [rows, cols] = [1, 2]: 8+2 = 10 rows, 8+4 = 12 cols; conv: 8 x 10
        param("pair", [1, 2], (10, 12, 16), (8, 10, 32)),
        # 0: no padding at all, but still lowered: 8x8 -> 6x6
        param("zero", 0, (8, 8, 16), (6, 6, 32)),
    ],
)
def test_conv_explicit_padding_is_zero_padding_then_valid(net, padding, padded, out):
    n = net(stem=[{"type": "conv", "filters": 32, "padding": padding}])
    assert n.names == ["input", "stem_0_pad", "stem_0"]
    pad, conv = n["stem_0_pad"], n["stem_0"]
    assert (pad.type, pad.path, pad.output_shape, pad.params) == ("zero_padding", "stem[0].pad", padded, 0)
    assert (conv.type, conv.inputs, conv.output_shape) == ("conv", ("stem_0_pad",), out)
    # params do not depend on padding: 3*3*16*32+32 = 4,640; MACs = H_out*W_out*32*144
    assert conv.trainable_params == 4_640
    assert conv.macs == out[0] * out[1] * 32 * 144
    assert n.warnings == []


@pytest.mark.parametrize(
    ("options", "names"),
    [
        # relu (fusable) and no batch norm: one Keras layer
        param("fused", {}, ["input", "stem_0"]),
        param("linear", {"activation": "linear"}, ["input", "stem_0"]),
        # leaky_relu is not a Conv2D activation string: its own layer named <path>_<activation>
        param("leaky-relu", {"activation": "leaky_relu"}, ["input", "stem_0", "stem_0_leaky_relu"]),
        param("elu-with-bn", {"activation": "elu", "batch_norm": True}, ["input", "stem_0", "stem_0_bn", "stem_0_elu"]),
        # batch norm goes between the conv and its activation
        param("bn-relu", {"batch_norm": True}, ["input", "stem_0", "stem_0_bn", "stem_0_relu"]),
    ],
)
def test_conv_unit_layers(net, options, names):
    n = net(stem=[{"type": "conv", "filters": 4, "padding": "same", **options}])
    assert n.names == names


@pytest.mark.parametrize(
    ("use_bias", "batch_norm", "conv_params"),
    [
        # 3*3*16*4 = 576 weights, +4 bias
        param("true-bn", True, True, 580),
        param("false-bn", False, True, 576),
        # auto: bias only when no batch norm follows
        param("auto-bn", "auto", True, 576),
        param("auto-no-bn", "auto", False, 580),
    ],
)
def test_conv_use_bias(net, use_bias, batch_norm, conv_params):
    n = net(stem=[{"type": "conv", "filters": 4, "padding": "same", "use_bias": use_bias, "batch_norm": batch_norm}])
    assert n["stem_0"].trainable_params == conv_params


DEPTHWISE_CASES = [
    # 3x3 same dm 1: params 3*3*16 + 16 = 160; MACs 8*8*16*9 = 9,216
    param("dm1", (8, 8, 16), {"padding": "same"}, (8, 8, 16), 160, 9_216),
    # dm 2: 32 output channels: 3*3*32 + 32 = 320; MACs 8*8*32*9 = 18,432
    param("dm2", (8, 8, 16), {"padding": "same", "depth_multiplier": 2}, (8, 8, 32), 320, 18_432),
    # valid s2 on 9: (9-3)//2+1 = 4; MACs 4*4*16*9 = 2,304
    param("valid-s2", (9, 9, 16), {"strides": 2}, (4, 4, 16), 160, 2_304),
    # 5x5 no bias: 5*5*16 = 400; MACs 8*8*16*25 = 25,600
    param("5x5-no-bias", (8, 8, 16), {"kernel_size": 5, "padding": "same", "use_bias": False}, (8, 8, 16), 400, 25_600),
]


@pytest.mark.parametrize(("shape", "spec", "out", "params", "macs"), DEPTHWISE_CASES)
def test_depthwise_conv(net, shape, spec, out, params, macs):
    layer = net(shape=shape, stem=[{"type": "depthwise_conv", **spec}])["stem_0"]
    assert (layer.type, layer.output_shape, layer.trainable_params, layer.macs) == ("depthwise_conv", out, params, macs)


SEPARABLE_CASES = [
    # depthwise 3*3*16 + pointwise 16*32 + bias 32 = 144+512+32 = 688; MACs 8*8*(16*9 + 16*32) = 64*656 = 41,984
    param("dm1", (8, 8, 16), {"filters": 32, "padding": "same"}, (8, 8, 32), 688, 41_984),
    # dm 2 (32 middle): 3*3*32 + 32*32 + 32 = 288+1,024+32 = 1,344; MACs 64*(32*9 + 32*32) = 83,968
    param("dm2", (8, 8, 16), {"filters": 32, "padding": "same", "depth_multiplier": 2}, (8, 8, 32), 1_344, 83_968),
    # the seed's example: 12x12x3, 5x5 valid -> 8x8, 256 filters: 5*5*3 + 3*256 + 256 = 75+768+256 = 1,099;
    # MACs 8*8*(3*25) + 8*8*(3*256) = 4,800 + 49,152 = 53,952
    param("seed-example", (12, 12, 3), {"filters": 256, "kernel_size": 5}, (8, 8, 256), 1_099, 53_952),
]


@pytest.mark.parametrize(("shape", "spec", "out", "params", "macs"), SEPARABLE_CASES)
def test_separable_conv(net, shape, spec, out, params, macs):
    layer = net(shape=shape, stem=[{"type": "separable_conv", **spec}])["stem_0"]
    assert (layer.type, layer.output_shape, layer.trainable_params, layer.macs) == ("separable_conv", out, params, macs)


@pytest.mark.parametrize(
    ("shape", "stem", "out", "params", "macs"),
    [
        # flatten 4x4x8 = 128 -> dense 10: 128*10+10 = 1,290; MACs 128*10 = 1,280
        param("vector", (4, 4, 8), [{"type": "flatten"}, {"type": "dense", "units": 10}], (10,), 1_290, 1_280),
        param(
            "vector-no-bias",
            (4, 4, 8),
            [{"type": "flatten"}, {"type": "dense", "units": 10, "use_bias": False}],
            (10,),
            1_280,
            1_280,
        ),
        # on a feature map Dense acts on the last axis: 8x8x16 -> 8x8x10; 16*10+10 = 170; MACs 8*8*16*10 = 10,240
        param("feature-map", (8, 8, 16), [{"type": "dense", "units": 10}], (8, 8, 10), 170, 10_240),
        # after global pooling (16,) -> 4: 16*4+4 = 68; MACs 64
        param("after-gap", (8, 8, 16), [{"type": "global_avg_pool"}, {"type": "dense", "units": 4}], (4,), 68, 64),
    ],
)
def test_dense(net, shape, stem, out, params, macs):
    layer = net(shape=shape, stem=stem).last
    assert (layer.type, layer.output_shape, layer.trainable_params, layer.macs) == ("dense", out, params, macs)


POOL_CASES = [
    # default strides = pool_size: (8-2)//2+1 = 4
    param("max-2-default-strides", "max_pool", (8, 8, 16), {"pool_size": 2}, (4, 4, 16)),
    # (9-3)//3+1 = 3
    param("avg-3-default-strides", "avg_pool", (9, 9, 16), {"pool_size": 3}, (3, 3, 16)),
    # overlapping (AlexNet): (9-3)//2+1 = 4
    param("max-3-s2-valid", "max_pool", (9, 9, 16), {"pool_size": 3, "strides": 2}, (4, 4, 16)),
    # same: ceil(8/2) = 4
    param("max-3-s2-same", "max_pool", (8, 8, 16), {"pool_size": 3, "strides": 2, "padding": "same"}, (4, 4, 16)),
    # stride 1 same (inception's pool branch): 8
    param("max-3-s1-same", "max_pool", (8, 8, 16), {"pool_size": 3, "strides": 1, "padding": "same"}, (8, 8, 16)),
    # 2x3 window, default strides (2, 3): (8-2)//2+1 = 4, (9-3)//3+1 = 3
    param("avg-2x3", "avg_pool", (8, 9, 16), {"pool_size": [2, 3]}, (4, 3, 16)),
    # stride larger than the window: (9-1)//2+1 = 5
    param("max-1-s2", "max_pool", (9, 9, 16), {"pool_size": 1, "strides": 2}, (5, 5, 16)),
]


@pytest.mark.parametrize(("kind", "shape", "spec", "out"), POOL_CASES)
def test_pool(net, kind, shape, spec, out):
    n = net(shape=shape, stem=[{"type": kind, **spec}])
    layer = n["stem_0"]
    assert (layer.type, layer.output_shape, layer.params, layer.macs) == (kind, out, 0, 0)
    assert n.warnings == []


def test_pool_explicit_padding(net):
    # max_pool 3x3 s2 padding 1 on 9x9: zero_padding to 11x11, then (11-3)//2+1 = 5
    n = net(shape=(9, 9, 16), stem=[{"type": "max_pool", "pool_size": 3, "strides": 2, "padding": 1}])
    assert n.names == ["input", "stem_0_pad", "stem_0"]
    assert n["stem_0_pad"].output_shape == (11, 11, 16)
    assert (n["stem_0"].inputs, n["stem_0"].output_shape) == (("stem_0_pad",), (5, 5, 16))


@pytest.mark.parametrize(
    ("kind", "keepdims", "out"),
    [
        param("avg", "global_avg_pool", False, (16,)),
        param("avg-keepdims", "global_avg_pool", True, (1, 1, 16)),
        param("max", "global_max_pool", False, (16,)),
        param("max-keepdims", "global_max_pool", True, (1, 1, 16)),
    ],
)
def test_global_pool(net, kind, keepdims, out):
    layer = net(stem=[{"type": kind, "keepdims": keepdims}])["stem_0"]
    assert (layer.type, layer.output_shape, layer.params, layer.macs) == (kind, out, 0, 0)


@pytest.mark.parametrize("kind", ACTIVATIONS)
def test_activation_layers_keep_the_shape(net, kind):
    layer = net(shape=(5, 7, 3), stem=[{"type": kind}])["stem_0"]
    assert (layer.type, layer.output_shape, layer.params, layer.macs) == (kind, (5, 7, 3), 0, 0)


@pytest.mark.parametrize(
    "spec",
    [
        param("leaky-relu-slope", {"type": "leaky_relu", "negative_slope": 0.1}),
        param("elu-alpha", {"type": "elu", "alpha": 0.5}),
        param("softmax-on-vector", {"type": "softmax"}),
    ],
)
def test_parametrized_activations(net, spec):
    n = net(shape=(4, 4, 2), stem=[{"type": "flatten"}, spec])
    assert (n.last.output_shape, n.last.params) == ((32,), 0)


@pytest.mark.parametrize(
    ("shape", "spec", "trainable", "non_trainable"),
    [
        # gamma, beta trainable; moving mean, variance not: 2*16 + 2*16
        param("default", (8, 8, 16), {}, 32, 32),
        param("no-center", (8, 8, 16), {"center": False}, 16, 32),
        param("no-scale", (8, 8, 16), {"scale": False}, 16, 32),
        param("neither", (8, 8, 16), {"center": False, "scale": False}, 0, 32),
        # on a vector: the last axis (1x1x5 flattened = 5): 2*5 + 2*5
        param("vector", (1, 1, 5), {}, 10, 10),
    ],
)
def test_batch_norm(net, shape, spec, trainable, non_trainable):
    stem = [{"type": "flatten"}] if shape[:2] == (1, 1) else []
    layer = net(shape=shape, stem=stem + [{"type": "batch_norm", **spec}]).last
    assert (layer.type, layer.output_shape[-1], layer.trainable_params, layer.non_trainable_params, layer.macs) == (
        "batch_norm",
        shape[-1],
        trainable,
        non_trainable,
        0,
    )


@pytest.mark.parametrize(
    ("spec", "trainable", "non_trainable"),
    [
        # LayerNormalization(axis=-1): gamma and beta over the last axis: 2*16
        param("layer-norm", {"type": "layer_norm"}, 32, 0),
        param("dropout", {"type": "dropout", "rate": 0.5}, 0, 0),
        param("spatial-dropout", {"type": "spatial_dropout", "rate": 0.2}, 0, 0),
        param("lrn", {"type": "lrn", "size": 5}, 0, 0),
        param("rescaling", {"type": "rescaling", "scale": 0.00392156862745098}, 0, 0),
        # Normalization keeps mean and variance per channel plus a count, all non-trainable: 2*16 + 1 = 33
        param("normalization-scalar", {"type": "normalization", "mean": 0.5, "variance": 0.25}, 0, 33),
    ],
)
def test_shape_preserving_layers(net, spec, trainable, non_trainable):
    layer = net(stem=[spec])["stem_0"]
    assert (layer.type, layer.output_shape, layer.trainable_params, layer.non_trainable_params, layer.macs) == (
        spec["type"],
        (8, 8, 16),
        trainable,
        non_trainable,
        0,
    )


def test_normalization_per_channel(net):
    # EfficientNet's Normalization on RGB: 3 means + 3 variances + 1 count = 7 (figures.md B1)
    spec = {"type": "normalization", "mean": [0.485, 0.456, 0.406], "variance": [0.052, 0.050, 0.051]}
    layer = net(shape=(4, 4, 3), stem=[spec])["stem_0"]
    assert (layer.trainable_params, layer.non_trainable_params) == (0, 7)


def test_normalization_wrong_number_of_values(net):
    spec = {"type": "normalization", "mean": [0.5, 0.5], "variance": 1.0}
    with pytest.raises(BlueprintError) as caught:
        net(shape=(4, 4, 3), stem=[spec])
    assert str(caught.value) == "stem[0]: mean has 2 values but the input has 3 channels"


@pytest.mark.parametrize(
    ("shape", "out"),
    [
        param("map", (8, 8, 16), (1024,)),  # 8*8*16
        param("keepdims-map", (1, 1, 7), (7,)),
    ],
)
def test_flatten(net, shape, out):
    layer = net(shape=shape, stem=[{"type": "flatten"}])["stem_0"]
    assert (layer.output_shape, layer.params) == (out, 0)


@pytest.mark.parametrize(
    ("padding", "out"),
    [
        param("int", 2, (12, 12, 16)),  # 8+2+2 both ways
        param("rows-cols", [1, 3], (10, 14, 16)),  # rows 8+1+1, cols 8+3+3
        param("top-bottom-left-right", [[0, 1], [2, 3]], (9, 13, 16)),  # 8+0+1, 8+2+3
        param("zero", 0, (8, 8, 16)),
    ],
)
def test_zero_padding(net, padding, out):
    layer = net(stem=[{"type": "zero_padding", "padding": padding}])["stem_0"]
    assert (layer.type, layer.output_shape, layer.params) == ("zero_padding", out, 0)


@pytest.mark.parametrize(
    "spec",
    [
        param("spatial-dropout", {"type": "spatial_dropout", "rate": 0.1}),
        param("conv", {"type": "conv", "filters": 4}),
        param("max-pool", {"type": "max_pool"}),
        param("global-pool", {"type": "global_avg_pool"}),
        param("zero-padding", {"type": "zero_padding"}),
    ],
)
def test_feature_map_layers_reject_vectors(net, spec):
    with pytest.raises(BlueprintError) as caught:
        net(shape=(2, 2, 4), stem=[{"type": "flatten"}, spec])
    assert str(caught.value) == (
        f"stem[1]: '{spec['type']}' needs a feature map [height, width, channels]. Received: shape [16]; "
        "move it before the flatten/global pooling/dense layers"
    )


# -- merges ---------------------------------------------------------------------------------------

MERGE_CASES = [
    # same shapes
    param(
        "add",
        "add",
        [{"type": "relu", "id": "a"}, {"type": "conv", "filters": 16, "padding": "same", "id": "b"}],
        (8, 8, 16),
    ),
    param("multiply", "multiply", [{"type": "relu", "id": "a"}, {"type": "sigmoid", "id": "b"}], (8, 8, 16)),
    # broadcasting HxWxC * 1x1xC (squeeze-excite) -> HxWxC
    param(
        "multiply-broadcast",
        "multiply",
        [{"type": "relu", "id": "a"}, {"type": "global_avg_pool", "keepdims": True, "id": "b"}],
        (8, 8, 16),
    ),
    # and 1x1xC + HxWxC the other way round
    param(
        "add-broadcast",
        "add",
        [
            {"type": "relu", "id": "x"},
            {"type": "global_max_pool", "keepdims": True, "id": "a"},
            {"type": "relu", "id": "b", "inputs": ["x"]},
        ],
        (8, 8, 16),
    ),
    # HxWxC * a C-vector: Keras aligns the shapes on their last axis (NumPy broadcasting) -> HxWxC
    param(
        "multiply-vector", "multiply", [{"type": "relu", "id": "a"}, {"type": "global_avg_pool", "id": "b"}], (8, 8, 16)
    ),
    # the vector first: the same
    param(
        "add-vector-first",
        "add",
        [
            {"type": "relu", "id": "x"},
            {"type": "global_avg_pool", "id": "a"},
            {"type": "relu", "id": "b", "inputs": ["x"]},
        ],
        (8, 8, 16),
    ),
    # 8x16 (a reshape) * 8x8x16: the missing leading axis repeats -> 8x8x16
    param(
        "multiply-rank-2",
        "multiply",
        [
            {"type": "relu", "id": "x"},
            {"type": "global_avg_pool", "keepdims": True},
            {"type": "reshape", "target_shape": [1, 16], "id": "a"},
            {"type": "relu", "id": "b", "inputs": ["x"]},
        ],
        (8, 8, 16),
    ),
    # 1x1x16 * 16: both broadcast -> 1x1x16
    param(
        "multiply-1x1-by-vector",
        "multiply",
        [
            {"type": "global_avg_pool", "keepdims": True, "id": "a"},
            {"type": "global_max_pool", "id": "b", "inputs": ["a"]},
        ],
        (1, 1, 16),
    ),
    # concatenate sums the channels: 16 + 8 = 24
    param(
        "concatenate",
        "concatenate",
        [{"type": "relu", "id": "a"}, {"type": "conv", "filters": 8, "kernel_size": 1, "id": "b"}],
        (8, 8, 24),
    ),
]


@pytest.mark.parametrize(("kind", "layers", "out"), MERGE_CASES)
def test_merge(net, kind, layers, out):
    n = net(stem=[*layers, {"type": kind, "inputs": ["a", "b"]}])
    index = {layer.get("id"): f"stem_{i}" for i, layer in enumerate(layers)}
    layer = n.last
    assert (layer.type, layer.inputs, layer.output_shape, layer.params, layer.macs) == (
        kind,
        (index["a"], index["b"]),
        out,
        0,
        0,
    )


def test_merge_of_three(net):
    stem = [
        {"type": "relu", "id": "a"},
        {"type": "tanh", "id": "b", "inputs": ["a"]},
        {"type": "sigmoid", "id": "c", "inputs": ["a"]},
        {"type": "concatenate", "inputs": ["a", "b", "c"]},
    ]
    assert net(stem=stem).last.output_shape == (8, 8, 48)  # 3*16


MERGE_ERRORS = [
    param(
        "add-channels",
        "add",
        {"type": "conv", "filters": 32, "kernel_size": 1},
        "stem[2]: cannot add shapes 8x8x16 and 8x8x32: they differ on axis 2 (16 vs 32) and Keras broadcasts only "
        "a size of 1. Use a 1x1 conv (projection), a pooling layer or a reshape to match them",
    ),
    param(
        "multiply-spatial",
        "multiply",
        {"type": "max_pool"},
        "stem[2]: cannot multiply shapes 8x8x16 and 4x4x16: they differ on axis 0 (8 vs 4) and Keras broadcasts "
        "only a size of 1. Use a 1x1 conv (projection), a pooling layer or a reshape to match them",
    ),
    # a vector of another width: aligned on the last axis, 16 vs 8
    param(
        "multiply-vector-width",
        "multiply",
        {"type": "dense", "units": 8, "inputs": ["g"]},
        "stem[3]: cannot multiply shapes 8x8x16 and 8: aligned on their last axis (as Keras aligns them), they "
        "differ on axis 2 (16 vs 8) and Keras broadcasts only a size of 1. Use a 1x1 conv (projection), a "
        "pooling layer or a reshape to match them",
    ),
    # a flattened map against the map: 1024 vs 16 on the last axis
    param(
        "add-flattened",
        "add",
        {"type": "flatten"},
        "stem[2]: cannot add shapes 8x8x16 and 1024: aligned on their last axis (as Keras aligns them), they "
        "differ on axis 2 (16 vs 1024) and Keras broadcasts only a size of 1. Use a 1x1 conv (projection), a "
        "pooling layer or a reshape to match them",
    ),
    param(
        "concatenate-spatial",
        "concatenate",
        {"type": "max_pool"},
        "stem[2]: cannot concatenate shapes 8x8x16, 4x4x16: all axes but the channels must match",
    ),
    param(
        "concatenate-ranks",
        "concatenate",
        {"type": "flatten"},
        "stem[2]: cannot concatenate shapes 8x8x16, 1024: all axes but the channels must match",
    ),
]


@pytest.mark.parametrize(("kind", "other", "message"), MERGE_ERRORS)
def test_merge_errors_name_the_path(net, kind, other, message):
    vector = [{"type": "global_avg_pool", "id": "g"}] if other.get("inputs") == ["g"] else []
    stem = [{"type": "relu", "id": "a"}, *vector, {**other, "id": "b"}, {"type": kind, "inputs": ["a", "b"]}]
    with pytest.raises(BlueprintError) as caught:
        net(stem=stem)
    assert str(caught.value) == message
    assert [p.path for p in caught.value.problems] == [f"stem[{len(stem) - 1}]"]


def test_merge_of_three_broadcasts_pairwise(net):
    # 8x8x16 * 1x1x16 * 16: Keras folds the shapes left to right -> 8x8x16
    stem = [
        {"type": "relu", "id": "a"},
        {"type": "global_avg_pool", "keepdims": True, "id": "b", "inputs": ["a"]},
        {"type": "global_max_pool", "id": "c", "inputs": ["a"]},
        {"type": "multiply", "inputs": ["b", "c", "a"]},
    ]
    assert net(stem=stem).last.output_shape == (8, 8, 16)


# -- reshape --------------------------------------------------------------------------------------

RESHAPE_CASES = [
    # a 16-vector (global pool) as a 1x1x16 map: 16 = 1*1*16 elements
    param("vector-to-1x1", [{"type": "global_avg_pool"}], [1, 1, 16], (1, 1, 16)),
    # -1 inferred: 16 / (1*1) = 16
    param("inferred-channels", [{"type": "global_avg_pool"}], [1, 1, -1], (1, 1, 16)),
    # 8x8x16 = 1,024 elements -> 64x16
    param("map-to-rows", [], [64, 16], (64, 16)),
    # 1,024 / 32 = 32 inferred first
    param("inferred-first", [], [-1, 32], (32, 32)),
    # 1,024 as one vector (as flatten)
    param("flat", [], [-1], (1024,)),
    # back to a map of another layout: 4*16*16 = 1,024
    param("to-another-map", [], [4, 16, 16], (4, 16, 16)),
]


@pytest.mark.parametrize(("before", "target", "out"), RESHAPE_CASES)
def test_reshape(net, before, target, out):
    layer = net(stem=[*before, {"type": "reshape", "target_shape": target}]).last
    assert (layer.type, layer.output_shape, layer.params, layer.macs) == ("reshape", out, 0, 0)


RESHAPE_ERRORS = [
    param(
        "count",
        [1, 1, 8],
        "stem[1]: cannot reshape 16 (16 elements) to 1x1x8 (8 elements): a reshape keeps every "
        "element. Make target_shape multiply to the input's element count, or use -1 for one size",
    ),
    param(
        "inferred-not-a-divisor",
        [3, -1],
        "stem[1]: cannot reshape 16 (16 elements) to 3x?: 16 is not a multiple "
        "of 3. Make the known sizes of target_shape multiply to a divisor of 16",
    ),
]


@pytest.mark.parametrize(("target", "message"), RESHAPE_ERRORS)
def test_reshape_errors_name_the_path(net, target, message):
    with pytest.raises(BlueprintError) as caught:
        net(stem=[{"type": "global_avg_pool"}, {"type": "reshape", "target_shape": target}])
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("target", "path", "message"),
    [
        param(
            "two-unknown",
            [4, -1, -1],
            "stem[0].target_shape[2]",
            "only one size may be -1 (inferred from the input). Received: target_shape=[4, -1, -1]",
        ),
        param("zero", [4, 0], "stem[0].target_shape[1]", "a size must be >= 1, or -1 (inferred). Received: 0"),
        param("below-minus-one", [-2, 4], "stem[0].target_shape[0]", "must be >= -1. Received: -2"),
        param("rank-4", [1, 2, 4, 128], "stem[0].target_shape", "must have at most 3 items. Received: [1, 2, 4, 128]"),
        param("empty", [], "stem[0].target_shape", "give 1 to 3 sizes (no batch axis), e.g. target_shape: [1, 1, 16]"),
    ],
)
def test_reshape_target_shape_is_validated(net, target, path, message):
    with pytest.raises(BlueprintError) as caught:
        net(stem=[{"type": "reshape", "target_shape": target}])
    assert [(p.path, p.message) for p in caught.value.problems] == [(path, message)]


def test_unknown_input_id_names_the_path(net):
    stem = [{"type": "relu", "id": "a"}, {"type": "relu", "id": "b"}, {"type": "add", "inputs": ["a", "c"]}]
    with pytest.raises(BlueprintError) as caught:
        net(stem=stem)
    assert str(caught.value) == (
        "stem[2].inputs: 'c' is not the id of any layer, block or stage before this point (known ids: a, b)"
    )


def test_input_id_defined_later_is_unknown(net):
    stem = [{"type": "conv", "filters": 4, "inputs": ["later"]}, {"type": "relu", "id": "later"}]
    with pytest.raises(BlueprintError) as caught:
        net(stem=stem)
    assert str(caught.value) == (
        "stem[0].inputs: 'later' is not the id of any layer, block or stage before this point (known ids: none yet)"
    )


def test_merges_from_yaml():
    analysis = analyze(
        textwrap.dedent("""\
        name: merges
        input: {shape: [8, 8, 16]}
        stem:
          - {type: conv, filters: 16, kernel_size: 3, padding: same, id: x}
          - {type: global_avg_pool, keepdims: true}
          - {type: conv, filters: 16, kernel_size: 1, activation: sigmoid, id: gate}
          - {type: multiply, inputs: [x, gate]}
    """)
    )
    assert [(layer.name, layer.output_shape) for layer in analysis.layers] == [
        ("input", (8, 8, 16)),
        ("stem_0", (8, 8, 16)),
        ("stem_1", (1, 1, 16)),
        ("stem_2", (1, 1, 16)),
        ("stem_3", (8, 8, 16)),
    ]
    # 3*3*16*16+16 = 2,320 and 16*16+16 = 272
    assert analysis.params == 2_592


# -- Keras output-size rules ----------------------------------------------------------------------

OUTPUT_LENGTH_CASES = [
    # (size, kernel, stride, dilation, padding) -> (out, lost);
    # valid: (in - d(k-1) - 1)//s + 1, lost (in - d(k-1) - 1) % s
    param("valid-7-3-s1", (7, 3, 1, 1, "valid"), (5, 0)),
    param("valid-7-3-s2", (7, 3, 2, 1, "valid"), (3, 0)),
    param("valid-7-3-s3", (7, 3, 3, 1, "valid"), (2, 1)),  # (7-3)/3+1 = 2.33: "doesn't fit"
    param("valid-10-3-s2", (10, 3, 2, 1, "valid"), (4, 1)),  # (10-3)/2+1 = 4.5
    param("valid-227-11-s4", (227, 11, 4, 1, "valid"), (55, 0)),
    param("valid-224-11-s4", (224, 11, 4, 1, "valid"), (54, 1)),  # 54.25
    param("valid-exact-kernel", (3, 3, 1, 1, "valid"), (1, 0)),
    param("valid-too-small", (2, 3, 1, 1, "valid"), (0, 0)),
    param("valid-1-3-s2", (1, 3, 2, 1, "valid"), (0, 0)),
    param("valid-dilated-5", (5, 3, 1, 2, "valid"), (1, 0)),  # effective kernel 2*(3-1)+1 = 5
    param("valid-dilated-4", (4, 3, 1, 2, "valid"), (0, 0)),
    param("valid-1x1-s2-odd", (9, 1, 2, 1, "valid"), (5, 0)),
    param("valid-1x1-s2-even", (8, 1, 2, 1, "valid"), (4, 1)),
    # same: ceil(in/s), the kernel and dilation do not matter
    param("same-7-s2", (7, 3, 2, 1, "same"), (4, 0)),
    param("same-8-s2", (8, 3, 2, 1, "same"), (4, 0)),
    param("same-1-s2", (1, 3, 2, 1, "same"), (1, 0)),
    param("same-224-s32", (224, 1, 32, 1, "same"), (7, 0)),
    param("same-10-s3", (10, 7, 3, 1, "same"), (4, 0)),
    param("same-dilated", (4, 3, 1, 4, "same"), (4, 0)),
]


@pytest.mark.parametrize(("args", "expected"), OUTPUT_LENGTH_CASES)
def test_output_length(args, expected):
    assert output_length(*args) == expected


ZERO_OUTPUT_CASES = [
    param(
        "conv-1x1-input",
        (1, 1, 8),
        {"type": "conv", "filters": 4, "kernel_size": 3, "strides": 2},
        "output size would be 0x0 (input 1x1, kernel_size=3, strides=2, padding='valid')",
    ),
    param(
        "conv-negative",
        (2, 2, 8),
        {"type": "conv", "filters": 4, "kernel_size": 5},
        "output size would be 0x0 (input 2x2, kernel_size=5, strides=1, padding='valid')",
    ),
    param(
        "conv-one-axis",
        (1, 8, 8),
        {"type": "conv", "filters": 4, "kernel_size": 3},
        "output size would be 0x6 (input 1x8, kernel_size=3, strides=1, padding='valid')",
    ),
    param(
        "conv-dilated",
        (4, 4, 8),
        {"type": "conv", "filters": 4, "kernel_size": 3, "dilation_rate": 2},
        "output size would be 0x0 (input 4x4, kernel_size=3, strides=1, dilation_rate=2, padding='valid')",
    ),
    param(
        "conv-asymmetric-kernel",
        (4, 4, 8),
        {"type": "conv", "filters": 4, "kernel_size": [5, 3]},
        "output size would be 0x2 (input 4x4, kernel_size=(5, 3), strides=1, padding='valid')",
    ),
    param(
        "max-pool",
        (1, 1, 8),
        {"type": "max_pool"},
        "output size would be 0x0 (input 1x1, pool_size=2, strides=2, padding='valid')",
    ),
    param(
        "depthwise",
        (2, 2, 8),
        {"type": "depthwise_conv", "kernel_size": 3},
        "output size would be 0x0 (input 2x2, kernel_size=3, strides=1, padding='valid')",
    ),
    param(
        "separable",
        (2, 2, 8),
        {"type": "separable_conv", "filters": 4, "kernel_size": 3},
        "output size would be 0x0 (input 2x2, kernel_size=3, strides=1, padding='valid')",
    ),
]

ADVICE = ". Use padding='same', a smaller kernel, or remove a downsampling stage."


@pytest.mark.parametrize(("shape", "spec", "message"), ZERO_OUTPUT_CASES)
def test_zero_output_is_an_error_naming_the_path(net, shape, spec, message):
    with pytest.raises(BlueprintError) as caught:
        net(shape=shape, stem=[spec])
    assert str(caught.value) == f"stem[0]: {message}{ADVICE}"
    (problem,) = caught.value.problems
    assert (problem.path, problem.severity) == ("stem[0]", "error")


def test_zero_output_deep_in_the_stages(net):
    # 8 -> 4 -> 2 -> 1 with same/s2, then a 3x3 valid conv in stage 3, block 1
    blueprint = {
        "name": "deep",
        "input": {"shape": [8, 8, 3]},
        "stages": [
            {"block": {"type": "conv", "filters": 4, "padding": "same"}, "strides": 2},
            {"block": {"type": "conv", "filters": 4, "padding": "same"}, "strides": 2},
            {"block": {"type": "conv", "filters": 4, "padding": "same"}, "strides": 2},
            {"blocks": [{"type": "relu"}, {"type": "conv", "filters": 4, "kernel_size": 3, "strides": 2}]},
        ],
    }
    with pytest.raises(BlueprintError) as caught:
        analyze(blueprint)
    assert str(caught.value) == (
        "stages[3].blocks[1]: output size would be 0x0 (input 1x1, kernel_size=3, strides=2, padding='valid')" + ADVICE
    )


def test_zero_output_inside_a_block_names_the_sub_layer(net):
    block = {"type": "mlpconv", "filters": [8, 8], "kernel_size": 3, "padding": "valid"}
    with pytest.raises(BlueprintError) as caught:
        net(shape=(2, 2, 3), blocks=[block])
    assert str(caught.value) == (
        "stages[0].blocks[0].conv[0]: output size would be 0x0 (input 2x2, kernel_size=3, strides=1, "
        "padding='valid')" + ADVICE
    )


INEXACT_FIT_CASES = [
    # (7-3) % 3 = 1 row and 1 column
    param(
        "rows-and-columns",
        (7, 7, 3),
        {"type": "conv", "filters": 4, "kernel_size": 3, "strides": 3},
        "(input 7x7, kernel_size=3, strides=3, padding='valid') does not tile the input; "
        "Keras drops the last 1 row(s) and the last 1 column(s) of the input.",
    ),
    # rows (7-3) % 3 = 1; columns (9-3) % 3 = 0
    param(
        "rows-only",
        (7, 9, 3),
        {"type": "conv", "filters": 4, "kernel_size": 3, "strides": 3},
        "(input 7x9, kernel_size=3, strides=3, padding='valid') does not tile the input; "
        "Keras drops the last 1 row(s) of the input.",
    ),
    param(
        "columns-only",
        (9, 7, 3),
        {"type": "conv", "filters": 4, "kernel_size": 3, "strides": 3},
        "(input 9x7, kernel_size=3, strides=3, padding='valid') does not tile the input; "
        "Keras drops the last 1 column(s) of the input.",
    ),
    # (12-5) % 4 = 3
    param(
        "three-lost",
        (12, 12, 3),
        {"type": "conv", "filters": 4, "kernel_size": 5, "strides": 4},
        "(input 12x12, kernel_size=5, strides=4, padding='valid') does not tile the input; "
        "Keras drops the last 3 row(s) and the last 3 column(s) of the input.",
    ),
    # VGG's 2x2 pool on 7x7: (7-2) % 2 = 1
    param(
        "pool",
        (7, 7, 3),
        {"type": "max_pool", "pool_size": 2},
        "(input 7x7, pool_size=2, strides=2, padding='valid') does not tile the input; "
        "Keras drops the last 1 row(s) and the last 1 column(s) of the input.",
    ),
    param(
        "depthwise",
        (8, 8, 3),
        {"type": "depthwise_conv", "kernel_size": 3, "strides": 2},
        "(input 8x8, kernel_size=3, strides=2, padding='valid') does not tile the input; "
        "Keras drops the last 1 row(s) and the last 1 column(s) of the input.",
    ),
]

WARNING_ADVICE = " Adjust the padding or input size, or set strict_fit: true to make this an error."


@pytest.mark.parametrize(("shape", "spec", "message"), INEXACT_FIT_CASES)
def test_inexact_fit_is_a_warning(net, shape, spec, message):
    n = net(shape=shape, stem=[spec])
    assert n.warnings == [f"warning: stem[0]: inexact fit: {message}{WARNING_ADVICE}"]
    (problem,) = n.analysis.warnings
    assert (problem.path, problem.severity) == ("stem[0]", "warning")


@pytest.mark.parametrize(("shape", "spec", "message"), INEXACT_FIT_CASES)
def test_inexact_fit_with_strict_fit_is_an_error(net, shape, spec, message):
    with pytest.raises(BlueprintError) as caught:
        net(shape=shape, stem=[spec], strict_fit=True)
    (problem,) = caught.value.problems
    assert (problem.path, problem.severity) == ("stem[0]", "error")
    assert str(caught.value).startswith(f"stem[0]: inexact fit: {message}")
    assert "strict_fit" not in str(caught.value)


def test_strict_fit_error_message_reads_well(net):
    with pytest.raises(BlueprintError) as caught:
        net(shape=(7, 7, 3), stem=[{"type": "conv", "filters": 4, "strides": 3}], strict_fit=True)
    assert str(caught.value) == (
        "stem[0]: inexact fit: (input 7x7, kernel_size=3, strides=3, padding='valid') does not tile the input; "
        "Keras drops the last 1 row(s) and the last 1 column(s) of the input. Adjust the padding or input size."
    )


def test_exact_fit_gives_no_warning(net):
    n = net(shape=(9, 9, 3), stem=[{"type": "conv", "filters": 4, "strides": 2}], strict_fit=True)
    assert (n.warnings, n["stem_0"].output_shape) == ([], (4, 4, 4))


def test_every_inexact_fit_is_reported(net):
    # 10 -> conv 3x3 s3: (10-3)//3+1 = 3, (10-3) % 3 = 1 lost; -> pool 2: (3-2)//2+1 = 1, (3-2) % 2 = 1 lost
    stem = [{"type": "conv", "filters": 4, "strides": 3}, {"type": "max_pool", "pool_size": 2}]
    n = net(shape=(10, 10, 3), stem=stem)
    assert [p.path for p in n.analysis.warnings] == ["stem[0]", "stem[1]"]
    assert n.last.output_shape == (1, 1, 4)


@pytest.mark.parametrize(
    ("shape", "spec"),
    [
        # 3x3 s2 pad 1 on 8: padded 10, (10-3) % 2 = 1 -> the unused row is the bottom padding row, not input
        param("conv-pad-1-s2", (8, 8, 3), {"type": "conv", "filters": 4, "kernel_size": 3, "strides": 2, "padding": 1}),
        # ResNet stem pool: 3x3 s2 pad 1 on 112 -> padded 114, (114-3) % 2 = 1, again only padding is unused
        param("pool-pad-1-s2", (112, 112, 3), {"type": "max_pool", "pool_size": 3, "strides": 2, "padding": 1}),
    ],
)
def test_explicit_padding_drops_no_input_pixels(net, shape, spec):
    n = net(shape=shape, stem=[spec], strict_fit=True)
    assert n.warnings == []


def test_explicit_padding_that_loses_input_pixels_still_warns(net):
    # 3x3 s4 pad 1 on 11: padded 13, (13-3)//4+1 = 3; windows cover padded rows 0..10, so padded rows 11 (the last
    # input row) and 12 (padding) are unused: at least one real input row is lost
    n = net(shape=(11, 11, 3), stem=[{"type": "conv", "filters": 4, "strides": 4, "padding": 1}])
    assert n["stem_0"].output_shape == (3, 3, 4)
    assert [p.path for p in n.analysis.warnings] == ["stem[0]"]


def test_groups_must_divide_input_channels(net):
    with pytest.raises(BlueprintError) as caught:
        net(shape=(8, 8, 6), stem=[{"type": "conv", "filters": 4, "groups": 4}])
    assert str(caught.value) == (
        "stem[0]: the input channels must be evenly divisible by the number of groups. "
        "Received: groups=4, input channels=6"
    )


def test_analysis_error_from_a_file_has_its_position(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        textwrap.dedent("""\
        name: tiny
        input: {shape: [1, 1, 8]}
        stem:
          - {type: conv, filters: 4, kernel_size: 3, strides: 2}
    """)
    )
    with pytest.raises(BlueprintError) as caught:
        analyze(str(path))
    # the layer's mapping starts on line 4, column 5
    assert str(caught.value).startswith(f"{path}:4:5: stem[0]: output size would be 0x0")


def test_analysis_warning_from_a_file_has_its_position(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        textwrap.dedent("""\
        name: tiny
        input: {shape: [7, 7, 3]}
        stem:
          - {type: relu}
          - {type: conv, filters: 4, kernel_size: 3, strides: 3}
    """)
    )
    (warning,) = analyze(str(path)).warnings
    assert (warning.file, warning.line, warning.column, warning.path) == (str(path), 5, 5, "stem[1]")
    assert str(warning).startswith(f"{path}:5:5: warning: stem[1]: inexact fit: (input 7x7, kernel_size=3, strides=3")

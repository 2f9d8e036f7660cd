"""Activation memory, the training-memory estimate, FLOPs, and receptive field size/jump per layer.

Numbers are worked out by hand in the comments. Receptive field: r_out = r_in + d(k-1) * j_in, j_out = j_in * s.
"""

from __future__ import annotations

import pytest

from archbuilder import analyze

# input 8x8x3 -> conv 3x3 same 4 + BN + relu -> max pool 2 -> flatten -> dense 10 (relu fused)
SMALL_STEM = [
    {"type": "conv", "filters": 4, "padding": "same", "batch_norm": True},
    {"type": "max_pool", "pool_size": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 10},
]

SMALL_LAYERS = [
    # name, elements, trainable, non-trainable, MACs
    ("input", 192, 0, 0, 0),  # 8*8*3
    ("stem_0", 256, 112, 0, 6_912),  # 8*8*4; 3*3*3*4+4; 8*8*4*27
    ("stem_0_bn", 256, 8, 8, 0),  # gamma/beta 2*4, moving mean/variance 2*4
    ("stem_0_relu", 256, 0, 0, 0),
    ("stem_1", 64, 0, 0, 0),  # 4*4*4
    ("stem_2", 64, 0, 0, 0),  # flatten
    ("stem_3", 10, 650, 0, 640),  # 64*10+10; 64*10
]
# elements 192 + 3*256 + 64 + 64 + 10 = 1,098; trainable 112+8+650 = 770; non-trainable 8; MACs 6,912+640 = 7,552
ELEMENTS, TRAINABLE, NON_TRAINABLE, MACS = 1_098, 770, 8, 7_552


@pytest.fixture(scope="module")
def small():
    return analyze({"name": "small", "input": {"shape": [8, 8, 3]}, "stem": SMALL_STEM})


def test_per_layer_memory_and_params(small):
    assert [
        (layer.name, layer.activation_elements, layer.trainable_params, layer.non_trainable_params, layer.macs)
        for layer in small.layers
    ] == SMALL_LAYERS


def test_totals(small):
    assert (small.activation_elements, small.trainable_params, small.non_trainable_params, small.params) == (
        ELEMENTS,
        TRAINABLE,
        NON_TRAINABLE,
        TRAINABLE + NON_TRAINABLE,
    )
    # FLOPs = 2 x MACs
    assert (small.macs, small.flops) == (MACS, 15_104)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        pytest.param("float32", 4_392, id="float32"),  # 1,098 * 4
        pytest.param("float16", 2_196, id="float16"),  # 1,098 * 2
        pytest.param("bfloat16", 2_196, id="bfloat16"),
        pytest.param("float64", 8_784, id="float64"),  # 1,098 * 8
    ],
)
def test_activation_bytes(small, dtype, expected):
    assert small.activation_bytes(dtype) == expected


def test_activation_bytes_default_is_float32(small):
    assert small.activation_bytes() == 4_392


# weights: all 778 params in float32 = 3,112 bytes; gradients: 770 trainable * 4 = 3,080; slots: 3,080 per slot
TRAINING_CASES = [
    # batch, dtype, optimizer -> activations (bytes per example * batch), weights, gradients, slots
    pytest.param(1, "float32", "sgd", (4_392, 3_112, 3_080, 0), id="sgd"),
    pytest.param(8, "float32", "adam", (35_136, 3_112, 3_080, 6_160), id="adam"),  # 4,392*8; 2 slots
    pytest.param(8, "float16", "momentum", (17_568, 3_112, 3_080, 3_080), id="momentum-float16"),  # 2,196*8; 1 slot
    pytest.param(4, "float32", "nesterov", (17_568, 3_112, 3_080, 3_080), id="nesterov"),
    pytest.param(2, "float64", "rmsprop", (17_568, 3_112, 3_080, 3_080), id="rmsprop"),  # 8,784*2
    pytest.param(32, "bfloat16", "adamw", (70_272, 3_112, 3_080, 6_160), id="adamw-bfloat16"),  # 2,196*32
    pytest.param(3, "float16", "nadam", (6_588, 3_112, 3_080, 6_160), id="nadam"),  # 2,196*3
]


@pytest.mark.parametrize(("batch", "dtype", "optimizer", "parts"), TRAINING_CASES)
def test_training_memory(small, batch, dtype, optimizer, parts):
    activations, weights, gradients, slots = parts
    assert small.training_memory(batch, dtype, optimizer) == {
        "activations": activations,
        "weights": weights,
        "gradients": gradients,
        "optimizer_slots": slots,
        "total": activations + weights + gradients + slots,
    }


def test_training_memory_defaults(small):
    # batch 32, float32, adam: 4,392*32 = 140,544 + 3,112 + 3,080 + 6,160 = 152,896
    assert small.training_memory()["total"] == 152_896


def test_training_memory_unknown_optimizer(small):
    with pytest.raises(ValueError) as caught:
        small.training_memory(8, "float32", "lamb")
    assert str(caught.value) == (
        "unknown optimizer 'lamb'; expected one of sgd, momentum, nesterov, rmsprop, adam, adamw, nadam"
    )


def test_to_dict_totals(small):
    data = small.to_dict(batch_size=8, dtype="float16", optimizer="momentum")
    assert (data["params"], data["macs"], data["flops"], data["activation_elements"], data["activation_bytes"]) == (
        778,
        MACS,
        15_104,
        ELEMENTS,
        2_196,
    )
    assert data["training_memory"] == {
        "batch_size": 8,
        "optimizer": "momentum",
        "activations": 17_568,
        "weights": 3_112,
        "gradients": 3_080,
        "optimizer_slots": 3_080,
        "total": 26_840,
    }
    assert data["layers"][1]["receptive_field"] == {"size": [3, 3], "jump": [1, 1]}
    assert data["layers"][-1]["receptive_field"] is None  # dense on a vector: global


def test_memory_counts_every_branch_of_a_block():
    # residual identity on 8x8x16 (no BN): input, conv1, conv2, add, relu: 5 * 8*8*16 = 5,120 elements
    analysis = analyze(
        {"name": "r", "input": {"shape": [8, 8, 16]}, "stages": [{"block": {"type": "residual", "filters": 16}}]}
    )
    assert analysis.activation_elements == 5_120
    assert analysis.activation_bytes("float16") == 10_240


# -- receptive field ------------------------------------------------------------------------------------------


def conv(kernel=3, **options):
    return {"type": "conv", "filters": 4, "kernel_size": kernel, "padding": "same", **options}


RF_CASES = [
    # stem on 32x32x3 -> (receptive field, jump) of each layer after the input
    pytest.param([conv()], [((3, 3), (1, 1))], id="conv3"),
    # 3 -> 3 + 2*1 = 5 -> 7
    pytest.param([conv(), conv(), conv()], [((3, 3), (1, 1)), ((5, 5), (1, 1)), ((7, 7), (1, 1))], id="three-3x3"),
    # s2: jump 2; the next 3x3 adds 2*2: 7
    pytest.param([conv(strides=2), conv()], [((3, 3), (2, 2)), ((7, 7), (2, 2))], id="strided"),
    # ResNet stem: 7x7/2 -> 7, j2; 3x3/2 pool -> 7 + 2*2 = 11, j4
    pytest.param(
        [conv(7, strides=2), {"type": "max_pool", "pool_size": 3, "strides": 2, "padding": "same"}],
        [((7, 7), (2, 2)), ((11, 11), (4, 4))],
        id="resnet-stem",
    ),
    # dilation d: adds d(k-1): 1 + 2*1 = 3, + 2*2 = 7, + 4*2 = 15
    pytest.param(
        [conv(dilation_rate=1), conv(dilation_rate=2), conv(dilation_rate=4)],
        [((3, 3), (1, 1)), ((7, 7), (1, 1)), ((15, 15), (1, 1))],
        id="dilated-stack",
    ),
    pytest.param([conv(dilation_rate=2)], [((5, 5), (1, 1))], id="dilated-3x3-is-5x5"),
    # pool 2 (default strides 2): 2, j2; conv3: 2 + 2*2 = 6
    pytest.param([{"type": "max_pool"}, conv()], [((2, 2), (2, 2)), ((6, 6), (2, 2))], id="pool-then-conv"),
    pytest.param(
        [{"type": "avg_pool", "pool_size": 3, "strides": 1, "padding": "same"}], [((3, 3), (1, 1))], id="avg-pool-s1"
    ),
    pytest.param([conv([1, 7])], [((1, 7), (1, 1))], id="kernel-1x7"),
    # strides (1, 2): jump (1, 2); next 3x3: (3 + 2*1, 3 + 2*2) = (5, 7)
    pytest.param([conv(strides=[1, 2]), conv()], [((3, 3), (1, 2)), ((5, 7), (1, 2))], id="asymmetric-strides"),
    # LeNet-like, valid: 5 -> pool 2: 5 + 1*1 = 6, j2 -> 5x5: 6 + 4*2 = 14 -> pool: 14 + 1*2 = 16, j4
    pytest.param(
        [conv(5, padding="valid"), {"type": "max_pool"}, conv(5, padding="valid"), {"type": "max_pool"}],
        [((5, 5), (1, 1)), ((6, 6), (2, 2)), ((14, 14), (2, 2)), ((16, 16), (4, 4))],
        id="lenet",
    ),
    # depthwise and separable grow it like a conv: 3, j2; 3 + 2*2 = 7
    pytest.param(
        [
            {"type": "depthwise_conv", "strides": 2, "padding": "same"},
            {"type": "separable_conv", "filters": 4, "padding": "same"},
        ],
        [((3, 3), (2, 2)), ((7, 7), (2, 2))],
        id="depthwise-separable",
    ),
    # shape-preserving layers keep it
    pytest.param(
        [
            conv(),
            {"type": "relu"},
            {"type": "batch_norm"},
            {"type": "dropout", "rate": 0.1},
            {"type": "lrn"},
            {"type": "spatial_dropout", "rate": 0.1},
            {"type": "zero_padding"},
        ],
        [((3, 3), (1, 1))] * 7,
        id="elementwise",
    ),
    # explicit padding: the pad layer keeps 1, the conv makes 3
    pytest.param([conv(padding=1)], [((1, 1), (1, 1)), ((3, 3), (1, 1))], id="explicit-padding"),
    # dense on a feature map is a 1x1 conv: keeps it
    pytest.param([conv(), {"type": "dense", "units": 5}], [((3, 3), (1, 1)), ((3, 3), (1, 1))], id="dense-on-map"),
]


@pytest.mark.parametrize(("stem", "fields"), RF_CASES)
def test_receptive_field(stem, fields):
    analysis = analyze({"name": "rf", "input": {"shape": [32, 32, 3]}, "stem": stem})
    assert analysis.layers[0].receptive_field == (1, 1) and analysis.layers[0].jump == (1, 1)
    assert [(layer.receptive_field, layer.jump) for layer in analysis.layers[1:]] == fields


@pytest.mark.parametrize(
    "stem",
    [
        pytest.param([{"type": "flatten"}], id="flatten"),
        pytest.param([{"type": "global_avg_pool"}], id="global-avg-pool"),
        pytest.param([{"type": "global_max_pool", "keepdims": True}], id="global-pool-keepdims"),
        # a conv after a keepdims global pool sees the whole image already
        pytest.param(
            [{"type": "global_avg_pool", "keepdims": True}, {"type": "conv", "filters": 4, "kernel_size": 1}],
            id="conv-after-global",
        ),
        pytest.param([{"type": "flatten"}, {"type": "dense", "units": 4}], id="dense-on-vector"),
        pytest.param(
            [{"type": "global_avg_pool"}, {"type": "dense", "units": 4}, {"type": "dropout", "rate": 0.5}],
            id="after-dense",
        ),
    ],
)
def test_receptive_field_is_global(stem):
    analysis = analyze({"name": "rf", "input": {"shape": [8, 8, 3]}, "stem": stem})
    last = analysis.layers[-1]
    assert (last.receptive_field, last.jump) == (None, None)


MERGE_RF_CASES = [
    # 1x1 (1) and 3x3 (3) branches of the same input: the merge sees the larger, 3
    pytest.param(
        [
            {"type": "relu", "id": "a"},
            {"type": "conv", "filters": 4, "kernel_size": 1, "id": "b"},
            {"type": "conv", "filters": 4, "padding": "same", "id": "c", "inputs": ["a"]},
            {"type": "concatenate", "inputs": ["b", "c"]},
        ],
        ((3, 3), (1, 1)),
        id="concatenate",
    ),
    # 3x3/2 (3, j2) + 1x1/2 (1, j2): 3, j2
    pytest.param(
        [
            {"type": "relu", "id": "a"},
            {"type": "conv", "filters": 4, "strides": 2, "padding": "same", "id": "b"},
            {
                "type": "conv",
                "filters": 4,
                "kernel_size": 1,
                "strides": 2,
                "padding": "same",
                "id": "c",
                "inputs": ["a"],
            },
            {"type": "add", "inputs": ["b", "c"]},
        ],
        ((3, 3), (2, 2)),
        id="add",
    ),
    # a gate computed from the whole image makes the product global
    pytest.param(
        [
            {"type": "conv", "filters": 4, "padding": "same", "id": "a"},
            {"type": "global_avg_pool", "keepdims": True, "id": "b"},
            {"type": "multiply", "inputs": ["a", "b"]},
        ],
        (None, None),
        id="multiply-global-gate",
    ),
]


@pytest.mark.parametrize(("stem", "field"), MERGE_RF_CASES)
def test_receptive_field_through_merges(stem, field):
    last = analyze({"name": "rf", "input": {"shape": [8, 8, 3]}, "stem": stem}).layers[-1]
    assert (last.receptive_field, last.jump) == field


BLOCK_RF_CASES = [
    # naive inception: branches 1, 3, 5 and pool 3 -> 5
    pytest.param(
        {"type": "inception", "naive": True, "filters_1x1": 4, "filters_3x3": 4, "filters_5x5": 4},
        "concat",
        ((5, 5), (1, 1)),
        id="inception-naive",
    ),
    # reduced: the 5x5 after a 1x1 -> 5
    pytest.param(
        {
            "type": "inception",
            "filters_1x1": 4,
            "reduce_3x3": 4,
            "filters_3x3": 4,
            "reduce_5x5": 4,
            "filters_5x5": 4,
            "pool_proj": 4,
        },
        "concat",
        ((5, 5), (1, 1)),
        id="inception-reduced",
    ),
    # residual: 3 -> 5; identity shortcut 1 -> add 5
    pytest.param({"type": "residual", "filters": 8}, "add", ((5, 5), (1, 1)), id="residual"),
    # stride on the 1x1: conv1 1 (j2), conv2 1 + 2*2 = 5 (j2), conv3 5; shortcut 1 (j2) -> 5, j2
    pytest.param({"type": "bottleneck", "filters": 4, "strides": 2}, "add", ((5, 5), (2, 2)), id="bottleneck-1x1"),
    # stride on the 3x3: conv1 1 (j1), conv2 3 (j2), conv3 3 -> 3, j2
    pytest.param(
        {"type": "bottleneck", "filters": 4, "strides": 2, "stride_on": "3x3"},
        "add",
        ((3, 3), (2, 2)),
        id="bottleneck-3x3",
    ),
    # fire: 1x1 squeeze, then 1x1 (1) and 3x3 (3) expands -> 3
    pytest.param(
        {"type": "fire", "squeeze": 2, "expand_1x1": 4, "expand_3x3": 4}, "concat", ((3, 3), (1, 1)), id="fire"
    ),
    # dense block with bottleneck: each layer adds a 3x3; two layers -> 1 + 2 + 2 = 5
    pytest.param(
        {"type": "dense_block", "num_layers": 2, "growth_rate": 4},
        "layers_1_concat",
        ((5, 5), (1, 1)),
        id="dense-block",
    ),
    # transition: 1x1 then 2x2/2 avg pool -> 2, j2
    pytest.param({"type": "transition"}, "pool", ((2, 2), (2, 2)), id="transition"),
]


@pytest.mark.parametrize(("block", "name", "field"), BLOCK_RF_CASES)
def test_receptive_field_through_blocks(block, name, field):
    analysis = analyze({"name": "rf", "input": {"shape": [8, 8, 8]}, "stages": [{"blocks": [block]}]})
    layer = next(layer for layer in analysis.layers if layer.name == f"stages_0_blocks_0_{name}")
    assert (layer.receptive_field, layer.jump) == field

"""The worked numbers of the lecture notes in ../shared/seeds/, reproduced by the analyzer.

Seed files: S000 = 000_27284596867f3078.txt, S002 = 002_21126bbedc2aaf34.txt, S003 = 003_8c66a41c304a43fd.txt,
S004 = 004_c70ce58d2ae02e4e.txt; "S002:596" = line 596. Where a seed is wrong the comment says why and the test
asserts the correct number. Blueprints are written inline (the zoo is tested elsewhere), except for the two
keras.applications references at the end, which read blueprints/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archbuilder import analyze

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"

# -- AlexNet, the single-tower 227x227 network (S000:1714-1745; per-layer params S002:291-386) ------------------

ALEXNET = """\
name: alexnet
input: {shape: [227, 227, 3]}
stem:
  - {type: conv, filters: 96, kernel_size: 11, strides: 4}
  - {type: max_pool, pool_size: 3, strides: 2}
  - {type: lrn}
  - {type: conv, filters: 256, kernel_size: 5, padding: 2}
  - {type: max_pool, pool_size: 3, strides: 2}
  - {type: lrn}
  - {type: conv, filters: 384, kernel_size: 3, padding: 1}
  - {type: conv, filters: 384, kernel_size: 3, padding: 1}
  - {type: conv, filters: 256, kernel_size: 3, padding: 1}
  - {type: max_pool, pool_size: 3, strides: 2}
head: {pool: flatten, fc: [4096, 4096], fc_dropout: 0.5, classes: 1000}
"""

ALEXNET_LAYERS = [
    # name, output shape, params (weights + biases), seed value
    ("stem_0", (55, 55, 96), 34_944),  # (227-11)/4+1 = 55; 11*11*3*96 + 96; P_C1 = 34,944 (S002:314)
    ("stem_1", (27, 27, 96), 0),  # (55-3)/2+1 = 27 (S000:1643)
    ("stem_2", (27, 27, 96), 0),  # LRN
    ("stem_3_pad", (31, 31, 96), 0),  # pad 2
    ("stem_3", (27, 27, 256), 614_656),  # 5*5*96*256 + 256; P_C2 (S002:316)
    ("stem_4", (13, 13, 256), 0),  # (27-3)/2+1 = 13
    ("stem_5", (13, 13, 256), 0),
    ("stem_6", (13, 13, 384), 885_120),  # 3*3*256*384 + 384; P_C3 (S002:318)
    ("stem_7", (13, 13, 384), 1_327_488),  # 3*3*384*384 + 384; P_C4 (S002:320)
    ("stem_8", (13, 13, 256), 884_992),  # 3*3*384*256 + 256; P_C5 (S002:322)
    ("stem_9", (6, 6, 256), 0),  # (13-3)/2+1 = 6
    ("head_flatten", (9_216,), 0),  # 6*6*256
    ("head_fc_0", (4_096,), 37_752_832),  # 9,216*4,096 + 4,096; P_Cf (S002:351)
    ("head_fc_1", (4_096,), 16_781_312),  # 4,096*4,096 + 4,096; P_ff (S002:384)
    ("predictions", (1_000,), 4_097_000),  # 4,096*1,000 + 1,000; S002:386 (its B_ff "4096" at S002:382 is a typo)
]


@pytest.fixture(scope="module")
def alexnet():
    return analyze(ALEXNET)


@pytest.mark.parametrize(("name", "shape", "params"), [pytest.param(*row, id=row[0]) for row in ALEXNET_LAYERS])
def test_alexnet_layer(alexnet, name, shape, params):
    layer = next(layer for layer in alexnet.layers if layer.name == name)
    assert (layer.output_shape, layer.params) == (shape, params)


def test_alexnet_totals(alexnet):
    convs = sum(layer.params for layer in alexnet.layers if layer.type == "conv")
    fcs = sum(layer.params for layer in alexnet.layers if layer.type == "dense")
    # conv 34,944+614,656+885,120+1,327,488+884,992 = 3,747,200; FC 37,752,832+16,781,312+4,097,000 = 58,631,144
    assert (convs, fcs, alexnet.params) == (3_747_200, 58_631_144, 62_378_344)
    assert alexnet.non_trainable_params == 0
    # "the FC layers hold > 90% of the parameters" (58,631,144 / 62,378,344 = 93.99%); "10x" (37.75M / 3.747M)
    assert round(100 * fcs / alexnet.params, 2) == 93.99
    assert alexnet.warnings == []
    # the seeds never give a total: "AlexNet 60M" (S002:525) is the 2-GPU grouped version (60,965,224)


def test_alexnet_conv1_costs(alexnet):
    conv1 = alexnet.layers[1]
    # 55*55*96 * (11*11*3) = 105,415,200 MACs
    assert conv1.macs == 105_415_200
    # without weight sharing (S003:119): 55*55*96 = 290,400 neurons, each with 11*11*3+1 = 364 params
    assert conv1.activation_elements * (conv1.params // 96) == 105_705_600


def test_alexnet_at_224_does_not_fit():
    # (224-11)/4+1 = 54.25: Keras floors to 54 and drops (224-11) % 4 = 1 row and column; the seeds use 227
    analysis = analyze(ALEXNET.replace("[227, 227, 3]", "[224, 224, 3]"))
    assert analysis.layers[1].output_shape == (54, 54, 96)
    assert [(w.severity, w.path, w.message) for w in analysis.warnings][0] == (
        "warning",
        "stem[0]",
        (
            "inexact fit: (input 224x224, kernel_size=11, strides=4, padding='valid') does not tile the input; Keras "
            "drops the last 1 row(s) and the last 1 column(s) of the input. Adjust the padding or input size, or set "
            "strict_fit: true to make this an error."
        ),
    )


# -- VGG16 (CS231n table, S000:1982-2136, S003:339-421) ------------------------------------------------------

VGG16 = """\
name: vgg16
input: {shape: [224, 224, 3]}
pattern:
  conv: {kernel_size: 3, padding: same}
  stages:
    - {filters: 64, convs: 2}
    - {filters: 128, convs: 2}
    - {filters: 256, convs: 3}
    - {filters: 512, convs: 3}
    - {filters: 512, convs: 3}
  pool: {type: max_pool, pool_size: 2, strides: 2}
  fc: [4096, 4096]
  dropout: 0.5
head: {classes: 1000, activation: softmax}
"""

# The seed's "params" column counts weights only ("not counting biases", S000:1982); params = weights + biases.
VGG16_TABLE = [
    # name, output shape, memory (elements) = h*w*c [seed label], weights (seed value), biases, MACs = weights*h*w
    ("input", (224, 224, 3), 150_528, 0, 0, 0),  # [150K]
    ("stages_0_blocks_0", (224, 224, 64), 3_211_264, 1_728, 64, 86_704_128),  # [3.2M] (3*3*3)*64
    ("stages_0_blocks_1", (224, 224, 64), 3_211_264, 36_864, 64, 1_849_688_064),  # [3.2M] (3*3*64)*64
    ("stages_0_blocks_2", (112, 112, 64), 802_816, 0, 0, 0),  # [800K] pool
    ("stages_1_blocks_0", (112, 112, 128), 1_605_632, 73_728, 128, 924_844_032),  # [1.6M] (3*3*64)*128
    ("stages_1_blocks_1", (112, 112, 128), 1_605_632, 147_456, 128, 1_849_688_064),  # [1.6M] (3*3*128)*128
    ("stages_1_blocks_2", (56, 56, 128), 401_408, 0, 0, 0),  # [400K]
    ("stages_2_blocks_0", (56, 56, 256), 802_816, 294_912, 256, 924_844_032),  # [800K] (3*3*128)*256
    ("stages_2_blocks_1", (56, 56, 256), 802_816, 589_824, 256, 1_849_688_064),  # [800K] (3*3*256)*256
    ("stages_2_blocks_2", (56, 56, 256), 802_816, 589_824, 256, 1_849_688_064),
    ("stages_2_blocks_3", (28, 28, 256), 200_704, 0, 0, 0),  # [200K]
    ("stages_3_blocks_0", (28, 28, 512), 401_408, 1_179_648, 512, 924_844_032),  # [400K] (3*3*256)*512
    ("stages_3_blocks_1", (28, 28, 512), 401_408, 2_359_296, 512, 1_849_688_064),  # [400K] (3*3*512)*512
    ("stages_3_blocks_2", (28, 28, 512), 401_408, 2_359_296, 512, 1_849_688_064),
    ("stages_3_blocks_3", (14, 14, 512), 100_352, 0, 0, 0),  # [100K]
    ("stages_4_blocks_0", (14, 14, 512), 100_352, 2_359_296, 512, 462_422_016),  # [100K]
    ("stages_4_blocks_1", (14, 14, 512), 100_352, 2_359_296, 512, 462_422_016),
    ("stages_4_blocks_2", (14, 14, 512), 100_352, 2_359_296, 512, 462_422_016),
    ("stages_4_blocks_3", (7, 7, 512), 25_088, 0, 0, 0),  # [25K]
    ("head_fc_0", (4_096,), 4_096, 102_760_448, 4_096, 102_760_448),  # 7*7*512*4096
    ("head_fc_1", (4_096,), 4_096, 16_777_216, 4_096, 16_777_216),  # 4096*4096
    ("predictions", (1_000,), 1_000, 4_096_000, 1_000, 4_096_000),  # 4096*1000
]


@pytest.fixture(scope="module")
def vgg16():
    return analyze(VGG16)


@pytest.mark.parametrize(
    ("name", "shape", "elements", "weights", "biases", "macs"), [pytest.param(*row, id=row[0]) for row in VGG16_TABLE]
)
def test_vgg16_layer(vgg16, name, shape, elements, weights, biases, macs):
    layer = next(layer for layer in vgg16.layers if layer.name == name)
    assert (layer.output_shape, layer.activation_elements, layer.params, layer.macs) == (
        shape,
        elements,
        weights + biases,
        macs,
    )


def test_vgg16_totals(vgg16):
    # weights 138,344,128 + biases 13,416 = 138,357,544 (seed "TOTAL params: 138M", S000:2136; Keras VGG16 exactly)
    assert (vgg16.params, vgg16.trainable_params, vgg16.non_trainable_params) == (138_357_544, 138_357_544, 0)
    # 15,470,264,320 MACs (sum of the table's MAC column), FLOPs twice that
    assert (vgg16.macs, vgg16.flops) == (15_470_264_320, 30_940_528_640)


def test_vgg16_memory(vgg16):
    table = {row[0] for row in VGG16_TABLE}
    in_table = sum(layer.activation_elements for layer in vgg16.layers if layer.name in table)
    # The seed's "TOTAL memory: 24M * 4 bytes ~= 96MB" (S000:2134; "~=93MB" at S003:420) is wrong: its own rows sum to
    # 15,237,608 elements (input included) = 60,950,432 bytes in float32 (about 61 MB), not 24M.
    assert (in_table, in_table * 4) == (15_237_608, 60_950_432)
    # The analyzer also counts the layers the table leaves out: flatten (7*7*512 = 25,088) and the two dropouts
    # after the FC layers (2*4,096): 15,237,608 + 25,088 + 8,192 = 15,270,888
    assert vgg16.activation_elements == 15_270_888
    assert vgg16.activation_bytes("float32") == 61_083_552  # 15,270,888 * 4


def test_vgg16_first_layers_hold_ten_million_activations(vgg16):
    # S003:318: three 224x224x64 volumes make "about 10 million activations": 3 * 224*224*64 = 9,633,792
    conv1 = [layer for layer in vgg16.layers if layer.output_shape == (224, 224, 64)]
    assert [layer.activation_elements for layer in conv1] == [3_211_264, 3_211_264]
    assert 3 * conv1[0].activation_elements == 9_633_792


# -- Inception module op counts on 28x28x256 (S004:1090-1263) ----------------------------------------------------


def inception(block: str) -> str:
    return f"name: inception\ninput: {{shape: [28, 28, 256]}}\nstages:\n  - block: {block}\n"


NAIVE = "{type: inception, naive: true, filters_1x1: 128, filters_3x3: 192, filters_5x5: 96}"
REDUCED = (
    "{type: inception, filters_1x1: 128, reduce_3x3: 64, filters_3x3: 192, reduce_5x5: 64, filters_5x5: 96, "
    "pool_proj: 64}"
)
PREFIX = "stages_0_blocks_0_"


def test_inception_naive_ops():
    analysis = analyze(inception(NAIVE))
    macs = {layer.name.removeprefix(PREFIX): layer.macs for layer in analysis.layers if layer.macs}
    assert macs == {
        "branch1x1": 25_690_112,  # [1x1 conv, 128] 28*28*128*1*1*256
        "branch3x3": 346_816_512,  # [3x3 conv, 192] 28*28*192*3*3*256
        "branch5x5": 481_689_600,  # [5x5 conv, 96] 28*28*96*5*5*256
    }
    # "854M ops" (S004:1098) is right: 25,690,112 + 346,816,512 + 481,689,600
    assert analysis.macs == 854_196_224
    # 128 + 192 + 96 + 256 (the pool passes every input channel) = 672
    assert analysis.output_shape == (28, 28, 672)
    # 32,896 + 442,560 + 614,496
    assert analysis.params == 1_089_952


def test_inception_reduced_ops():
    analysis = analyze(inception(REDUCED))
    macs = {layer.name.removeprefix(PREFIX): layer.macs for layer in analysis.layers if layer.macs}
    assert macs == {
        "branch1x1": 25_690_112,  # [1x1 conv, 128] 28*28*128*1*1*256
        "branch3x3_reduce": 12_845_056,  # [1x1 conv, 64] 28*28*64*1*1*256
        "branch3x3": 86_704_128,  # [3x3 conv, 192] 28*28*192*3*3*64
        "branch5x5_reduce": 12_845_056,  # [1x1 conv, 64] 28*28*64*1*1*256
        "branch5x5": 120_422_400,  # [5x5 conv, 96] 28*28*96*5*5*64
        "branch_pool_proj": 12_845_056,  # [1x1 conv, 64] 28*28*64*1*1*256
    }
    # The seed's "Total: 358M ops" (S004:1261) is wrong: the six terms it lists itself sum to 271,351,808 (271M).
    # 358M is that sum with the 3x3 term counted a second time (271,351,808 + 86,704,128 = 358,055,936).
    assert analysis.macs == 271_351_808
    # 128 + 192 + 96 + 64 = 480
    assert analysis.output_shape == (28, 28, 480)
    # 16,448 + 16,448 + 32,896 + 110,784 + 153,696 + 16,448
    assert analysis.params == 346_720


# -- Depthwise-separable multiplication counts (S002:586-596) -------------------------------------------------

DW_INPUT = "name: dws\ninput: {shape: [12, 12, 3]}\nstem:\n  - "


def test_normal_conv_multiplications():
    # "Normal": 256 5x5x3 filters give 8x8 outputs: 256*(5*5*3)*(8*8) = 1,228,800 (S002:590)
    analysis = analyze(DW_INPUT + "{type: conv, filters: 256, kernel_size: 5}")
    assert (analysis.output_shape, analysis.macs) == ((8, 8, 256), 1_228_800)


def test_depthwise_separable_multiplications():
    analysis = analyze(
        "name: dws\ninput: {shape: [12, 12, 3]}\nstages:\n"
        "  - block: {type: depthwise, filters: 256, kernel_size: 5, padding: valid}\n"
    )
    depthwise, pointwise = (layer for layer in analysis.layers if layer.macs)
    # step 1: 3 5x5x1 filters give 8x8: 3*(5*5*1)*(8*8) = 4,800 (S002:592)
    assert (depthwise.name, depthwise.output_shape, depthwise.macs) == (PREFIX + "depthwise", (8, 8, 3), 4_800)
    # step 2: 256 1x1x3 filters give 8x8: 256*(1*1*3)*(8*8) = 49,152 (S002:594)
    assert (pointwise.name, pointwise.output_shape, pointwise.macs) == (PREFIX + "pointwise", (8, 8, 256), 49_152)
    # The seed's "DW+S: 52,952 multiplications" (S002:596) is a typo: its own two steps add to 4,800 + 49,152 = 53,952
    assert analysis.macs == 53_952


def test_separable_conv_is_the_same_count():
    analysis = analyze(DW_INPUT + "{type: separable_conv, filters: 256, kernel_size: 5}")
    assert analysis.macs == 53_952
    # ratio 1,228,800 / 53,952 = 25*256/281 = 1 / (1/N + 1/D_K^2) with N = 256, D_K = 5 (MobileNet's cost ratio)
    assert 1_228_800 / analysis.macs == pytest.approx(1 / (1 / 256 + 1 / 25))


# -- CS231n output-size examples (S000:945-1085, S003:101-142, S001:57) -----------------------------------------


def conv_on(n: int, channels: int = 3, **conv) -> str:
    layer = ", ".join(f"{key}: {value}" for key, value in {"type": "conv", "filters": 4, **conv}.items())
    return f"name: cs231n\ninput: {{shape: [{n}, {n}, {channels}]}}\nstem:\n  - {{{layer}}}\n"


@pytest.mark.parametrize(
    ("n", "conv", "out"),
    [
        # (N - F)/S + 1 with N = 7, F = 3 (S000:945-964)
        pytest.param(7, {"kernel_size": 3, "strides": 1}, 5, id="N7-F3-S1"),  # (7-3)/1+1 = 5
        pytest.param(7, {"kernel_size": 3, "strides": 2}, 3, id="N7-F3-S2"),  # (7-3)/2+1 = 3
        # 7x7, 3x3, pad 1, stride 1 -> 7x7 (S000:998): explicit padding or 'same'
        pytest.param(7, {"kernel_size": 3, "padding": 1}, 7, id="N7-F3-P1"),
        pytest.param(7, {"kernel_size": 3, "padding": "same"}, 7, id="N7-F3-same"),
        # pad (F-1)/2 keeps the size (S000:1023): F = 5 -> 2, F = 7 -> 3
        pytest.param(7, {"kernel_size": 5, "padding": 2}, 7, id="N7-F5-P2"),
        pytest.param(7, {"kernel_size": 7, "padding": 3}, 7, id="N7-F7-P3"),
        # W = 5, F = 3, P = 1: S = 1 -> 5; S = 2 -> (5-3+2)/2+1 = 3 (S003:106)
        pytest.param(5, {"kernel_size": 3, "padding": 1}, 5, id="W5-F3-P1-S1"),
        pytest.param(5, {"kernel_size": 3, "padding": 1, "strides": 2}, 3, id="W5-F3-P1-S2"),
        # 11x11x4, F = 5, S = 2, P = 0 -> (11-5)/2+1 = 4 (S003:142)
        pytest.param(11, {"kernel_size": 5, "strides": 2}, 4, id="W11-F5-S2"),
        # (4 - 3 + 2*0)/1 + 1 = 2 (S001:57)
        pytest.param(4, {"kernel_size": 3}, 2, id="i4-k3"),
    ],
)
def test_output_size_examples(n, conv, out):
    analysis = analyze(conv_on(n, **conv))
    assert analysis.output_shape == (out, out, 4)
    assert analysis.warnings == []


@pytest.mark.parametrize(
    ("n", "stride", "out"),
    [
        # N = 7, F = 3, S = 3: (7-3)/3+1 = 2.33, "doesn't fit!" (S000:964): Keras floors to 2, drops 1 row and column
        pytest.param(7, 3, 2, id="N7-F3-S3"),
        # W = 10, F = 3, S = 2, P = 0: (10-3)/2+1 = 4.5, "invalid" (S003:112): Keras floors to 4
        pytest.param(10, 2, 4, id="W10-F3-S2"),
    ],
)
def test_output_size_that_does_not_fit_warns(n, stride, out):
    analysis = analyze(conv_on(n, kernel_size=3, strides=stride))
    assert analysis.output_shape == (out, out, 4)
    assert [(w.severity, w.path, w.message) for w in analysis.warnings] == [
        (
            "warning",
            "stem[0]",
            (
                f"inexact fit: (input {n}x{n}, kernel_size=3, strides={stride}, padding='valid') does not tile the "
                "input; Keras drops the last 1 row(s) and the last 1 column(s) of the input. Adjust the padding or "
                "input size, or set strict_fit: true to make this an error."
            ),
        )
    ]


def test_ten_5x5_filters_on_32x32x3():
    # S000:1060-1085: 10 5x5 filters, stride 1, pad 2: (32+2*2-5)/1+1 = 32 -> 32x32x10; 5*5*3+1 = 76 params each -> 760
    analysis = analyze(conv_on(32, filters=10, kernel_size=5, padding=2))
    assert (analysis.output_shape, analysis.params) == ((32, 32, 10), 760)


def test_repeated_5x5_valid_convs_shrink():
    # S000:1032: 32 -> 28 -> 24
    analysis = analyze(
        "name: shrink\ninput: {shape: [32, 32, 3]}\nstem:\n"
        "  - {type: conv, filters: 6, kernel_size: 5}\n  - {type: conv, filters: 10, kernel_size: 5}\n"
    )
    assert [layer.output_shape for layer in analysis.layers] == [(32, 32, 3), (28, 28, 6), (24, 24, 10)]


# -- Receptive field of stacked convs (S000:1104-1137, S000:1948-1971, S003:206, S003:292) --------------------


def conv_stack(layers: int, kernel: int, channels: int = 8, use_bias: str = "true") -> str:
    conv = f"  - {{type: conv, filters: {channels}, kernel_size: {kernel}, padding: same, use_bias: {use_bias}}}\n"
    return f"name: stack\ninput: {{shape: [32, 32, {channels}]}}\nstem:\n" + conv * layers


@pytest.mark.parametrize(
    ("layers", "kernel", "field"),
    [
        # 1 + L*(K-1)
        pytest.param(1, 3, 3, id="L1-K3"),
        pytest.param(2, 3, 5, id="L2-K3"),  # S003:206
        pytest.param(3, 3, 7, id="L3-K3"),  # S000:1948 "[7x7]", S003:292
        pytest.param(4, 3, 9, id="L4-K3"),
        pytest.param(5, 3, 11, id="L5-K3"),
        pytest.param(2, 5, 9, id="L2-K5"),
        pytest.param(1, 7, 7, id="L1-K7"),
    ],
)
def test_receptive_field_of_a_stack(layers, kernel, field):
    analysis = analyze(conv_stack(layers, kernel))
    assert [layer.receptive_field for layer in analysis.layers] == [
        (1 + i * (kernel - 1), 1 + i * (kernel - 1)) for i in range(layers + 1)
    ]
    assert analysis.layers[-1].receptive_field == (field, field)


def test_three_3x3_convs_versus_one_7x7():
    # same receptive field (7), fewer weights: 3*(3*3*C*C) = 27C^2 vs 7*7*C*C = 49C^2 (S000:1971); C = 64, no bias
    three = analyze(conv_stack(3, 3, channels=64, use_bias="false"))
    one = analyze(conv_stack(1, 7, channels=64, use_bias="false"))
    assert (three.layers[-1].receptive_field, one.layers[-1].receptive_field) == ((7, 7), (7, 7))
    assert (three.params, one.params) == (110_592, 200_704)  # 27*64*64, 49*64*64


# -- FC to conv (S003:253-265) ---------------------------------------------------------------------------------


def fc_as_conv(size: int) -> str:
    return (
        VGG16.replace("[224, 224, 3]", f"[{size}, {size}, 3]")
        .replace("  fc: [4096, 4096]\n  dropout: 0.5\n", "")
        .replace(
            "head: {classes: 1000, activation: softmax}",
            "head:\n  pool: none\n  classes: 1000\n  layers:\n"
            "    - {type: conv, filters: 4096, kernel_size: 7}\n"
            "    - {type: conv, filters: 4096, kernel_size: 1}\n",
        )
    )


@pytest.mark.parametrize(
    ("size", "before", "scores"),
    [
        # 224 / 32 = 7 -> 7x7x512 -> 7x7 conv: 1x1x4096 -> 1x1x1000 (the FC classifier, as convs)
        pytest.param(224, 7, 1, id="224"),
        # 384 / 32 = 12 -> 12x12x512 -> (12-7)/1+1 = 6 -> 6x6x1000 class scores (S003:265)
        pytest.param(384, 12, 6, id="384"),
    ],
)
def test_fc_to_conv(size, before, scores):
    analysis = analyze(fc_as_conv(size))
    by_name = {layer.name: layer for layer in analysis.layers}
    assert by_name["stages_4_blocks_3"].output_shape == (before, before, 512)
    fc6 = by_name["head_layers_0"]
    # the 7x7 conv holds FC6's weights: 7*7*512*4096 + 4096 = 102,764,544
    assert (fc6.output_shape, fc6.params) == ((scores, scores, 4096), 102_764_544)
    # the classifier is a Dense on the last axis, i.e. a 1x1 conv: 4096*1000 + 1000
    assert (analysis.output_shape, by_name["predictions"].params) == ((scores, scores, 1000), 4_097_000)
    # neighbouring class scores are 32 pixels apart in the input (the 224 crops are taken with stride 32)
    assert by_name["predictions"].jump == (32, 32)


def test_pooling_discards_three_quarters():
    # S003:308: 2x2 stride 2 pooling keeps 1 activation in 4
    analysis = analyze("name: pool\ninput: {shape: [8, 8, 16]}\nstem:\n  - {type: max_pool, pool_size: 2}\n")
    before, after = (layer.activation_elements for layer in analysis.layers)
    assert (before, after) == (1_024, 256)


# -- keras.applications references (figures.md Part B; no Keras import here) -----------------------------------


def test_resnet50_blueprint_matches_keras_applications():
    analysis = analyze(str(BLUEPRINTS / "resnet50.yaml"))
    # keras.applications.ResNet50(weights=None): 25,636,712 = 25,583,592 trainable + 53,120 BN moving statistics
    assert (analysis.params, analysis.trainable_params, analysis.non_trainable_params) == (
        25_636_712,
        25_583_592,
        53_120,
    )
    assert analysis.output_shape == (1_000,)
    # the last block of each stage: 224/4 = 56 (x256), 28 (x512), 14 (x1024), 7 (x2048)
    by_name = {layer.name: layer for layer in analysis.layers}
    assert [by_name[f"stages_{s}_blocks_{b}_relu"].output_shape for s, b in ((0, 2), (1, 3), (2, 5), (3, 2))] == [
        (56, 56, 256),
        (28, 28, 512),
        (14, 14, 1024),
        (7, 7, 2048),
    ]


def test_resnet50_blueprint_fits_exactly():
    assert analyze(str(BLUEPRINTS / "resnet50.yaml")).warnings == []


def test_vgg16_blueprint_matches_keras_applications():
    analysis = analyze(str(BLUEPRINTS / "vgg16.yaml"))
    # keras.applications.VGG16(weights=None): 138,357,544, all trainable
    assert (analysis.params, analysis.trainable_params, analysis.non_trainable_params) == (138_357_544, 138_357_544, 0)
    assert analysis.output_shape == (1_000,)
    assert analysis.warnings == []

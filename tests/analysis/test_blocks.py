"""Block templates lowered into primitive layers: output shape, total params and MACs (by hand), sub-layer names.

Each case is one block as the only stage of a headless network, so the network's totals are the block's.
Defaults unless a case says otherwise: relu (fused into the conv when there is no batch norm), no batch norm,
use_bias true. conv params = k*k*C_in/groups*C_out + C_out; conv MACs = H*W*C_out*k*k*C_in/groups;
batch norm = 2 trainable + 2 non-trainable per channel.
"""

from __future__ import annotations

import pytest

from archbuilder import BlueprintError, analyze

P = "stages_0_blocks_0"
BN = {"batch_norm": True}
BN_NO_BIAS = {"batch_norm": True, "use_bias": False}
MOBILE = {"batch_norm": True, "use_bias": False, "activation": "relu6"}


def case(id_, block, shape, defaults, out, trainable, non_trainable, macs, names):
    return pytest.param(block, shape, defaults, out, trainable, non_trainable, macs, names, id=id_)


BLOCK_CASES = [
    # -- inception -------------------------------------------------------------------------------
    # naive on 8x8x16: 1x1 8: 16*8+8 = 136, MACs 64*8*16 = 8,192; 3x3 12: 9*16*12+12 = 1,740, MACs 64*12*144 = 110,592;
    # 5x5 4: 25*16*4+4 = 1,604, MACs 64*4*400 = 102,400; pool passes 16 channels -> 8+12+4+16 = 40
    # params 136+1,740+1,604 = 3,480; MACs 8,192+110,592+102,400 = 221,184
    case(
        "inception-naive",
        {"type": "inception", "naive": True, "filters_1x1": 8, "filters_3x3": 12, "filters_5x5": 4},
        (8, 8, 16),
        {},
        (8, 8, 40),
        3_480,
        0,
        221_184,
        ["branch1x1", "branch3x3", "branch5x5", "branch_pool", "concat"],
    ),
    # reduced: 1x1 8 (136; 8,192); 3x3 reduce 4: 16*4+4 = 68 (64*4*16 = 4,096); 3x3 8: 9*4*8+8 = 296 (64*8*36 = 18,432);
    # 5x5 reduce 2: 16*2+2 = 34 (2,048); 5x5 4: 25*2*4+4 = 204 (64*4*50 = 12,800); pool proj 4: 68 (4,096)
    # -> 8+8+4+4 = 24; params 136+68+296+34+204+68 = 806; MACs 8,192+4,096+18,432+2,048+12,800+4,096 = 49,664
    case(
        "inception-reduced",
        {
            "type": "inception",
            "filters_1x1": 8,
            "reduce_3x3": 4,
            "filters_3x3": 8,
            "reduce_5x5": 2,
            "filters_5x5": 4,
            "pool_proj": 4,
        },
        (8, 8, 16),
        {},
        (8, 8, 24),
        806,
        0,
        49_664,
        [
            "branch1x1",
            "branch3x3_reduce",
            "branch3x3",
            "branch5x5_reduce",
            "branch5x5",
            "branch_pool",
            "branch_pool_proj",
            "concat",
        ],
    ),
    # -- residual ----------------------------------------------------------------------------------
    # identity: two 3x3 16->16: 2*(9*16*16+16) = 2*2,320 = 4,640; MACs 2*(64*16*144) = 2*147,456 = 294,912
    case(
        "residual-identity",
        {"type": "residual", "filters": 16},
        (8, 8, 16),
        {},
        (8, 8, 16),
        4_640,
        0,
        294_912,
        ["conv1", "conv2", "add", "relu"],
    ),
    # projection (stride 2, 16 -> 32) with batch norm:
    # shortcut 1x1 s2 16*32+32 = 544 (MACs 4*4*32*16 = 8,192) + bn 64/64;
    # conv1 3x3 s2: 9*16*32+32 = 4,640 (4*4*32*144 = 73,728) + bn 64/64;
    # conv2: 9*32*32+32 = 9,248 (4*4*32*288 = 147,456) + bn 64/64;
    # trainable 544+4,640+9,248+3*64 = 14,624; non-trainable 3*64 = 192; MACs 229,376
    case(
        "residual-projection",
        {"type": "residual", "filters": 32, "strides": 2},
        (8, 8, 16),
        BN,
        (4, 4, 32),
        14_624,
        192,
        229_376,
        ["shortcut", "shortcut_bn", "conv1", "conv1_bn", "conv1_relu", "conv2", "conv2_bn", "add", "relu"],
    ),
    # same without conv biases (use_bias false): 14,624 - 3*32 = 14,528
    case(
        "residual-projection-no-bias",
        {"type": "residual", "filters": 32, "strides": 2},
        (8, 8, 16),
        BN_NO_BIAS,
        (4, 4, 32),
        14_528,
        192,
        229_376,
        ["shortcut", "shortcut_bn", "conv1", "conv1_bn", "conv1_relu", "conv2", "conv2_bn", "add", "relu"],
    ),
    # forced projection on equal shapes: 4,640 + 1x1 16*16+16 = 272 -> 4,912; MACs 294,912 + 64*16*16 = 311,296
    case(
        "residual-forced-projection",
        {"type": "residual", "filters": 16, "shortcut": "projection"},
        (8, 8, 16),
        {},
        (8, 8, 16),
        4_912,
        0,
        311_296,
        ["shortcut", "conv1", "conv2", "add", "relu"],
    ),
    # identity shortcut with stride 2 on 9x9: 1x1 max-pool subsampling, (9-1)//2+1 = 5; convs 3x3 s2 same -> 5x5
    # params 2*2,320 = 4,640; MACs 2*(5*5*16*144) = 2*57,600 = 115,200
    case(
        "residual-identity-strided",
        {"type": "residual", "filters": 16, "strides": 2, "shortcut": "identity"},
        (9, 9, 16),
        {},
        (5, 5, 16),
        4_640,
        0,
        115_200,
        ["shortcut", "conv1", "conv2", "add", "relu"],
    ),
    # preact (v2), identity: preact bn 32/32; conv1 2,320 + bn 32/32; conv2 2,320 (no bn); no relu after add
    # trainable 32+2,320+32+2,320 = 4,704; non-trainable 64; MACs 294,912
    case(
        "residual-preact",
        {"type": "residual", "filters": 16, "preact": True},
        (8, 8, 16),
        BN,
        (8, 8, 16),
        4_704,
        64,
        294_912,
        ["preact_bn", "preact_relu", "conv1", "conv1_bn", "conv1_relu", "conv2", "add"],
    ),
    # preact with projection (no bn on the shortcut): preact bn 32/32; shortcut 544; conv1 4,640 + bn 64/64; conv2 9,248
    # trainable 32+544+4,640+64+9,248 = 14,528; non-trainable 32+64 = 96; MACs 8,192+73,728+147,456 = 229,376
    case(
        "residual-preact-projection",
        {"type": "residual", "filters": 32, "strides": 2, "preact": True},
        (8, 8, 16),
        BN,
        (4, 4, 32),
        14_528,
        96,
        229_376,
        ["preact_bn", "preact_relu", "shortcut", "conv1", "conv1_bn", "conv1_relu", "conv2", "add"],
    ),
    # se 0.25: reduced int(16*0.25) = 4; reduce 16*4+4 = 68 (MACs 4*16 = 64); expand 4*16+16 = 80 (MACs 64)
    # params 4,640+68+80 = 4,788; MACs 294,912+128 = 295,040
    case(
        "residual-se",
        {"type": "residual", "filters": 16, "se_ratio": 0.25},
        (8, 8, 16),
        {},
        (8, 8, 16),
        4_788,
        0,
        295_040,
        ["conv1", "conv2", "se_squeeze", "se_reduce", "se_expand", "se_scale", "add", "relu"],
    ),
    # Wide ResNet dropout between the convs: no params
    case(
        "residual-dropout",
        {"type": "residual", "filters": 16, "dropout": 0.3},
        (8, 8, 16),
        {},
        (8, 8, 16),
        4_640,
        0,
        294_912,
        ["conv1", "dropout", "conv2", "add", "relu"],
    ),
    # -- bottleneck ----------------------------------------------------------------------------------
    # stride on the 1x1 (Keras v1), 8x8x16, filters 8 -> 32 out, stride 2:
    # shortcut 1x1 s2 16*32+32 = 544 (4*4*32*16 = 8,192); conv1 1x1 s2 16*8+8 = 136 (4*4*8*16 = 2,048);
    # conv2 3x3 8*8*9+8 = 584 (4*4*8*72 = 9,216); conv3 1x1 8*32+32 = 288 (4*4*32*8 = 4,096)
    # params 544+136+584+288 = 1,552; MACs 8,192+2,048+9,216+4,096 = 23,552
    case(
        "bottleneck-stride-1x1",
        {"type": "bottleneck", "filters": 8, "strides": 2},
        (8, 8, 16),
        {},
        (4, 4, 32),
        1_552,
        0,
        23_552,
        ["shortcut", "conv1", "conv2", "conv3", "add", "relu"],
    ),
    # stride on the 3x3 (v1.5): conv1 runs at 8x8: 64*8*16 = 8,192; the rest as above
    # MACs 8,192+8,192+9,216+4,096 = 29,696
    case(
        "bottleneck-stride-3x3",
        {"type": "bottleneck", "filters": 8, "strides": 2, "stride_on": "3x3"},
        (8, 8, 16),
        {},
        (4, 4, 32),
        1_552,
        0,
        29_696,
        ["shortcut", "conv1", "conv2", "conv3", "add", "relu"],
    ),
    # identity (32 in = 8*4 out) with batch norm: conv1 32*8+8 = 264 (64*8*32 = 16,384) + bn 16/16;
    # conv2 584 (64*8*72 = 36,864) + bn 16/16; conv3 288 (64*32*8 = 16,384) + bn 64/64
    # trainable 264+584+288+16+16+64 = 1,232; non-trainable 96; MACs 69,632
    case(
        "bottleneck-identity-bn",
        {"type": "bottleneck", "filters": 8},
        (8, 8, 32),
        BN,
        (8, 8, 32),
        1_232,
        96,
        69_632,
        ["conv1", "conv1_bn", "conv1_relu", "conv2", "conv2_bn", "conv2_relu", "conv3", "conv3_bn", "add", "relu"],
    ),
    # ResNeXt-style: width_factor 2 -> inner 16, groups 4, out 32 (projection, 16 != 32):
    # shortcut 544 (64*32*16 = 32,768); conv1 16*16+16 = 272 (64*16*16 = 16,384);
    # conv2 3*3*(16/4)*16+16 = 592 (64*16*36 = 36,864); conv3 16*32+32 = 544 (64*32*16 = 32,768)
    # params 544+272+592+544 = 1,952; MACs 118,784
    case(
        "bottleneck-groups-width",
        {"type": "bottleneck", "filters": 8, "width_factor": 2, "groups": 4},
        (8, 8, 16),
        {},
        (8, 8, 32),
        1_952,
        0,
        118_784,
        ["shortcut", "conv1", "conv2", "conv3", "add", "relu"],
    ),
    # expansion 2: out 16 = in -> identity; conv1 16*8+8 = 136 (8,192); conv2 584 (36,864); conv3 8*16+16 = 144 (8,192)
    case(
        "bottleneck-expansion-2",
        {"type": "bottleneck", "filters": 8, "expansion": 2},
        (8, 8, 16),
        {},
        (8, 8, 16),
        864,
        0,
        53_248,
        ["conv1", "conv2", "conv3", "add", "relu"],
    ),
    # preact: preact bn 64/64; conv1 264 + bn 16/16; conv2 584 + bn 16/16; conv3 288 (no bn); no relu after add
    # trainable 64+264+16+584+16+288 = 1,232; non-trainable 64+16+16 = 96; MACs 69,632
    case(
        "bottleneck-preact",
        {"type": "bottleneck", "filters": 8, "preact": True},
        (8, 8, 32),
        BN,
        (8, 8, 32),
        1_232,
        96,
        69_632,
        [
            "preact_bn",
            "preact_relu",
            "conv1",
            "conv1_bn",
            "conv1_relu",
            "conv2",
            "conv2_bn",
            "conv2_relu",
            "conv3",
            "add",
        ],
    ),
    # se 0.25 on the 32 output channels: reduced 8; reduce 32*8+8 = 264 (MACs 256), expand 8*32+32 = 288 (MACs 256)
    # params 264+584+288 + 264+288 = 1,688; MACs 69,632+512 = 70,144
    case(
        "bottleneck-se",
        {"type": "bottleneck", "filters": 8, "se_ratio": 0.25},
        (8, 8, 32),
        {},
        (8, 8, 32),
        1_688,
        0,
        70_144,
        ["conv1", "conv2", "conv3", "se_squeeze", "se_reduce", "se_expand", "se_scale", "add", "relu"],
    ),
    # explicit padding on the 3x3: conv2_pad 8 -> 10, conv2 3x3 valid -> 8; shortcut 544 (32,768); conv1 136 (8,192);
    # conv2 584 (36,864); conv3 288 (64*32*8 = 16,384); params 1,552; MACs 94,208
    case(
        "bottleneck-explicit-padding",
        {"type": "bottleneck", "filters": 8, "padding": 1},
        (8, 8, 16),
        {},
        (8, 8, 32),
        1_552,
        0,
        94_208,
        ["shortcut", "conv1", "conv2_pad", "conv2", "conv3", "add", "relu"],
    ),
    # -- depthwise ---------------------------------------------------------------------------------
    # depthwise 3x3 16: 9*16+16 = 160 (64*16*9 = 9,216); pointwise 16*32+32 = 544 (64*32*16 = 32,768)
    case(
        "depthwise",
        {"type": "depthwise", "filters": 32},
        (8, 8, 16),
        {},
        (8, 8, 32),
        704,
        0,
        41_984,
        ["depthwise", "pointwise"],
    ),
    # MobileNet style (bn, no bias, relu6): depthwise 144 + bn 32/32; pointwise 512 + bn 64/64
    # trainable 144+32+512+64 = 752; non-trainable 96
    case(
        "depthwise-mobilenet",
        {"type": "depthwise", "filters": 32},
        (8, 8, 16),
        MOBILE,
        (8, 8, 32),
        752,
        96,
        41_984,
        ["depthwise", "depthwise_bn", "depthwise_relu6", "pointwise", "pointwise_bn", "pointwise_relu6"],
    ),
    # stride 2, depth_multiplier 2, bn + bias: depthwise -> 4x4x32: 9*32+32 = 320 (4*4*32*9 = 4,608) + bn 64/64;
    # pointwise 32*32+32 = 1,056 (4*4*32*32 = 16,384) + bn 64/64; trainable 1,504; non-trainable 128; MACs 20,992
    case(
        "depthwise-s2-dm2",
        {"type": "depthwise", "filters": 32, "strides": 2, "depth_multiplier": 2},
        (8, 8, 16),
        BN,
        (4, 4, 32),
        1_504,
        128,
        20_992,
        ["depthwise", "depthwise_bn", "depthwise_relu", "pointwise", "pointwise_bn", "pointwise_relu"],
    ),
    # -- inverted residual -------------------------------------------------------------------------
    # expansion 6, stride 1, 16 -> 16: residual add. expand 16*96 = 1,536 (64*96*16 = 98,304) + bn 192/192;
    # depthwise 9*96 = 864 (64*96*9 = 55,296) + bn 192/192; project 96*16 = 1,536 (98,304) + bn 32/32
    # trainable 1,536+864+1,536+192+192+32 = 4,352; non-trainable 416; MACs 251,904
    case(
        "inverted-residual-e6-add",
        {"type": "inverted_residual", "filters": 16},
        (8, 8, 16),
        MOBILE,
        (8, 8, 16),
        4_352,
        416,
        251_904,
        [
            "expand",
            "expand_bn",
            "expand_relu6",
            "depthwise",
            "depthwise_bn",
            "depthwise_relu6",
            "project",
            "project_bn",
            "add",
        ],
    ),
    # stride 2: no add. expand at 8x8 (98,304); depthwise s2 -> 4x4: 4*4*96*9 = 13,824; project 4*4*16*96 = 24,576
    case(
        "inverted-residual-e6-s2",
        {"type": "inverted_residual", "filters": 16, "strides": 2},
        (8, 8, 16),
        MOBILE,
        (4, 4, 16),
        4_352,
        416,
        136_704,
        [
            "expand",
            "expand_bn",
            "expand_relu6",
            "depthwise",
            "depthwise_bn",
            "depthwise_relu6",
            "project",
            "project_bn",
        ],
    ),
    # expansion 1 (no expand conv), 16 -> 24 (no add): depthwise 144 (9,216) + bn 32/32; project 16*24 = 384
    # (64*24*16 = 24,576) + bn 48/48; trainable 608; non-trainable 80; MACs 33,792
    case(
        "inverted-residual-e1",
        {"type": "inverted_residual", "filters": 24, "expansion": 1},
        (8, 8, 16),
        MOBILE,
        (8, 8, 24),
        608,
        80,
        33_792,
        ["depthwise", "depthwise_bn", "depthwise_relu6", "project", "project_bn"],
    ),
    # se 0.25 of the *input* channels (EfficientNet): reduced int(16*0.25) = 4. No bn, biases:
    # expand 16*96+96 = 1,632 (98,304); depthwise 9*96+96 = 960 (55,296); se reduce 96*4+4 = 388 (384),
    # expand 4*96+96 = 480 (384); project 96*16+16 = 1,552 (98,304); params 5,012; MACs 252,672
    case(
        "inverted-residual-se",
        {"type": "inverted_residual", "filters": 16, "se_ratio": 0.25},
        (8, 8, 16),
        {},
        (8, 8, 16),
        5_012,
        0,
        252_672,
        ["expand", "depthwise", "se_squeeze", "se_reduce", "se_expand", "se_scale", "project", "add"],
    ),
    # -- squeeze-excite ----------------------------------------------------------------------------
    # ratio 0.25 on 16: reduce 16*4+4 = 68, expand 4*16+16 = 80 -> 148; MACs 64+64 = 128
    case(
        "squeeze-excite",
        {"type": "squeeze_excite"},
        (8, 8, 16),
        {},
        (8, 8, 16),
        148,
        0,
        128,
        ["squeeze", "reduce", "expand", "scale"],
    ),
    # ratio 0.01 on 16: max(1, int(0.16)) = 1; reduce 16+1 = 17, expand 16+16 = 32 -> 49; MACs 16+16 = 32
    case(
        "squeeze-excite-min-1",
        {"type": "squeeze_excite", "ratio": 0.01},
        (8, 8, 16),
        {},
        (8, 8, 16),
        49,
        0,
        32,
        ["squeeze", "reduce", "expand", "scale"],
    ),
    # -- DenseNet ----------------------------------------------------------------------------------
    # 2 layers, growth 4, bottleneck 4*4 = 16, bn, no bias. Layer 0 (16 in): preact bn 32/32; conv1 16*16 = 256
    # (64*16*16 = 16,384) + bn 32/32; conv2 3x3 16->4 = 576 (64*4*144 = 36,864); concat 20.
    # Layer 1 (20 in): preact bn 40/40; conv1 20*16 = 320 (64*16*20 = 20,480) + bn 32/32; conv2 576 (36,864); concat 24
    # trainable 32+256+32+576+40+320+32+576 = 1,864; non-trainable 32+32+40+32 = 136; MACs 110,592
    case(
        "dense-block-bottleneck",
        {"type": "dense_block", "num_layers": 2, "growth_rate": 4},
        (8, 8, 16),
        BN_NO_BIAS,
        (8, 8, 24),
        1_864,
        136,
        110_592,
        [
            f"layers_{i}_{s}"
            for i in (0, 1)
            for s in ("preact_bn", "preact_relu", "conv1", "conv1_bn", "conv1_relu", "conv2", "concat")
        ],
    ),
    # no bottleneck, no bn, biases: layer 0 conv2 9*16*4+4 = 580 (36,864); layer 1 conv2 9*20*4+4 = 724
    # (64*4*180 = 46,080); params 1,304; MACs 82,944
    case(
        "dense-block-plain",
        {"type": "dense_block", "num_layers": 2, "growth_rate": 4, "bottleneck_width": None},
        (8, 8, 16),
        {},
        (8, 8, 24),
        1_304,
        0,
        82_944,
        [f"layers_{i}_{s}" for i in (0, 1) for s in ("preact_relu", "conv2", "concat")],
    ),
    # transition 0.5 on 8x8x24, bn, no bias: preact bn 48/48; conv 1x1 24 -> 12: 288 (64*12*24 = 18,432); avg pool 2x2
    case(
        "transition",
        {"type": "transition"},
        (8, 8, 24),
        BN_NO_BIAS,
        (4, 4, 12),
        336,
        48,
        18_432,
        ["preact_bn", "preact_relu", "conv", "pool"],
    ),
    # reduction 0.3 on 16: int(4.8) = 4; conv 16*4+4 = 68 (64*4*16 = 4,096)
    case(
        "transition-floor",
        {"type": "transition", "reduction": 0.3},
        (8, 8, 16),
        {},
        (4, 4, 4),
        68,
        0,
        4_096,
        ["preact_relu", "conv", "pool"],
    ),
    # -- fire --------------------------------------------------------------------------------------
    # squeeze 16*4+4 = 68 (64*4*16 = 4,096); expand1x1 4*8+8 = 40 (64*8*4 = 2,048); expand3x3 9*4*8+8 = 296
    # (64*8*36 = 18,432); concat 8+8 = 16; params 404; MACs 24,576
    case(
        "fire",
        {"type": "fire", "squeeze": 4, "expand_1x1": 8, "expand_3x3": 8},
        (8, 8, 16),
        {},
        (8, 8, 16),
        404,
        0,
        24_576,
        ["squeeze", "expand1x1", "expand3x3", "concat"],
    ),
    # -- mlpconv -----------------------------------------------------------------------------------
    # 3x3 32: 4,640 (294,912); 1x1 32->16: 528 (64*16*32 = 32,768); 1x1 16->8: 136 (64*8*16 = 8,192)
    case(
        "mlpconv",
        {"type": "mlpconv", "filters": [32, 16, 8]},
        (8, 8, 16),
        {},
        (8, 8, 8),
        5_304,
        0,
        335_872,
        ["conv_0", "conv_1", "conv_2"],
    ),
    # 5x5 s2 valid on 9x9x3: (9-5)//2+1 = 3; 25*3*8+8 = 608 (3*3*8*75 = 5,400); 1x1 8->8: 72 (3*3*8*8 = 576)
    case(
        "mlpconv-strided-valid",
        {"type": "mlpconv", "filters": [8, 8], "kernel_size": 5, "strides": 2, "padding": "valid"},
        (9, 9, 3),
        {},
        (3, 3, 8),
        680,
        0,
        5_976,
        ["conv_0", "conv_1"],
    ),
    # explicit padding 2: 8 -> 12, 5x5 valid -> 8; 25*16*8+8 = 3,208 (64*8*400 = 204,800)
    case(
        "mlpconv-explicit-padding",
        {"type": "mlpconv", "filters": [8], "kernel_size": 5, "padding": 2},
        (8, 8, 16),
        {},
        (8, 8, 8),
        3_208,
        0,
        204_800,
        ["conv_0_pad", "conv_0"],
    ),
]


@pytest.mark.parametrize(
    ("block", "shape", "defaults", "out", "trainable", "non_trainable", "macs", "names"), BLOCK_CASES
)
def test_block(net, block, shape, defaults, out, trainable, non_trainable, macs, names):
    n = net(shape=shape, blocks=[block], defaults=defaults)
    analysis = n.analysis
    assert analysis.output_shape == out
    assert (analysis.trainable_params, analysis.non_trainable_params, analysis.macs) == (trainable, non_trainable, macs)
    assert sorted(n.names[1:]) == sorted(f"{P}_{name}" for name in names)
    assert all(layer.path.startswith("stages[0].blocks[0].") for layer in analysis.layers[1:])
    assert n.warnings == []


def test_sub_layer_paths_and_shapes(net):
    n = net(blocks=[{"type": "bottleneck", "filters": 8, "strides": 2}], defaults=BN)
    rows = {layer.name: (layer.path, layer.type, layer.output_shape) for layer in n.analysis.layers}
    assert rows[f"{P}_conv1"] == ("stages[0].blocks[0].conv1", "conv", (4, 4, 8))
    assert rows[f"{P}_conv1_bn"] == ("stages[0].blocks[0].conv1.bn", "batch_norm", (4, 4, 8))
    assert rows[f"{P}_conv1_relu"] == ("stages[0].blocks[0].conv1.relu", "relu", (4, 4, 8))
    assert rows[f"{P}_conv3_bn"] == ("stages[0].blocks[0].conv3.bn", "batch_norm", (4, 4, 32))
    assert rows[f"{P}_shortcut"] == ("stages[0].blocks[0].shortcut", "conv", (4, 4, 32))
    assert rows[f"{P}_add"] == ("stages[0].blocks[0].add", "add", (4, 4, 32))
    assert rows[f"{P}_relu"] == ("stages[0].blocks[0].relu", "relu", (4, 4, 32))


@pytest.mark.parametrize(
    ("block", "shape", "add_inputs"),
    [
        # identity: the block input and the last conv
        pytest.param({"type": "residual", "filters": 16}, (8, 8, 16), ("input", f"{P}_conv2"), id="residual-identity"),
        pytest.param(
            {"type": "residual", "filters": 32}, (8, 8, 16), (f"{P}_shortcut", f"{P}_conv2"), id="residual-projection"
        ),
        pytest.param(
            {"type": "residual", "filters": 16, "se_ratio": 0.5},
            (8, 8, 16),
            ("input", f"{P}_se_scale"),
            id="residual-se",
        ),
        pytest.param(
            {"type": "bottleneck", "filters": 8}, (8, 8, 16), (f"{P}_shortcut", f"{P}_conv3"), id="bottleneck"
        ),
        pytest.param(
            {"type": "inverted_residual", "filters": 16}, (8, 8, 16), (f"{P}_project", "input"), id="inverted-residual"
        ),
    ],
)
def test_residual_add_inputs(net, block, shape, add_inputs):
    assert net(shape=shape, blocks=[block])[f"{P}_add"].inputs == add_inputs


def test_preact_projection_reads_the_preactivation(net):
    # ResNet v2: the 1x1 projection takes BN-ReLU(x), the max-pool subsampling takes x
    n = net(blocks=[{"type": "residual", "filters": 32, "preact": True}], defaults=BN)
    assert n[f"{P}_shortcut"].inputs == (f"{P}_preact_relu",)
    assert n[f"{P}_conv1"].inputs == (f"{P}_preact_relu",)
    n = net(
        shape=(9, 9, 16),
        blocks=[{"type": "residual", "filters": 16, "preact": True, "strides": 2, "shortcut": "identity"}],
        defaults=BN,
    )
    assert (n[f"{P}_shortcut"].type, n[f"{P}_shortcut"].inputs) == ("max_pool", ("input",))


def test_squeeze_excite_shapes(net):
    n = net(blocks=[{"type": "squeeze_excite", "ratio": 0.25}])
    assert [(layer.name, layer.output_shape) for layer in n.analysis.layers[1:]] == [
        (f"{P}_squeeze", (1, 1, 16)),
        (f"{P}_reduce", (1, 1, 4)),
        (f"{P}_expand", (1, 1, 16)),
        (f"{P}_scale", (8, 8, 16)),
    ]
    assert n[f"{P}_scale"].inputs == ("input", f"{P}_expand")


def test_dense_block_concat_growth(net):
    n = net(blocks=[{"type": "dense_block", "num_layers": 3, "growth_rate": 5}])
    # 16 + 5, + 5, + 5
    assert [n[f"{P}_layers_{i}_concat"].output_shape for i in range(3)] == [(8, 8, 21), (8, 8, 26), (8, 8, 31)]
    assert n[f"{P}_layers_1_concat"].inputs == (f"{P}_layers_0_concat", f"{P}_layers_1_conv2")


def test_inception_concat_order(net):
    block = {
        "type": "inception",
        "filters_1x1": 8,
        "reduce_3x3": 4,
        "filters_3x3": 8,
        "reduce_5x5": 2,
        "filters_5x5": 4,
        "pool_proj": 4,
    }
    n = net(blocks=[block])
    assert n[f"{P}_concat"].inputs == (f"{P}_branch1x1", f"{P}_branch3x3", f"{P}_branch5x5", f"{P}_branch_pool_proj")
    assert n[f"{P}_branch_pool"].output_shape == (8, 8, 16)  # 3x3 s1 same max pool


def test_stage_strides_and_repeat(net):
    stage = {"block": {"type": "residual", "filters": 32}, "repeat": 2, "strides": 2}
    analysis = analyze({"name": "t", "input": {"shape": [8, 8, 16]}, "stages": [stage]})
    names = {layer.name for layer in analysis.layers}
    # the first block projects (stride 2, 16 -> 32); the second is an identity block
    assert "stages_0_blocks_0_shortcut" in names and "stages_0_blocks_1_shortcut" not in names
    blocks_1_add = next(layer for layer in analysis.layers if layer.name == "stages_0_blocks_1_add")
    assert blocks_1_add.inputs == ("stages_0_blocks_0_relu", "stages_0_blocks_1_conv2")
    # block 0: 544 + 4,640 + 9,248 = 14,432; block 1: 2*(9*32*32+32) = 18,496
    assert (analysis.output_shape, analysis.params) == ((4, 4, 32), 32_928)


def test_identity_shortcut_needs_equal_channels(net):
    with pytest.raises(BlueprintError) as caught:
        net(blocks=[{"type": "residual", "filters": 32, "shortcut": "identity"}])
    assert str(caught.value) == (
        "stages[0].blocks[0].shortcut: an identity shortcut needs the input channels (16) to equal the output "
        "channels (32); use shortcut: projection (or auto)"
    )


def test_strided_identity_shortcut_on_even_input_is_not_an_inexact_fit(net):
    # ResNet50V2's MaxPooling2D(1, strides=2) on 56x56 -> 28x28; here 8 -> 4
    n = net(blocks=[{"type": "residual", "filters": 16, "strides": 2, "shortcut": "identity"}], strict_fit=True)
    assert (n.analysis.output_shape, n.warnings) == ((4, 4, 16), [])


def test_bottleneck_explicit_padding_strided_is_an_exact_fit(net):
    # torchvision-style 3x3 s2 pad 1 on 8: padded 10, (10-3)//2+1 = 4 covers every input row
    n = net(blocks=[{"type": "bottleneck", "filters": 8, "strides": 2, "stride_on": "3x3", "padding": 1}])
    assert (n.analysis.output_shape, n.warnings) == ((4, 4, 32), [])


def test_block_activation_and_batch_norm_override_defaults(net):
    # batch_norm false on the block beats defaults.batch_norm true; gelu is fused into the convs
    n = net(blocks=[{"type": "residual", "filters": 16, "batch_norm": False, "activation": "gelu"}], defaults=BN)
    assert n.names[1:] == [f"{P}_conv1", f"{P}_conv2", f"{P}_add", f"{P}_gelu"]
    assert n.analysis.params == 4_640

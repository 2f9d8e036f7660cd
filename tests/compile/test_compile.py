"""The compiled Keras model equals the analyzer: every layer's output shape and parameter counts."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archbuilder
from archbuilder.analysis import LOWERINGS, RULES
from archbuilder.blueprint import BlueprintError, Defaults
from archbuilder.blueprint.blocks import Bottleneck, Residual
from archbuilder.blueprint.fields import ACTIVATIONS
from archbuilder.blueprint.kinds import ALL_KINDS, BLOCK_KINDS, LAYER_KINDS
from archbuilder.compile import BUILDERS, build_block, build_model

from .support import assert_matches_analysis, blueprint_with


def test_kinds_rules_and_builders_are_the_same_set() -> None:
    import archbuilder.analysis.blocks  # noqa: F401  (registers the lowerings)

    assert set(BUILDERS) == set(RULES) == LAYER_KINDS
    assert set(LOWERINGS) == BLOCK_KINDS
    assert LAYER_KINDS | BLOCK_KINDS == ALL_KINDS
    assert set(BUILDERS) | set(LOWERINGS) == ALL_KINDS


# Each layer kind in a small network: (id, stem layers, input shape).
LAYER_CASES = [
    ("conv", [{"type": "conv", "filters": 8, "kernel_size": 3}], [16, 16, 3]),
    (
        "conv_groups_dilation",
        [{"type": "conv", "filters": 8, "kernel_size": 3, "groups": 2, "dilation_rate": 2, "padding": "same"}],
        [16, 16, 4],
    ),
    (
        "conv_bn_act_int_padding",
        [
            {
                "type": "conv",
                "filters": 8,
                "kernel_size": [3, 5],
                "strides": 2,
                "padding": [1, 2],
                "batch_norm": True,
                "activation": "leaky_relu",
                "use_bias": "auto",
            }
        ],
        [17, 16, 3],
    ),
    (
        "depthwise_conv",
        [{"type": "depthwise_conv", "kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"}],
        [15, 15, 3],
    ),
    (
        "separable_conv",
        [{"type": "separable_conv", "filters": 8, "depth_multiplier": 2, "activation": "elu"}],
        [16, 16, 3],
    ),
    ("dense_on_map", [{"type": "dense", "units": 5}], [4, 4, 3]),
    (
        "pools",
        [
            {"type": "max_pool", "pool_size": 3, "strides": 2},
            {"type": "avg_pool", "padding": "same"},
            {"type": "max_pool", "pool_size": 2, "padding": 1},
        ],
        [17, 17, 3],
    ),
    ("global_pools", [{"type": "global_max_pool", "keepdims": True}, {"type": "global_avg_pool"}], [8, 8, 3]),
    ("activations", [{"type": t} for t in ACTIVATIONS], [4, 4, 3]),
    (
        "norms",
        [
            {"type": "batch_norm", "center": False},
            {"type": "layer_norm"},
            {"type": "lrn", "size": 3},
            {"type": "rescaling", "scale": 0.5, "offset": 1.0},
            {"type": "normalization", "mean": [1.0, 2.0, 3.0], "variance": 4.0},
        ],
        [6, 6, 3],
    ),
    (
        "dropouts_flatten",
        [
            {"type": "dropout", "rate": 0.1},
            {"type": "spatial_dropout", "rate": 0.2},
            {"type": "zero_padding", "padding": [[1, 2], [0, 3]]},
            {"type": "flatten"},
        ],
        [4, 4, 3],
    ),
    (
        "merges",
        [
            {"type": "conv", "filters": 4, "kernel_size": 1, "id": "a"},
            {"type": "conv", "filters": 4, "kernel_size": 3, "padding": "same", "id": "b"},
            {"type": "add", "inputs": ["a", "b"], "id": "s"},
            {"type": "global_avg_pool", "keepdims": True, "inputs": ["s"], "id": "g"},
            {"type": "multiply", "inputs": ["s", "g"], "id": "m"},
            {"type": "concatenate", "inputs": ["m", "a", "b"]},
        ],
        [8, 8, 3],
    ),
    (
        "broadcast_merges",
        [
            {"type": "conv", "filters": 4, "kernel_size": 1, "id": "a"},
            {"type": "global_avg_pool", "id": "v"},
            {"type": "multiply", "inputs": ["a", "v"], "id": "m"},
            {"type": "add", "inputs": ["v", "m"]},
        ],
        [8, 8, 3],
    ),
    (
        "reshape",
        [
            {"type": "global_avg_pool"},
            {"type": "reshape", "target_shape": [1, 1, -1]},
            {"type": "reshape", "target_shape": [3]},
            {"type": "reshape", "target_shape": [1, 3]},
        ],
        [8, 8, 3],
    ),
]

BLOCK_CASES = [
    (
        "inception",
        {
            "type": "inception",
            "filters_1x1": 8,
            "reduce_3x3": 4,
            "filters_3x3": 8,
            "reduce_5x5": 2,
            "filters_5x5": 4,
            "pool_proj": 4,
        },
    ),
    ("inception_naive", {"type": "inception", "naive": True, "filters_1x1": 8, "filters_3x3": 8, "filters_5x5": 4}),
    ("residual_identity", {"type": "residual", "filters": 6}),
    (
        "residual_projection_se_dropout",
        {"type": "residual", "filters": 12, "strides": 2, "se_ratio": 0.25, "dropout": 0.3},
    ),
    ("residual_preact", {"type": "residual", "filters": 12, "strides": 2, "preact": True}),
    (
        "residual_preact_subsample",
        {"type": "residual", "filters": 6, "strides": 2, "preact": True, "shortcut": "identity"},
    ),
    ("bottleneck", {"type": "bottleneck", "filters": 4}),
    ("residual_zero_pad_option_a", {"type": "residual", "filters": 12, "strides": 2, "shortcut": "zero_pad"}),
    ("residual_zero_pad_identity", {"type": "residual", "filters": 6, "shortcut": "zero_pad"}),
    ("residual_bottleneck_drop_path", {"type": "bottleneck", "filters": 4, "strides": 2, "drop_path": 0.3}),
    ("inverted_residual_drop_path", {"type": "inverted_residual", "filters": 6, "se_ratio": 0.25, "drop_path": 0.2}),
    (
        "bottleneck_v15_groups_width",
        {
            "type": "bottleneck",
            "filters": 8,
            "strides": 2,
            "stride_on": "3x3",
            "groups": 4,
            "width_factor": 2.0,
            "se_ratio": 0.0625,
        },
    ),
    (
        "bottleneck_preact_padding",
        {"type": "bottleneck", "filters": 4, "strides": 2, "stride_on": "3x3", "preact": True, "padding": 1},
    ),
    ("depthwise", {"type": "depthwise", "filters": 12, "strides": 2, "depth_multiplier": 2}),
    (
        "inverted_residual",
        {
            "type": "inverted_residual",
            "filters": 6,
            "expansion": 6,
            "se_ratio": 0.25,
            "kernel_size": 5,
            "activation": "swish",
        },
    ),
    ("inverted_residual_expansion1", {"type": "inverted_residual", "filters": 8, "expansion": 1, "strides": 2}),
    ("squeeze_excite", {"type": "squeeze_excite", "ratio": 0.5}),
    ("dense_block", {"type": "dense_block", "num_layers": 3, "growth_rate": 4}),
    ("dense_block_plain", {"type": "dense_block", "num_layers": 2, "growth_rate": 4, "bottleneck_width": None}),
    ("transition", {"type": "transition", "reduction": 0.5}),
    ("fire", {"type": "fire", "squeeze": 4, "expand_1x1": 8, "expand_3x3": 8}),
    ("mlpconv", {"type": "mlpconv", "filters": [8, 6, 4], "kernel_size": 5, "strides": 2}),
]


@pytest.mark.parametrize("case_id, stem, shape", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_kinds_match_the_analyzer(case_id: str, stem: list, shape: list) -> None:
    blueprint = blueprint_with(stem=stem, shape=shape, head=None)
    assert_matches_analysis(blueprint)


@pytest.mark.parametrize("case_id, block", BLOCK_CASES, ids=[c[0] for c in BLOCK_CASES])
@pytest.mark.parametrize("batch_norm", [True, False], ids=["bn", "no_bn"])
def test_block_templates_match_the_analyzer(case_id: str, block: dict, batch_norm: bool) -> None:
    blueprint = blueprint_with(
        stem=[{"type": "conv", "filters": 6, "kernel_size": 3, "padding": "same"}],
        stages=[{"block": block, "repeat": 2 if "strides" not in block else 1}],
        defaults={"batch_norm": batch_norm, "use_bias": "auto"},
        shape=[16, 16, 3],
    )
    model = assert_matches_analysis(blueprint)
    model.predict(np.zeros((1, 16, 16, 3), "float32"), verbose=0)


def test_aux_heads_make_named_outputs() -> None:
    blueprint = blueprint_with(
        stem=[
            {"type": "conv", "filters": 4, "kernel_size": 3, "id": "early"},
            {"type": "conv", "filters": 4, "kernel_size": 3},
        ],
        head={"classes": 3, "name": "main"},
        aux_heads=[{"name": "aux1", "at": "early", "pool": "flatten", "fc": [8], "classes": 3, "loss_weight": 0.3}],
        shape=[12, 12, 3],
    )
    model = assert_matches_analysis(blueprint)
    assert model.output_names == ["main", "aux1"]
    outputs = model.predict(np.zeros((2, 12, 12, 3), "float32"), verbose=0)
    assert [o.shape for o in outputs] == [(2, 3), (2, 3)]


def test_layer_names_come_from_blueprint_paths() -> None:
    blueprint = blueprint_with(
        stem=[{"type": "conv", "filters": 4, "kernel_size": 3}],
        stages=[{"block": {"type": "bottleneck", "filters": 2}, "repeat": 2}],
        shape=[8, 8, 3],
        defaults={"batch_norm": True},
    )
    names = [layer.name for layer in build_model(blueprint).layers]
    assert names[:4] == ["input", "stem_0", "stem_0_bn", "stem_0_relu"]
    assert "stages_0_blocks_1_conv2_bn" in names
    assert "stages_0_blocks_0_shortcut" in names and "stages_0_blocks_1_shortcut" not in names
    assert all("/" not in name for name in names) and len(set(names)) == len(names)


def test_defaults_apply_where_not_overridden() -> None:
    blueprint = blueprint_with(
        stem=[
            {"type": "conv", "filters": 4, "kernel_size": 3},
            {
                "type": "conv",
                "filters": 4,
                "kernel_size": 3,
                "activation": "tanh",
                "use_bias": True,
                "kernel_initializer": "zeros",
            },
        ],
        defaults={
            "activation": "relu6",
            "use_bias": False,
            "kernel_initializer": "he_normal",
            "kernel_regularizer": {"l2": 1e-4},
        },
        shape=[8, 8, 3],
        head=None,
    )
    model = build_model(blueprint)
    first, second = model.get_layer("stem_0"), model.get_layer("stem_1")
    assert first.activation is keras.activations.relu6 and not first.use_bias
    assert isinstance(first.kernel_initializer, keras.initializers.HeNormal)
    assert isinstance(
        first.kernel_regularizer, keras.regularizers.L1L2
    ) and first.kernel_regularizer.l2 == pytest.approx(1e-4)
    assert second.activation is keras.activations.tanh and second.use_bias
    assert isinstance(second.kernel_initializer, keras.initializers.Zeros)


@pytest.mark.parametrize(
    "stem, message",
    [
        (
            [
                {"type": "conv", "filters": 4, "kernel_size": 1, "id": "a"},
                {"type": "conv", "filters": 5, "kernel_size": 1, "id": "b"},
                {"type": "add", "inputs": ["a", "b"]},
            ],
            "stem[2]: cannot add shapes 8x8x4 and 8x8x5: they differ on axis 2 (4 vs 5)",
        ),
        (
            [{"type": "conv", "filters": 4, "kernel_size": 1}, {"type": "add", "inputs": ["a", "nothing"]}],
            "stem[1].inputs: 'a' is not the id of any layer, block or stage before this point (known ids: none yet)",
        ),
        (
            [{"type": "conv", "filters": 6, "kernel_size": 1, "groups": 4}],
            "stem[0]: filters must be evenly divisible by the number of groups. Received: groups=4, filters=6",
        ),
        (
            [{"type": "conv", "filters": 4, "kernel_size": 1, "groups": 2}],
            "stem[0]: the input channels must be evenly divisible by the number of groups. Received: groups=2, input "
            "channels=3",
        ),
        ([{"type": "convolution", "filters": 4}], "stem[0].type: unknown type 'convolution'. Did you mean 'conv'?"),
    ],
    ids=["merge_shapes", "missing_id", "groups_filters", "groups_channels", "unknown_kind"],
)
def test_bad_input_is_a_blueprint_error_naming_the_path(stem: list, message: str) -> None:
    blueprint = {"name": "bad", "input": {"shape": [8, 8, 3]}, "stem": stem}
    with pytest.raises(BlueprintError) as error:
        build_model(blueprint)
    assert message.replace("Value error, ", "") in str(error.value)


def test_build_block_in_hand_written_keras() -> None:
    inputs = keras.Input((8, 8, 16))
    x = build_block(Bottleneck(filters=4), inputs, name="res2a", defaults=Defaults(batch_norm=True))
    x = build_block(Residual(filters=16, strides=2), x, name="res3a")
    model = keras.Model(inputs, x)
    assert tuple(model.output.shape) == (None, 4, 4, 16)
    assert "res2a_conv1_bn" in [layer.name for layer in model.layers]


def test_python_api_construction_and_modification() -> None:
    from archbuilder.blueprint import Blueprint, Conv, Head, InputSpec, Stage

    blueprint = Blueprint(
        name="small_resnet",
        input=InputSpec(shape=(32, 32, 3)),
        defaults=Defaults(batch_norm=True),
        stem=[Conv(filters=16, kernel_size=3, padding="same")],
        stages=[Stage(block=Residual(filters=16), repeat=2), Stage(block=Residual(filters=32), repeat=2, strides=2)],
        head=Head(classes=10),
    )
    wider = blueprint.model_copy(update={"stages": [s.model_copy(update={"repeat": 3}) for s in blueprint.stages]})
    assert archbuilder.analyze(wider).params > archbuilder.analyze(blueprint).params
    assert_matches_analysis(wider)


def test_head_without_classifier_needs_class_channels() -> None:
    blueprint = blueprint_with(
        stem=[{"type": "conv", "filters": 4, "kernel_size": 1}],
        head={"classes": 10, "classifier": "none"},
        shape=[8, 8, 3],
    )
    with pytest.raises(BlueprintError) as error:
        build_model(blueprint)
    assert str(error.value) == (
        "head.classifier: with no classifier layer (classifier: none) the head needs features with `classes` (10) "
        "channels; the head receives 4. Make the last conv have 10 filters"
    )
    fitting = blueprint_with(
        stem=[{"type": "conv", "filters": 10, "kernel_size": 1}],
        head={"classes": 10, "classifier": "none"},
        shape=[8, 8, 3],
    )
    model = assert_matches_analysis(fitting)
    assert model.output_names == ["predictions"] and model.layers[-1].__class__.__name__ == "Activation"


def test_stochastic_depth_rises_over_the_residual_blocks_and_drops_whole_examples() -> None:
    blueprint = blueprint_with(
        stem=[{"type": "conv", "filters": 8, "kernel_size": 3, "padding": "same"}],
        stages=[
            {"block": {"type": "residual", "filters": 8}, "repeat": 2},
            {"block": {"type": "depthwise", "filters": 8}},
            {"block": {"type": "inverted_residual", "filters": 8, "drop_path": 0.5}},
            {"block": {"type": "bottleneck", "filters": 2}, "repeat": 2},
        ],
        defaults={"stochastic_depth": 0.4},
    )
    resolved = archbuilder.analyze(blueprint).blueprint
    per_block = [getattr(b, "drop_path", "-") for stage in resolved.stages for b in stage.blocks]
    assert per_block == [0.0, 0.08, "-", 0.5, 0.4 * 3 / 5, 0.4 * 4 / 5]  # i/n of 5 residual blocks; explicit wins
    model = assert_matches_analysis(blueprint)
    drop = model.get_layer("stages_0_blocks_1_drop")
    assert isinstance(drop, keras.layers.Dropout) and drop.rate == pytest.approx(0.08)
    assert "stages_0_blocks_0_drop" not in [layer.name for layer in model.layers]  # rate 0: no layer
    x = np.ones((400, 4, 4, 8), "float32")
    kept = np.asarray(model.get_layer("stages_2_blocks_0_drop")(x, training=True))
    per_example = kept.reshape(400, -1)
    assert set(np.unique(per_example)) <= {0.0, 2.0}  # dropped or scaled by 1 / (1 - 0.5), whole examples
    assert (per_example.min(axis=1) == per_example.max(axis=1)).all() and 0.35 < (per_example[:, 0] == 0).mean() < 0.65


def test_zero_pad_shortcut_is_option_a() -> None:
    """He et al.'s option A: the input subsampled by the stride, then as many zero channels."""
    blueprint = blueprint_with(
        stages=[{"block": {"type": "residual", "filters": 6, "strides": 2, "shortcut": "zero_pad", "id": "b"}}],
        shape=[8, 8, 3],
    )
    model = assert_matches_analysis(blueprint)
    shortcut = keras.Model(model.inputs, model.get_layer("stages_0_blocks_0_shortcut_pad").output)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    out = np.asarray(shortcut(x))
    np.testing.assert_array_equal(out[..., :3], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(out[..., 3:], 0.0)
    assert sum(layer.count_params() for layer in model.layers if "shortcut" in layer.name) == 0
    bad = blueprint_with(
        stages=[{"block": {"type": "residual", "filters": 9, "shortcut": "zero_pad"}}], shape=[8, 8, 3]
    )
    with pytest.raises(BlueprintError) as caught:
        archbuilder.analyze(bad)
    assert str(caught.value.problems[0]) == (
        "stages[0].blocks[0].shortcut: a zero_pad shortcut appends as many zero channels as the input has: it gives "
        "3 or 6 channels, and the block outputs 9; use shortcut: projection"
    )


def test_batch_norm_momentum_and_epsilon_from_defaults_reach_every_batch_norm() -> None:
    """defaults.batch_norm_momentum/epsilon set every BatchNormalization: blocks' own, stem and head layers
    (short search trials need a low momentum); a batch_norm layer's own value wins. Params stay Keras's."""
    blueprint = blueprint_with(
        stem=[
            {"type": "conv", "filters": 8, "kernel_size": 3, "padding": "same"},
            {"type": "batch_norm"},
            {"type": "batch_norm", "momentum": 0.5, "epsilon": 0.01},
        ],
        stages=[
            {"block": {"type": "residual", "filters": 8, "preact": True}},
            {"block": {"type": "bottleneck", "filters": 4, "se_ratio": 0.25}, "strides": 2},
            {
                "block": {
                    "type": "inception",
                    "filters_1x1": 4,
                    "reduce_3x3": 4,
                    "filters_3x3": 4,
                    "reduce_5x5": 2,
                    "filters_5x5": 2,
                    "pool_proj": 2,
                },
                "strides": 1,
            },
            {"blocks": [{"type": "depthwise", "filters": 8}, {"type": "inverted_residual", "filters": 8}]},
            {
                "blocks": [
                    {"type": "dense_block", "num_layers": 2, "growth_rate": 4},
                    {"type": "transition"},
                    {"type": "fire", "squeeze": 2, "expand_1x1": 4, "expand_3x3": 4},
                    {"type": "mlpconv", "filters": [8, 4]},
                ]
            },
        ],
        head={"layers": [{"type": "conv", "filters": 8, "kernel_size": 1}], "classes": 5},
        defaults={"batch_norm": True, "batch_norm_momentum": 0.8, "batch_norm_epsilon": 1e-5, "use_bias": "auto"},
    )
    model = assert_matches_analysis(blueprint)
    settings = {
        layer.name: (layer.momentum, layer.epsilon)
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    }
    assert settings.pop("stem_2") == (0.5, 0.01)
    blocks = {
        "residual": "stages_0",
        "bottleneck": "stages_1",
        "inception": "stages_2",
        "depthwise": "stages_3_blocks_0",
        "inverted_residual": "stages_3_blocks_1",
        "dense_block": "stages_4_blocks_0",
        "transition": "stages_4_blocks_1",
        "fire": "stages_4_blocks_2",
        "mlpconv": "stages_4_blocks_3",
        "head": "head_layers_0",
    }
    assert not [kind for kind, prefix in blocks.items() if not any(name.startswith(prefix) for name in settings)]
    assert settings and all(value == (pytest.approx(0.8), pytest.approx(1e-5)) for value in settings.values()), settings


# -- merges broadcast exactly as Keras's Merge layers ---------------------------------------------

BROADCAST_SHAPES = [
    ((32, 32, 16), (16,)),
    ((16,), (32, 32, 16)),
    ((32, 32, 16), (1, 1, 16)),
    ((1, 1, 16), (32, 32, 16)),
    ((32, 32, 16), (8,)),
    ((32, 32, 16), (32, 16)),
    ((32, 32, 16), (32, 1)),
    ((32, 32, 16), (16, 16)),
    ((8, 8, 16), (1, 16)),
    ((1, 16), (8, 8, 1)),
    ((8, 8, 16), (4, 4, 16)),
    ((8, 8, 16), (8, 8, 32)),
    ((8, 8, 1), (8, 8, 16)),
    ((16,), (1,)),
    ((16,), (8,)),
    ((8, 1, 16), (1, 8, 16)),
    ((1024,), (8, 8, 16)),
    ((8, 8, 16), (1, 16), (16,)),
    ((8, 8, 16), (8, 16), (4, 16)),
]


@pytest.mark.parametrize("kind", ["add", "multiply"])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=lambda shapes: "_".join("x".join(map(str, s)) for s in shapes))
def test_merge_broadcasting_accepts_and_rejects_what_keras_does(kind: str, shapes: tuple) -> None:
    from archbuilder.analysis.rules import GeometryError, Tensor
    from archbuilder.blueprint.kinds import KIND_BY_TAG

    layer = {"add": keras.layers.Add, "multiply": keras.layers.Multiply}[kind]()
    try:
        expected = tuple(layer.compute_output_shape([(None, *shape) for shape in shapes])[1:])
    except ValueError:
        expected = None
    spec = KIND_BY_TAG[kind].model_construct()
    try:
        found = RULES[kind](spec, [Tensor(shape) for shape in shapes], lambda loss: None).output.shape
    except GeometryError:
        found = None
    assert found == expected
    if expected is not None:  # and the layer runs on such tensors, with that output
        inputs = [keras.Input(shape) for shape in shapes]
        model = keras.Model(inputs, layer(inputs))
        outputs = model.predict([np.ones((2, *shape), "float32") for shape in shapes], verbose=0)
        assert outputs.shape[1:] == expected


# -- a squeeze-excite gate written by hand equals the squeeze_excite block -------------------------


def _se_by_hand(reshape: bool) -> dict:
    gate = [
        {"type": "global_avg_pool"},
        {"type": "dense", "units": 4, "activation": "relu"},
        {"type": "dense", "units": 16, "activation": "sigmoid", "id": "gate"},
    ]
    if reshape:
        gate.append({"type": "reshape", "target_shape": [1, 1, 16], "id": "gate_map"})
    return blueprint_with(
        stem=[
            {"type": "conv", "filters": 16, "kernel_size": 3, "padding": "same", "id": "x"},
            *gate,
            {"type": "multiply", "inputs": ["x", "gate_map" if reshape else "gate"]},
        ],
        shape=[8, 8, 3],
        head=None,
    )


@pytest.mark.parametrize("reshape", [True, False], ids=["reshape_1x1xC", "broadcast_vector"])
def test_squeeze_excite_by_hand_equals_the_block(reshape: bool) -> None:
    by_hand = _se_by_hand(reshape)
    block = blueprint_with(
        stem=[{"type": "conv", "filters": 16, "kernel_size": 3, "padding": "same"}],
        stages=[{"block": {"type": "squeeze_excite", "ratio": 0.25}}],
        shape=[8, 8, 3],
        head=None,
    )
    hand_model = assert_matches_analysis(by_hand)  # the analysis equals Keras: every output shape and param count
    block_model = assert_matches_analysis(block)
    hand, reference = archbuilder.analyze(by_hand), archbuilder.analyze(block)
    # conv 3*3*3*16+16 = 448; reduce 16*4+4 = 68; expand 4*16+16 = 80
    assert hand.params == reference.params == hand_model.count_params() == block_model.count_params() == 596
    assert hand.output_shape == reference.output_shape == (8, 8, 16)
    pairs = [("stem_0", "stem_0"), ("stem_2", "stages_0_blocks_0_reduce"), ("stem_3", "stages_0_blocks_0_expand")]
    for mine, theirs in pairs:  # the block's 1x1 convs hold the dense kernels as (1, 1, in, out)
        kernel, bias = block_model.get_layer(theirs).get_weights()
        hand_model.get_layer(mine).set_weights(
            [kernel.reshape(hand_model.get_layer(mine).get_weights()[0].shape), bias]
        )
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(
        hand_model.predict(images, verbose=0), block_model.predict(images, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_build_block_raises_the_first_problem() -> None:
    from archbuilder.blueprint.layers import Add

    with pytest.raises(BlueprintError) as caught:  # in hand-written Keras, the first problem stops the build
        build_block(Add(inputs=["a", "b"]), keras.Input((4, 4, 2)))
    assert [p.path for p in caught.value.problems] == ["block.inputs"]


def test_build_model_builds_the_analysis_it_is_given_without_analyzing_again(monkeypatch) -> None:
    import archbuilder.compile.model as compile_model

    analysis = archbuilder.analyze("lenet5")
    analyzed = []
    monkeypatch.setattr(compile_model, "analyze", lambda source: analyzed.append(source) or analysis)
    model = compile_model.build_model(analysis)
    assert analyzed == []
    assert model.count_params() == analysis.params and model.name == "lenet5"
    compile_model.build_model("lenet5")
    assert analyzed != []  # any other source is analyzed first

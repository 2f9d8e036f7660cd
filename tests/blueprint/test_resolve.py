"""resolve(): pattern and repeat expansion, strides placement, defaults, scaling, bounds and origins."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from pydantic import ValidationError

from archbuilder.blueprint import Blueprint, BlueprintError, load_blueprint, resolve
from archbuilder.blueprint.fields import make_divisible
from archbuilder.blueprint.layers import Kind, Regularizer
from archbuilder.blueprint.resolve import MAX_RESOLVED_ITEMS, resolve_with_origins

#: The module (``archbuilder.blueprint.resolve`` the attribute is the function of the same name).
RESOLVE_MODULE = importlib.import_module("archbuilder.blueprint.resolve")
HEADER = "name: net\ninput: {shape: [32, 32, 3]}\n"
TOO_MANY = (
    "the resolved network has more than {:,} layers and blocks; "
    "check the `repeat`, `convs` and `N` values (and scaling.depth_multiplier)"
)


def resolved(body: str) -> Blueprint:
    return load_blueprint(HEADER + body).resolve()


def resolve_problem(body: str) -> tuple[str, str]:
    """(path, message) of the single problem resolving ``body`` raises."""
    blueprint = load_blueprint(HEADER + body)
    with pytest.raises(BlueprintError) as info:
        blueprint.resolve()
    assert len(info.value.problems) == 1
    return info.value.problems[0].path, info.value.problems[0].message


def summary(blueprint: Blueprint) -> list[list[tuple[Any, ...]]]:
    """Per stage, (type, width, strides) of each block."""

    def width(block: Kind) -> Any:
        for name in ("filters", "units", "growth_rate", "squeeze", "filters_1x1"):
            if name in type(block).model_fields:
                return getattr(block, name)
        return None

    return [[(b.type, width(b), getattr(b, "strides", None)) for b in stage.blocks] for stage in blueprint.stages]


# --- the canonical form ----------------------------------------------------------------------------

CANONICAL_INPUTS = [
    pytest.param("pattern: {N: 2, M: 2, filters: {start: 8}, fc: 16, K: 1}\nhead: {classes: 3}\n", id="pattern"),
    pytest.param(
        "scaling: {width_multiplier: 2.0, depth_multiplier: 2.0, resolution: 40}\n"
        "stem: [{type: conv, filters: 8}]\n"
        "stages: [{block: {type: residual, filters: 8}, repeat: 2, strides: 2, id: s0}]\n"
        "head: {classes: 3}\naux_heads: [{at: s0, name: aux, classes: 3}]\n",
        id="stages-scaling-aux",
    ),
]


@pytest.mark.parametrize("body", CANONICAL_INPUTS)
def test_resolved_form_is_canonical(body: str) -> None:
    result = resolved(body)
    assert result.pattern is None and result.scaling is None
    for stage in result.stages:
        assert stage.block is None and stage.blocks
        assert (stage.repeat, stage.strides, stage.stride_block) == (1, None, "first")
    for head in [result.head, *result.aux_heads]:
        assert head is not None and head.pool is not None and head.fc_dropout is not None
    assert resolve(result) == result


def test_resolve_keeps_name_description_defaults_strict_fit_and_training() -> None:
    blueprint = load_blueprint(
        "name: kept\ndescription: text\ninput: {shape: [16, 16, 1]}\nstrict_fit: true\n"
        "defaults: {activation: gelu, dropout: 0.1}\nstem: [{type: conv, filters: 4}]\n"
        "training: {optimizer: {type: sgd, momentum: 0.9}, epochs: 3}\n"
    )
    result = blueprint.resolve()
    assert (result.name, result.description, result.strict_fit) == ("kept", "text", True)
    assert result.defaults == blueprint.defaults
    assert result.training is not None and result.training == blueprint.training


# --- the pattern form ------------------------------------------------------------------------------

PATTERN = """\
pattern:
  conv: {kernel_size: 3, padding: same}
  stages:
    - {filters: 8, convs: 2}
    - {filters: 16, convs: 1, pool: false}
    - {filters: 32, convs: 0}
  pool: {type: max_pool, pool_size: 2, strides: 2}
"""


def test_pattern_stages_expand_to_convs_and_pools() -> None:
    result = resolved(PATTERN)
    assert summary(result) == [
        [("conv", 8, 1), ("conv", 8, 1), ("max_pool", None, 2)],
        [("conv", 16, 1)],
        [("max_pool", None, 2)],
    ]
    conv = result.stages[0].blocks[0]
    assert (conv.kernel_size, conv.padding, conv.activation, conv.batch_norm) == (3, "same", "relu", False)
    assert result.head is None and result.stem == []


def test_pattern_without_pool() -> None:
    result = resolved("pattern: {N: 2, M: 2, filters: {start: 4}, pool: null}\n")
    assert summary(result) == [[("conv", 4, 1), ("conv", 4, 1)], [("conv", 8, 1), ("conv", 8, 1)]]


def test_pattern_default_pool_is_2x2_max_pool() -> None:
    pool = resolved("pattern: {N: 1, M: 1, filters: {start: 4}}\n").stages[0].blocks[-1]
    assert (pool.type, pool.pool_size, pool.strides) == ("max_pool", 2, 2)


def test_pattern_avg_pool() -> None:
    result = resolved("pattern: {N: 1, M: 2, filters: {start: 4}, pool: {type: avg_pool, pool_size: 3, strides: 2}}\n")
    assert [stage.blocks[-1].type for stage in result.stages] == ["avg_pool", "avg_pool"]
    assert result.stages[1].blocks[-1].pool_size == 3


@pytest.mark.parametrize(
    "N, M, progression, filters",
    [
        pytest.param(2, 4, "{start: 16}", [16, 32, 64, 128], id="doubling"),
        pytest.param(1, 5, "{start: 64, growth: 2, max: 256}", [64, 128, 256, 256, 256], id="capped"),
        pytest.param(3, 3, "{start: 32, growth: 1.5}", [32, 48, 72], id="growth-1.5"),
        pytest.param(1, 3, "{start: 100, growth: 0.5}", [100, 50, 25], id="shrinking"),
        pytest.param(2, 2, "{start: 8, growth: 1}", [8, 8], id="constant"),
        pytest.param(1, 3, "{start: 1, growth: 0.1}", [1, 1, 1], id="never-below-1"),
        pytest.param(1, 1, "{start: 24, max: 16}", [16], id="cap-below-start"),
    ],
)
def test_compact_pattern_filter_progression(N: int, M: int, progression: str, filters: list[int]) -> None:
    result = resolved(f"pattern: {{N: {N}, M: {M}, filters: {progression}, pool: null}}\n")
    assert [[block.filters for block in stage.blocks] for stage in result.stages] == [[f] * N for f in filters]


def test_compact_pattern_constant_filters_are_the_same_width_everywhere() -> None:
    result = resolved("pattern: {N: 2, M: 3, K: 2, fc: 64, filters: 32}\nhead: {classes: 10}\n")
    assert summary(result) == [[("conv", 32, 1), ("conv", 32, 1), ("max_pool", None, 2)]] * 3
    assert result.head is not None and result.head.fc == [64, 64]
    assert load_blueprint(HEADER + "pattern: {N: 2, M: 3, filters: 32}\n").to_dict()["pattern"]["filters"] == 32


def test_compact_pattern_every_stage_pools() -> None:
    result = resolved("pattern: {N: 1, M: 3, filters: {start: 4}}\n")
    assert summary(result) == [[("conv", f, 1), ("max_pool", None, 2)] for f in (4, 8, 16)]


def test_compact_pattern_with_no_convs_keeps_the_pools() -> None:
    assert summary(resolved("pattern: {N: 0, M: 2, filters: {start: 4}}\n")) == [[("max_pool", None, 2)]] * 2


@pytest.mark.parametrize(
    "pattern_fc, head, expected_fc",
    [
        pytest.param("fc: 64, K: 3", "{classes: 2}", [64, 64, 64], id="int-times-K"),
        pytest.param("fc: [32, 16]", "{classes: 2}", [32, 16], id="list"),
        pytest.param("fc: [32, 16], K: 2", "{classes: 2}", [32, 16], id="list-with-K"),
        pytest.param("fc: 64, K: 0", "{classes: 2}", [], id="K-0"),
        pytest.param("dropout: 0.0", "{classes: 2, fc: [8]}", [8], id="head-fc"),
        pytest.param("dropout: 0.5", "{classes: 2}", [], id="no-fc"),
    ],
)
def test_pattern_fc_moves_to_the_head(pattern_fc: str, head: str, expected_fc: list[int]) -> None:
    result = resolved(f"pattern: {{N: 1, M: 1, filters: {{start: 4}}, {pattern_fc}}}\nhead: {head}\n")
    assert result.head is not None and result.head.fc == expected_fc


@pytest.mark.parametrize(
    "pattern_dropout, defaults, fc_dropout",
    [
        pytest.param(", dropout: 0.5", "", 0.5, id="pattern-dropout"),
        pytest.param("", "defaults: {dropout: 0.2}\n", 0.2, id="defaults-dropout"),
        pytest.param("", "", 0.0, id="none"),
        pytest.param(", dropout: 0.0", "defaults: {dropout: 0.2}\n", 0.0, id="pattern-wins"),
    ],
)
def test_pattern_dropout_becomes_fc_dropout(pattern_dropout: str, defaults: str, fc_dropout: float) -> None:
    result = resolved(
        f"{defaults}pattern: {{N: 1, M: 1, filters: {{start: 4}}, fc: [8]{pattern_dropout}}}\nhead: {{classes: 2}}\n"
    )
    assert result.head is not None and result.head.fc_dropout == fc_dropout


def test_pattern_conv_template_fields_reach_every_conv() -> None:
    result = resolved(
        "defaults: {activation: swish, kernel_initializer: he_normal}\n"
        "pattern:\n  conv: {kernel_size: [5, 3], strides: 1, padding: valid, dilation_rate: 2, activation: tanh,"
        " batch_norm: true, use_bias: false}\n  N: 2\n  M: 2\n  filters: {start: 4}\n  pool: null\n"
    )
    for stage in result.stages:
        for conv in stage.blocks:
            assert (conv.kernel_size, conv.strides, conv.padding, conv.dilation_rate) == ((5, 3), 1, "valid", 2)
            assert (conv.activation, conv.batch_norm, conv.use_bias) == ("tanh", True, False)
            assert conv.kernel_initializer == "he_normal"


@pytest.mark.parametrize(
    "body, path, message, position",
    [
        pytest.param(
            "pattern: {stages: [{filters: 4}, {filters: 8, convs: 0, pool: false}]}\n",
            "pattern.stages[1]",
            "this stage has no convs and no pool; remove it or give it convs",
            (3, 34),
            id="empty-stage",
        ),
        pytest.param(
            "pattern: {stages: [{filters: 4, convs: 0}], pool: null}\n",
            "pattern.stages[0]",
            "this stage has no convs and no pool; remove it or give it convs",
            (3, 20),
            id="empty-stage-no-pool",
        ),
        pytest.param(
            "pattern: {N: 0, M: 2, filters: {start: 4}, pool: null}\n",
            "pattern.N",
            "N: 0 convs per stage and no pool (pool: null) leaves every stage empty; set N >= 1 or give a pool",
            (3, 14),
            id="empty-compact",
        ),
        pytest.param(
            "pattern: {N: 1, M: 1, filters: {start: 4}, fc: [8]}\n",
            "pattern.fc",
            "the pattern has FC layers but the blueprint has no `head`; add head: {classes: N}",
            (3, 48),
            id="fc-without-head",
        ),
    ],
)
def test_what_resolving_the_pattern_would_break_is_found_when_loading(
    body: str, path: str, message: str, position: tuple[int, int]
) -> None:
    with pytest.raises(BlueprintError) as info:
        load_blueprint(HEADER + body)
    (problem,) = info.value.problems
    assert (problem.path, problem.message, (problem.line, problem.column)) == (path, message, position)


# A blueprint changed without validation (model_copy) can still break a rule once resolved: the
# problem is a BlueprintError at the user's path, never a pydantic ValidationError.
UNCHECKED_CASES = [
    pytest.param(
        "pattern: {stages: [{filters: 4}]}\nhead: {classes: 2}\n",
        "pattern",
        {"stages": []},
        "pattern.stages",
        "the blueprint has no body: add `pattern`, `stem` and/or `stages`, or a `backbone`",
        id="pattern-without-stages",
    ),
    pytest.param(
        "pattern: {stages: [{filters: 4}]}\nhead: {classes: 2}\n",
        "head",
        {"classifier": "conv"},
        "head",
        "classifier: conv needs pool: global_avg or global_max and no `fc` layers (it is a 1x1 conv on the "
        "pooled 1x1 map). Received: pool='flatten', fc=[]",
        id="conv-classifier-on-a-flattened-head",
    ),
]


@pytest.mark.parametrize("body, field, update, path, message", UNCHECKED_CASES)
def test_revalidation_after_resolve_raises_a_blueprint_error(
    body: str, field: str, update: dict[str, Any], path: str, message: str
) -> None:
    blueprint = load_blueprint(HEADER + body)
    changed = blueprint.model_copy(update={field: getattr(blueprint, field).model_copy(update=update)})
    with pytest.raises(BlueprintError) as info:
        resolve(changed)
    (problem,) = info.value.problems
    assert (problem.path, problem.message) == (path, message)


@pytest.mark.parametrize(
    "conv",
    [
        pytest.param("{padding: -1}", id="negative-padding"),
        pytest.param("{strides: 2, dilation_rate: 2}", id="strides-and-dilation"),
    ],
)
def test_pattern_conv_template_is_validated(conv: str) -> None:
    with pytest.raises(BlueprintError) as info:
        load_blueprint(HEADER + f"pattern: {{conv: {conv}, N: 1, M: 1, filters: {{start: 4}}}}\n").resolve()
    assert info.value.problems[0].path.startswith("pattern.conv")


# --- defaults ----------------------------------------------------------------------------------------

CUSTOM = (
    "defaults: {activation: swish, batch_norm: true, use_bias: auto, kernel_initializer: he_normal,"
    " kernel_regularizer: {l2: 0.0001}, batch_norm_epsilon: 0.00001, batch_norm_momentum: 0.9, dropout: 0.3}\n"
)
L2 = Regularizer(l2=0.0001)
CONV_DEFAULTS = {
    "activation": "relu",
    "batch_norm": False,
    "use_bias": True,
    "kernel_initializer": "glorot_uniform",
    "kernel_regularizer": None,
}
CONV_CUSTOM = {
    "activation": "swish",
    "batch_norm": True,
    "use_bias": "auto",
    "kernel_initializer": "he_normal",
    "kernel_regularizer": L2,
}

DEFAULTS_CASES = [
    pytest.param("", "{type: conv, filters: 4}", CONV_DEFAULTS, id="conv-built-in-defaults"),
    pytest.param(CUSTOM, "{type: conv, filters: 4}", CONV_CUSTOM, id="conv-custom-defaults"),
    pytest.param(
        CUSTOM,
        "{type: conv, filters: 4, activation: linear, batch_norm: false, use_bias: true,"
        " kernel_initializer: zeros, kernel_regularizer: {l1: 0.5}}",
        {
            "activation": "linear",
            "batch_norm": False,
            "use_bias": True,
            "kernel_initializer": "zeros",
            "kernel_regularizer": Regularizer(l1=0.5),
        },
        id="conv-explicit-values-win",
    ),
    pytest.param(CUSTOM, "{type: dense, units: 4}", CONV_CUSTOM, id="dense"),
    pytest.param(CUSTOM, "{type: separable_conv, filters: 4}", CONV_CUSTOM, id="separable-conv"),
    pytest.param(CUSTOM, "{type: depthwise_conv}", CONV_CUSTOM, id="depthwise-conv"),
    pytest.param("", "{type: batch_norm}", {"epsilon": 1e-3, "momentum": 0.99}, id="batch-norm-built-in"),
    pytest.param(CUSTOM, "{type: batch_norm}", {"epsilon": 1e-5, "momentum": 0.9}, id="batch-norm-custom"),
    pytest.param(
        CUSTOM,
        "{type: batch_norm, epsilon: 0.01, momentum: 0.5}",
        {"epsilon": 0.01, "momentum": 0.5},
        id="batch-norm-explicit",
    ),
    pytest.param(CUSTOM, "{type: layer_norm}", {"epsilon": 1e-3}, id="layer-norm-not-from-batch-norm-epsilon"),
    pytest.param("", "{type: dropout}", {"rate": 0.0}, id="dropout-built-in"),
    pytest.param(CUSTOM, "{type: dropout}", {"rate": 0.3}, id="dropout-custom"),
    pytest.param(CUSTOM, "{type: dropout, rate: 0.1}", {"rate": 0.1}, id="dropout-explicit"),
    pytest.param(CUSTOM, "{type: spatial_dropout}", {"rate": 0.3}, id="spatial-dropout"),
    pytest.param(
        CUSTOM,
        "{type: residual, filters: 4}",
        {"activation": "swish", "batch_norm": True, "dropout": 0.0},
        id="residual-block",
    ),
    pytest.param(
        CUSTOM,
        "{type: bottleneck, filters: 4, activation: relu}",
        {"activation": "relu", "batch_norm": True},
        id="bottleneck-explicit-activation",
    ),
    pytest.param(
        CUSTOM,
        "{type: inverted_residual, filters: 4, batch_norm: false}",
        {"activation": "swish", "batch_norm": False},
        id="inverted-residual-explicit-batch-norm",
    ),
    pytest.param(CUSTOM, "{type: relu}", {"type": "relu"}, id="activation-layer-untouched"),
]


@pytest.mark.parametrize("defaults, item, expected", DEFAULTS_CASES)
def test_defaults_fill_unset_fields(defaults: str, item: str, expected: dict[str, Any]) -> None:
    result = resolved(
        f"{defaults}stem: [{item}]\nstages: [{{block: {item}}}]\n"
        f"head: {{classes: 2, layers: [{item}]}}\naux_heads: [{{at: x, name: aux, classes: 2, "
        f"layers: [{item}]}}]\n"
    )
    assert result.head is not None
    for found in (result.stem[0], result.stages[0].blocks[0], result.head.layers[0], result.aux_heads[0].layers[0]):
        assert {name: getattr(found, name) for name in expected} == expected


def test_block_kinds_take_no_conv_only_defaults() -> None:
    block = resolved(CUSTOM + "stages: [{block: {type: residual, filters: 4}}]\n").stages[0].blocks[0]
    assert not {"use_bias", "kernel_initializer", "kernel_regularizer"} & set(type(block).model_fields)


@pytest.mark.parametrize(
    "body, head, pool",
    [
        pytest.param("pattern: {N: 1, M: 1, filters: {start: 4}}\n", "{classes: 2}", "flatten", id="pattern-flatten"),
        pytest.param("stem: [{type: conv, filters: 4}]\n", "{classes: 2}", "global_avg", id="stem-global-avg"),
        pytest.param(
            "stages: [{block: {type: residual, filters: 4}}]\n", "{classes: 2}", "global_avg", id="stages-global-avg"
        ),
        pytest.param(
            "pattern: {N: 1, M: 1, filters: {start: 4}}\n",
            "{classes: 2, pool: global_max}",
            "global_max",
            id="pattern-explicit",
        ),
        pytest.param("stem: [{type: conv, filters: 4}]\n", "{classes: 2, pool: none}", "none", id="stem-explicit"),
    ],
)
def test_head_pool_default(body: str, head: str, pool: str) -> None:
    result = resolved(f"{body}head: {head}\naux_heads: [{{at: x, name: aux, classes: 2}}]\n")
    assert result.head is not None and result.head.pool == pool
    default = "flatten" if body.startswith("pattern") else "global_avg"
    assert result.aux_heads[0].pool == default


@pytest.mark.parametrize(
    "defaults, head, fc_dropout",
    [
        pytest.param("", "{classes: 2}", 0.0, id="built-in"),
        pytest.param("defaults: {dropout: 0.25}\n", "{classes: 2}", 0.25, id="from-defaults"),
        pytest.param("defaults: {dropout: 0.25}\n", "{classes: 2, fc_dropout: 0.5}", 0.5, id="explicit"),
        pytest.param("defaults: {dropout: 0.25}\n", "{classes: 2, fc_dropout: 0.0}", 0.0, id="explicit-zero"),
    ],
)
def test_head_fc_dropout_default(defaults: str, head: str, fc_dropout: float) -> None:
    result = resolved(
        f"{defaults}stem: [{{type: relu}}]\nhead: {head}\naux_heads: [{{at: x, name: aux, classes: 2}}]\n"
    )
    assert result.head is not None and result.head.fc_dropout == fc_dropout
    assert result.aux_heads[0].fc_dropout == (0.25 if defaults else 0.0)
    assert result.head.dropout == 0.0  # the pre-classifier dropout is not taken from defaults


# --- repeats and strides -----------------------------------------------------------------------------

R = "{type: residual, filters: 4}"

REPEAT_CASES = [
    pytest.param(f"{{block: {R}, repeat: 3}}", [("residual", 4, 1)] * 3, id="repeat"),
    pytest.param(
        f"{{block: {R}, repeat: 3, strides: 2}}",
        [("residual", 4, 2), ("residual", 4, 1), ("residual", 4, 1)],
        id="strides-on-first",
    ),
    pytest.param(
        f"{{block: {R}, repeat: 3, strides: 2, stride_block: last}}",
        [("residual", 4, 1), ("residual", 4, 1), ("residual", 4, 2)],
        id="strides-on-last",
    ),
    pytest.param(f"{{block: {R}, strides: [2, 1]}}", [("residual", 4, (2, 1))], id="strides-pair"),
    pytest.param(f"{{block: {R}, repeat: 2, strides: 1}}", [("residual", 4, 1)] * 2, id="strides-1"),
    pytest.param(
        "{blocks: [{type: conv, filters: 4}, {type: batch_norm}, {type: relu}], repeat: 2, strides: 2}",
        [
            ("conv", 4, 2),
            ("batch_norm", None, None),
            ("relu", None, None),
            ("conv", 4, 1),
            ("batch_norm", None, None),
            ("relu", None, None),
        ],
        id="blocks-repeated",
    ),
    pytest.param(
        "{blocks: [{type: relu}, {type: conv, filters: 4}], repeat: 2, strides: 2, stride_block: last}",
        [("relu", None, None), ("conv", 4, 1), ("relu", None, None), ("conv", 4, 2)],
        id="blocks-strides-on-last",
    ),
    pytest.param(
        "{block: {type: bottleneck, filters: 4, strides: 2}, repeat: 2}",
        [("bottleneck", 4, 2), ("bottleneck", 4, 2)],
        id="block-strides-repeat-with-it",
    ),
]


@pytest.mark.parametrize("stage, blocks", REPEAT_CASES)
def test_repeat_expansion_and_strides(stage: str, blocks: list[tuple[Any, ...]]) -> None:
    assert summary(resolved(f"stages: [{stage}]\n")) == [blocks]


def test_stage_id_is_kept() -> None:
    result = resolved(f"stages: [{{block: {R}, repeat: 2, id: stage1}}]\n")
    assert result.stages[0].id == "stage1"
    assert [block.id for block in result.stages[0].blocks] == [None, None]


def test_block_id_without_repeat_is_kept() -> None:
    assert resolved("stages: [{block: {type: conv, filters: 4, id: c}}]\n").stages[0].blocks[0].id == "c"


STRIDE_ERRORS = [
    pytest.param(
        "{block: {type: residual, filters: 4, strides: 2}, strides: 2}",
        "stages[0].block.strides",
        "strides are set twice: on the stage (strides=2) and on its block (strides=2); keep one",
        id="block-and-stage",
    ),
    pytest.param(
        "{block: {type: conv, filters: 4, strides: [2, 2]}, repeat: 3, strides: 2}",
        "stages[0].block.strides",
        "strides are set twice: on the stage (strides=2) and on its block (strides=(2, 2)); keep one",
        id="block-pair-and-stage",
    ),
    pytest.param(
        "{blocks: [{type: conv, filters: 4, strides: 2}, {type: relu}], strides: 2}",
        "stages[0].blocks[0].strides",
        "strides are set twice: on the stage (strides=2) and on its block (strides=2); keep one",
        id="blocks-first",
    ),
    pytest.param(
        "{blocks: [{type: relu}, {type: conv, filters: 4, strides: 2}], repeat: 2, strides: 2, stride_block: last}",
        "stages[0].blocks[1].strides",
        "strides are set twice: on the stage (strides=2) and on its block (strides=2); keep one",
        id="blocks-last-of-repeat",
    ),
    pytest.param(
        "{block: {type: relu}, strides: 2}",
        "stages[0].strides",
        "the stage's strides=2 cannot be applied: 'relu' takes no strides; start the stage with a block or "
        "layer that does (e.g. conv, bottleneck), or add a pooling layer",
        id="activation",
    ),
    pytest.param(
        "{block: {type: inception, naive: true, filters_1x1: 4, filters_3x3: 4, filters_5x5: 4}, strides: [2, 2]}",
        "stages[0].strides",
        "the stage's strides=(2, 2) cannot be applied: 'inception' takes no strides; start the stage with a "
        "block or layer that does (e.g. conv, bottleneck), or add a pooling layer",
        id="inception",
    ),
    pytest.param(
        "{blocks: [{type: conv, filters: 4}, {type: dense_block, num_layers: 2}], strides: 2, stride_block: last}",
        "stages[0].strides",
        "the stage's strides=2 cannot be applied: 'dense_block' takes no strides; start the stage with a "
        "block or layer that does (e.g. conv, bottleneck), or add a pooling layer",
        id="dense-block-last",
    ),
    pytest.param(
        "{block: {type: residual, filters: 4, strides: 2}, strides: 1}",
        "stages[0].block.strides",
        "strides are set twice: on the stage (strides=1) and on its block (strides=2); keep one",
        id="block-strided-stage-1",
    ),
]


STRIDE_ONE_BLOCKS = [
    pytest.param(
        "{type: inception, filters_1x1: 4, reduce_3x3: 4, filters_3x3: 4, reduce_5x5: 2, filters_5x5: 2, pool_proj: 2}",
        id="inception",
    ),
    pytest.param("{type: relu}", id="activation"),
    pytest.param("{type: dense_block, num_layers: 2}", id="dense-block"),
    pytest.param("{type: squeeze_excite}", id="squeeze-excite"),
    pytest.param("{type: conv, filters: 4, dilation_rate: 2}", id="dilated-conv"),
    pytest.param("{type: residual, filters: 4}", id="residual"),
    pytest.param("{type: conv, filters: 4, strides: [1, 1]}", id="conv-strides-pair"),
]


@pytest.mark.parametrize("strides", ["1", "[1, 1]"])
@pytest.mark.parametrize("block", STRIDE_ONE_BLOCKS)
def test_stage_strides_1_is_accepted_on_every_kind_and_changes_nothing(block: str, strides: str) -> None:
    """A stride of 1 downsamples nothing, so any kind takes it (a searched stride may pick 1 for any block)."""
    with_strides = resolved(f"stages: [{{block: {block}, repeat: 2, strides: {strides}}}]\n")
    without = resolved(f"stages: [{{block: {block}, repeat: 2}}]\n")
    assert with_strides == without


@pytest.mark.parametrize("stage, path, message", STRIDE_ERRORS)
def test_stage_strides_errors(stage: str, path: str, message: str) -> None:
    assert resolve_problem(f"stages: [{stage}]\n") == (path, message)


@pytest.mark.parametrize(
    "stage",
    [
        pytest.param("{block: {type: max_pool}, strides: 2}", id="block"),
        pytest.param("{blocks: [{type: avg_pool, pool_size: 3}, {type: conv, filters: 4}], strides: 2}", id="blocks"),
    ],
)
def test_stage_strides_on_a_pool(stage: str) -> None:
    assert resolved(f"stages: [{stage}]\n").stages[0].blocks[0].strides == 2


def test_stage_strides_on_a_dilated_conv_is_a_blueprint_error() -> None:
    blueprint = load_blueprint(HEADER + "stages: [{block: {type: conv, filters: 8, dilation_rate: 2}, strides: 2}]\n")
    with pytest.raises(BlueprintError) as info:
        blueprint.resolve()
    assert info.value.problems[0].path.startswith("stages[0]")


REPEATED_ID = "id 'a' would be repeated by `repeat`; ids must be unique. Put the id on the stage (its output) instead"


@pytest.mark.parametrize(
    "body, path",
    [
        pytest.param(
            "stages: [{block: {type: conv, filters: 4, id: a}, repeat: 2}]\n", "stages[0].block.id", id="block"
        ),
        pytest.param(
            "stages: [{blocks: [{type: relu}, {type: conv, filters: 4, id: a}], repeat: 2}]\n",
            "stages[0].blocks[1].id",
            id="blocks",
        ),
        pytest.param(
            "scaling: {depth_multiplier: 1.5}\nstages: [{block: {type: conv, filters: 4, id: a}}]\n",
            "stages[0].block.id",
            id="repeated-by-depth-multiplier",
        ),
    ],
)
def test_repeated_ids_are_an_error(body: str, path: str) -> None:
    assert resolve_problem(body) == (path, REPEATED_ID)


def test_repeated_id_in_a_one_item_blocks_list() -> None:
    assert resolve_problem("stages: [{blocks: [{type: conv, filters: 4, id: a}], repeat: 2}]\n") == (
        "stages[0].blocks[0].id",
        REPEATED_ID,
    )


# --- scaling -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, divisor, expected",
    [
        pytest.param(8, 8, 8, id="exact"),
        pytest.param(12, 8, 16, id="half-rounds-up"),
        pytest.param(15, 8, 16, id="nearest"),
        pytest.param(18, 8, 24, id="never-lose-more-than-10-percent"),
        pytest.param(19, 8, 24, id="19"),
        pytest.param(33.6, 8, 32, id="fraction"),
        pytest.param(100, 8, 104, id="100"),
        pytest.param(3, 8, 8, id="at-least-divisor"),
        pytest.param(0.5, 8, 8, id="tiny"),
        pytest.param(30, 4, 32, id="divisor-4"),
        pytest.param(6, 4, 8, id="divisor-4-small"),
    ],
)
def test_make_divisible(value: float, divisor: int, expected: int) -> None:
    assert make_divisible(value, divisor) == expected


def test_make_divisible_min_value() -> None:
    assert make_divisible(10, 8, min_value=32) == 32


WIDTH_CASES = [
    pytest.param(0.5, "{type: conv, filters: 64}", {"filters": 32}, id="conv-half"),
    pytest.param(0.5, "{type: conv, filters: 24}", {"filters": 16}, id="conv-rounds-to-8"),
    pytest.param(2.0, "{type: separable_conv, filters: 12}", {"filters": 24}, id="separable-conv"),
    pytest.param(1.5, "{type: residual, filters: 16}", {"filters": 24}, id="residual"),
    pytest.param(0.25, "{type: bottleneck, filters: 64}", {"filters": 16, "expansion": 4}, id="bottleneck"),
    pytest.param(
        1.25,
        "{type: inverted_residual, filters: 40, expansion: 6}",
        {"filters": 48, "expansion": 6},
        id="inverted-residual-expansion-unchanged",
    ),
    pytest.param(2.0, "{type: depthwise, filters: 32}", {"filters": 64}, id="depthwise"),
    pytest.param(
        1.5,
        "{type: inception, filters_1x1: 10, reduce_3x3: 12, filters_3x3: 20, reduce_5x5: 4,"
        " filters_5x5: 9, pool_proj: 6}",
        {"filters_1x1": 16, "reduce_3x3": 24, "filters_3x3": 32, "reduce_5x5": 8, "filters_5x5": 16, "pool_proj": 16},
        id="inception",
    ),
    pytest.param(
        2.0,
        "{type: inception, naive: true, filters_1x1: 8, filters_3x3: 16, filters_5x5: 4}",
        {"filters_1x1": 16, "filters_3x3": 32, "filters_5x5": 8, "reduce_3x3": None, "pool_proj": None},
        id="inception-naive",
    ),
    pytest.param(
        1.5,
        "{type: fire, squeeze: 16, expand_1x1: 64, expand_3x3: 64}",
        {"squeeze": 24, "expand_1x1": 96, "expand_3x3": 96},
        id="fire",
    ),
    pytest.param(1.5, "{type: mlpconv, filters: [96, 96, 10]}", {"filters": [144, 144, 16]}, id="mlpconv-list"),
    pytest.param(
        1.5,
        "{type: dense_block, num_layers: 6, growth_rate: 32}",
        {"growth_rate": 48, "num_layers": 6},
        id="dense-block-growth",
    ),
    pytest.param(2.0, "{type: dense, units: 10}", {"units": 10}, id="dense-unchanged"),
    pytest.param(
        2.0, "{type: depthwise_conv, depth_multiplier: 2}", {"depth_multiplier": 2}, id="depthwise-conv-unchanged"
    ),
    pytest.param(2.0, "{type: squeeze_excite, ratio: 0.25}", {"ratio": 0.25}, id="ratio-unchanged"),
]


@pytest.mark.parametrize("multiplier, item, expected", WIDTH_CASES)
def test_width_multiplier(multiplier: float, item: str, expected: dict[str, Any]) -> None:
    result = resolved(f"scaling: {{width_multiplier: {multiplier}}}\nstem: [{item}]\nstages: [{{block: {item}}}]\n")
    for found in (result.stem[0], result.stages[0].blocks[0]):
        assert {name: getattr(found, name) for name in expected} == expected


def test_width_multiplier_with_divisor() -> None:
    result = resolved("scaling: {width_multiplier: 1.25, divisor: 4}\nstem: [{type: conv, filters: 12}]\n")
    assert result.stem[0].filters == 16  # 15 -> nearest multiple of 4


def test_width_multiplier_scales_pattern_convs_not_the_head() -> None:
    result = resolved(
        "scaling: {width_multiplier: 2.0}\n"
        "pattern: {N: 1, M: 2, filters: {start: 8}, fc: [100], pool: null}\n"
        "head: {classes: 10, fc: []}\n"
    )
    assert summary(result) == [[("conv", 16, 1)], [("conv", 32, 1)]]
    assert result.head is not None and (result.head.fc, result.head.classes) == ([100], 10)


@pytest.mark.parametrize(
    "repeat, multiplier, count",
    [
        pytest.param(3, 1.5, 5, id="4.5-up"),
        pytest.param(1, 1.5, 2, id="1.5-up"),
        pytest.param(4, 0.5, 2, id="shrink"),
        pytest.param(3, 0.5, 2, id="1.5-up-when-shrinking"),
        pytest.param(1, 0.1, 1, id="never-0"),
        pytest.param(2, 1.0, 2, id="unchanged"),
        pytest.param(4, 2.0, 8, id="double"),
    ],
)
def test_depth_multiplier_rounds_repeats_up(repeat: int, multiplier: float, count: int) -> None:
    result = resolved(
        f"scaling: {{depth_multiplier: {multiplier}}}\nstages: [{{block: {R}, repeat: {repeat}, strides: 2}}]\n"
    )
    assert len(result.stages[0].blocks) == count
    assert [block.strides for block in result.stages[0].blocks] == [2] + [1] * (count - 1)


def test_depth_multiplier_scales_a_repeated_sequence() -> None:
    result = resolved(
        "scaling: {depth_multiplier: 2.0}\nstages: [{blocks: [{type: conv, filters: 4}, {type: relu}]}]\n"
    )
    assert [block.type for block in result.stages[0].blocks] == ["conv", "relu", "conv", "relu"]


def test_depth_multiplier_scales_pattern_convs() -> None:
    result = resolved("scaling: {depth_multiplier: 1.5}\npattern: {N: 2, M: 1, filters: {start: 4}}\n")
    assert [block.type for block in result.stages[0].blocks] == ["conv", "conv", "conv", "max_pool"]


def test_depth_multiplier_leaves_the_stem_alone() -> None:
    result = resolved("scaling: {depth_multiplier: 3.0}\nstem: [{type: conv, filters: 4}]\n")
    assert len(result.stem) == 1


@pytest.mark.parametrize(
    "scaling, shape",
    [
        pytest.param("{resolution: 48}", (48, 48, 3), id="resolution"),
        pytest.param("{width_multiplier: 2.0}", (32, 32, 3), id="no-resolution"),
    ],
)
def test_resolution_replaces_height_and_width(scaling: str, shape: tuple[int, int, int]) -> None:
    result = load_blueprint(f"name: n\ninput: {{shape: [32, 24, 3]}}\nscaling: {scaling}\nstem: [{{type: relu}}]\n")
    expected = shape if "resolution" in scaling else (32, 24, 3)
    assert result.resolve().input.shape == expected


def test_scaling_is_applied_once() -> None:
    result = resolved(
        "scaling: {width_multiplier: 2.0, depth_multiplier: 2.0, resolution: 64}\n"
        f"stages: [{{block: {R}, repeat: 2}}]\n"
    )
    assert result.scaling is None
    assert summary(result) == [[("residual", 8, 1)] * 4]
    assert result.input.shape == (64, 64, 3)
    assert resolve(result) == result


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("stem: [{type: conv, filters: 24, groups: 3}]\n", id="conv"),
        pytest.param("stages: [{block: {type: bottleneck, filters: 24, groups: 3}}]\n", id="bottleneck"),
    ],
)
def test_width_scaling_that_breaks_groups_is_a_blueprint_error(body: str) -> None:
    blueprint = load_blueprint(HEADER + "scaling: {width_multiplier: 0.5}\n" + body)
    with pytest.raises(BlueprintError):
        blueprint.resolve()


# --- bounds --------------------------------------------------------------------------------------------


def test_max_resolved_items_bound() -> None:
    sequence = ", ".join(["{type: relu}"] * 21)
    blueprint = load_blueprint(HEADER + f"stages: [{{blocks: [{sequence}], repeat: 1000}}]\n")
    with pytest.raises(BlueprintError) as info:
        blueprint.resolve()
    assert [(p.path, p.message) for p in info.value.problems] == [("stages", TOO_MANY.format(MAX_RESOLVED_ITEMS))]
    assert MAX_RESOLVED_ITEMS == 20_000


@pytest.mark.parametrize(
    "body, fits",
    [
        pytest.param("stages: [{block: {type: relu}, repeat: 10}]\n", True, id="at-the-bound"),
        pytest.param("stages: [{block: {type: relu}, repeat: 11}]\n", False, id="over"),
        pytest.param(
            "stages: [{block: {type: relu}, repeat: 6}, {block: {type: relu}, repeat: 5}]\n",
            False,
            id="over-across-stages",
        ),
        pytest.param(
            "scaling: {depth_multiplier: 2.0}\nstages: [{block: {type: relu}, repeat: 6}]\n",
            False,
            id="over-by-depth-multiplier",
        ),
        pytest.param(
            "stem: [{type: relu}, {type: relu}]\nstages: [{block: {type: relu}, repeat: 9}]\n", False, id="stem-counts"
        ),
        pytest.param("pattern: {N: 4, M: 2, filters: {start: 4}}\n", True, id="pattern-at-the-bound"),
        pytest.param("pattern: {N: 5, M: 2, filters: {start: 4}}\n", False, id="pattern-over"),
    ],
)
def test_max_resolved_items_counts_everything(monkeypatch: pytest.MonkeyPatch, body: str, fits: bool) -> None:
    monkeypatch.setattr(RESOLVE_MODULE, "MAX_RESOLVED_ITEMS", 10)
    blueprint = load_blueprint(HEADER + body)
    if fits:
        blueprint.resolve()
        return
    with pytest.raises(BlueprintError) as info:
        blueprint.resolve()
    assert [(p.path, p.message) for p in info.value.problems] == [("stages", TOO_MANY.format(10))]


@pytest.mark.parametrize(
    "body, count",
    [
        pytest.param("stages: [{blocks: [{type: relu}, {type: relu}], repeat: 600}]\n", 1200, id="blocks-repeat"),
        pytest.param("pattern: {N: 1000, M: 1, filters: {start: 4}}\n", 1001, id="pattern-N-1000"),
        pytest.param(
            "scaling: {depth_multiplier: 2.0}\nstages: [{block: {type: relu}, repeat: 1000}]\n",
            2000,
            id="depth-multiplier",
        ),
    ],
)
def test_large_stages_resolve_within_the_item_bound(body: str, count: int) -> None:
    try:
        result = load_blueprint(HEADER + body).resolve()
    except ValidationError as error:  # what happens today: a traceback for the user
        pytest.fail(f"raw ValidationError: {error.errors()[0]['msg']}")
    assert len(result.stages[0].blocks) == count


# --- origins -----------------------------------------------------------------------------------------

ORIGIN_CASES = [
    pytest.param(
        f"stages: [{{block: {R}}}, {{block: {R}, repeat: 4}}]\n",
        ("stages", 1, "blocks", 3),
        ("stages", 1, "block"),
        id="repeated-block",
    ),
    pytest.param(
        f"stages: [{{block: {R}, repeat: 4}}]\n",
        ("stages", 0, "blocks", 3, "filters"),
        ("stages", 0, "block", "filters"),
        id="field-of-repeated-block",
    ),
    pytest.param(
        "stages: [{blocks: [{type: conv, filters: 4}, {type: relu}], repeat: 3}]\n",
        ("stages", 0, "blocks", 5),
        ("stages", 0, "blocks", 1),
        id="repeated-sequence",
    ),
    pytest.param(
        "stages: [{blocks: [{type: conv, filters: 4}, {type: relu}], repeat: 3}]\n",
        ("stages", 0, "blocks", 4, "kernel_size"),
        ("stages", 0, "blocks", 0, "kernel_size"),
        id="field-in-repeated-sequence",
    ),
    pytest.param(
        "pattern: {stages: [{filters: 4, convs: 2}, {filters: 8, convs: 3}]}\n",
        ("stages", 1, "blocks", 3),
        ("pattern", "stages", 1),
        id="pattern-stage-pool",
    ),
    pytest.param(
        "pattern: {stages: [{filters: 4, convs: 2}, {filters: 8, convs: 3}]}\n",
        ("stages", 0, "blocks", 1, "filters"),
        ("pattern", "stages", 0, "filters"),
        id="pattern-conv-field",
    ),
    pytest.param(
        "pattern: {N: 2, M: 3, filters: {start: 4}}\n", ("stages", 2, "blocks", 1), ("pattern",), id="compact-pattern"
    ),
    pytest.param(
        "stem: [{type: conv, filters: 4}]\n", ("stem", 0, "filters"), ("stem", 0, "filters"), id="stem-unchanged"
    ),
    pytest.param(f"stages: [{{block: {R}}}]\n", ("head", "fc"), ("head", "fc"), id="head-unchanged"),
    pytest.param(f"stages: [{{block: {R}}}]\n", ("stages", 0), ("stages", 0), id="stage-itself"),
    pytest.param(f"stages: [{{block: {R}}}]\n", (), (), id="root"),
]


@pytest.mark.parametrize("body, location, origin", ORIGIN_CASES)
def test_origin_of(body: str, location: tuple[Any, ...], origin: tuple[Any, ...]) -> None:
    resolution = resolve_with_origins(load_blueprint(HEADER + body))
    assert resolution.origin_of(location) == origin


def test_resolve_with_origins_gives_the_resolved_blueprint() -> None:
    blueprint = load_blueprint(HEADER + f"stages: [{{block: {R}, repeat: 2}}]\n")
    resolution = resolve_with_origins(blueprint)
    assert resolution.blueprint == resolve(blueprint)
    assert set(resolution.origins) == {("stages", 0, "blocks", 0), ("stages", 0, "blocks", 1)}

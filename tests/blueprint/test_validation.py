"""Validation: every rule's exact message, user path and YAML position.

Each YAML snippet in the tables follows a two-line header (``name`` and ``input``), so its first
line is line 3 of the document. Positions are 1-based ``(line, column)``; for an unknown key the
position is the key's, for a bad value the value's, for a rule about a whole mapping the mapping's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from archbuilder.blueprint import Activation, Blueprint, Conv, Regularizer, Residual
from archbuilder.blueprint.errors import BlueprintError, Problem, did_you_mean, format_path
from archbuilder.blueprint.fields import ACTIVATIONS
from archbuilder.blueprint.io import load_blueprint, problem_from_error, user_location
from archbuilder.blueprint.kinds import ALL_KINDS
from archbuilder.blueprint.layers import Dropout
from archbuilder.blueprint.model import AuxHead, Defaults, Head, Pattern, PatternStage, Stage

KNOWN = "Known types: " + ", ".join(sorted(ALL_KINDS)) + "."


def keys(cls: type[BaseModel]) -> str:
    """The "Valid keys here" listing of a class: its fields, sorted (new fields must not break the tables)."""
    return ", ".join(sorted(cls.model_fields))


CONV_KEYS = keys(Conv)
ROOT_KEYS = keys(Blueprint)
STAGE_KEYS = keys(Stage)
HEAD_KEYS = keys(Head)
ID_PATTERN = "String should match pattern '^[A-Za-z_][A-Za-z0-9_]*$'"
GE1 = "must be >= 1. Received: {}"
LT1 = "must be < 1. Received: {}"
GE0 = "must be >= 0. Received: {}"
PAD_EXPECTED = "expected 'same', 'valid', an integer, or a pair [rows, columns] of integers >= 0. Received: {}"
PAIR_EXPECTED = "expected an integer or a pair [height, width] of integers. Received: {}"
DILATION = (
    "strides > 1 cannot be combined with dilation_rate > 1 (Keras rejects it). Received: strides={}, dilation_rate={}"
)
STAGE_BODY = "a stage needs exactly one of `block` (with `repeat`) or `blocks` (a list)"
NAIVE = "the naive inception module has no 1x1 reductions; remove {} or set naive: false"
REDUCED = "the dimension-reduced inception module needs {} (or set naive: true)"
INCEPTION = "type: inception, filters_1x1: 4, filters_3x3: 4, filters_5x5: 4"


def case(body: str, path: str, message: str, line: int, column: int, *, id: str) -> object:
    return pytest.param(body, path, message, (line, column), id=id)


# --- kinds and keys ------------------------------------------------------------------------------

KIND_AND_KEY_CASES = [
    case(
        "stages:\n  - block: {type: bottlenek, filters: 4}\n",
        "stages[0].block.type",
        f"unknown type 'bottlenek'. Did you mean 'bottleneck'? {KNOWN}",
        4,
        19,
        id="unknown-kind-did-you-mean",
    ),
    case(
        "stem: [{type: Conv, filters: 3}]\n",
        "stem[0].type",
        f"unknown type 'Conv'. Did you mean 'conv'? {KNOWN}",
        3,
        15,
        id="unknown-kind-wrong-case",
    ),
    case(
        "stem: [{type: maxpool}]\n",
        "stem[0].type",
        f"unknown type 'maxpool'. Did you mean 'max_pool'? {KNOWN}",
        3,
        15,
        id="unknown-kind-missing-underscore",
    ),
    case(
        "stem: [{type: transformer}]\n",
        "stem[0].type",
        f"unknown type 'transformer'. {KNOWN}",
        3,
        15,
        id="unknown-kind-no-close-match",
    ),
    case("stem: [{type: 3}]\n", "stem[0].type", f"unknown type '3'. {KNOWN}", 3, 15, id="unknown-kind-number"),
    case(
        "stages:\n  - blocks:\n      - {type: relu}\n      - {type: dropuot}\n",
        "stages[0].blocks[1].type",
        f"unknown type 'dropuot'. Did you mean 'dropout'? {KNOWN}",
        6,
        16,
        id="unknown-kind-in-blocks",
    ),
    case(
        "stem: [{type: relu}]\nhead: {classes: 2, layers: [{type: conv2d, filters: 8}]}\n",
        "head.layers[0].type",
        f"unknown type 'conv2d'. Did you mean 'conv'? {KNOWN}",
        4,
        36,
        id="unknown-kind-in-head-layers",
    ),
    case(
        "stem:\n  - {filters: 4}\n",
        "stem[0]",
        "missing `type`: say which kind this is (e.g. type: conv). See `archbuilder schema`.",
        4,
        5,
        id="missing-type",
    ),
    case(
        "stages:\n  - block: {filters: 4}\n",
        "stages[0].block",
        "missing `type`: say which kind this is (e.g. type: conv). See `archbuilder schema`.",
        4,
        12,
        id="missing-type-in-stage-block",
    ),
    case(
        "stem: [{type: conv, filters: 3, kernel: 3}]\n",
        "stem[0].kernel",
        f"unknown key 'kernel'. Did you mean 'kernel_size'? Valid keys here: {CONV_KEYS}.",
        3,
        33,
        id="unknown-key-did-you-mean",
    ),
    case(
        "stem: [{type: dropout, dropout: 0.5}]\n",
        "stem[0].dropout",
        f"unknown key 'dropout'. Valid keys here: {keys(Dropout)}.",
        3,
        24,
        id="unknown-key-dropout-rate",
    ),
    case(
        "stem: [{type: relu, foo: 1}]\n",
        "stem[0].foo",
        f"unknown key 'foo'. Valid keys here: {keys(Activation)}.",
        3,
        21,
        id="unknown-key-no-close-match",
    ),
    case(
        "stem: [{type: relu}]\ninputs: 1\n",
        "inputs",
        f"unknown key 'inputs'. Did you mean 'input'? Valid keys here: {ROOT_KEYS}.",
        4,
        1,
        id="unknown-key-root",
    ),
    case(
        "stages: [{block: {type: relu}, repeats: 2}]\n",
        "stages[0].repeats",
        f"unknown key 'repeats'. Did you mean 'repeat'? Valid keys here: {STAGE_KEYS}.",
        3,
        32,
        id="unknown-key-stage",
    ),
    case(
        "stem: [{type: relu}]\nhead: {classes: 2, num_classes: 10}\n",
        "head.num_classes",
        f"unknown key 'num_classes'. Did you mean 'classes'? Valid keys here: {HEAD_KEYS}.",
        4,
        20,
        id="unknown-key-head",
    ),
    case(
        "stem: [{type: relu}]\naux_heads: [{at: a, name: aux, classes: 2, weight: 1}]\n",
        "aux_heads[0].weight",
        f"unknown key 'weight'. Did you mean 'loss_weight'? Valid keys here: {keys(AuxHead)}.",
        4,
        44,
        id="unknown-key-aux-head",
    ),
    case(
        "defaults: {activations: relu}\nstem: [{type: relu}]\n",
        "defaults.activations",
        f"unknown key 'activations'. Did you mean 'activation'? Valid keys here: {keys(Defaults)}.",
        3,
        12,
        id="unknown-key-defaults",
    ),
    case(
        "pattern: {stages: [{filters: 8, conv: 2}]}\n",
        "pattern.stages[0].conv",
        f"unknown key 'conv'. Did you mean 'convs'? Valid keys here: {keys(PatternStage)}.",
        3,
        33,
        id="unknown-key-pattern-stage",
    ),
    case(
        "stem: [{type: conv, filters: 3, kernel_regularizer: {l3: 1}}]\n",
        "stem[0].kernel_regularizer.l3",
        f"unknown key 'l3'. Valid keys here: {keys(Regularizer)}.",
        3,
        54,
        id="unknown-key-regularizer",
    ),
    case(
        "stages:\n  - block: {type: residual, filters: 4, stride: 2}\n",
        "stages[0].block.stride",
        f"unknown key 'stride'. Did you mean 'strides'? Valid keys here: {keys(Residual)}.",
        4,
        41,
        id="unknown-key-in-block",
    ),
]

# --- missing keys --------------------------------------------------------------------------------

MISSING_CASES = [
    case("stem:\n  - {type: conv}\n", "stem[0].filters", "missing required key 'filters'", 4, 5, id="conv-filters"),
    case("stem: [{type: dense}]\n", "stem[0].units", "missing required key 'units'", 3, 8, id="dense-units"),
    case(
        "stages: [{block: {type: residual}}]\n",
        "stages[0].block.filters",
        "missing required key 'filters'",
        3,
        18,
        id="residual-filters",
    ),
    case(
        "stages: [{block: {type: inception, filters_1x1: 4, filters_5x5: 4, naive: true}}]\n",
        "stages[0].block.filters_3x3",
        "missing required key 'filters_3x3'",
        3,
        18,
        id="inception-width",
    ),
    case("stem: [{type: relu}]\nhead: {}\n", "head.classes", "missing required key 'classes'", 4, 7, id="head-classes"),
    case(
        "stem: [{type: relu}]\naux_heads: [{name: aux, classes: 2}]\n",
        "aux_heads[0].at",
        "missing required key 'at'",
        4,
        13,
        id="aux-head-at",
    ),
    case(
        "stem: [{type: relu}]\naux_heads: [{at: x, classes: 2}]\n",
        "aux_heads[0].name",
        "missing required key 'name'",
        4,
        13,
        id="aux-head-name",
    ),
    case(
        "pattern: {stages: [{convs: 2}]}\n",
        "pattern.stages[0].filters",
        "missing required key 'filters'",
        3,
        20,
        id="pattern-stage-filters",
    ),
    case(
        "pattern: {N: 1, M: 1, filters: {growth: 2}}\n",
        "pattern.filters.start",
        "missing required key 'start'",
        3,
        32,
        id="progression-start",
    ),
    case("stem: [{type: rescaling}]\n", "stem[0].scale", "missing required key 'scale'", 3, 8, id="rescaling-scale"),
]

# --- ranges and types ----------------------------------------------------------------------------

RANGE_CASES = [
    case("stem: [{type: conv, filters: 0}]\n", "stem[0].filters", GE1.format(0), 3, 30, id="conv-filters-0"),
    case("stem: [{type: conv, filters: -8}]\n", "stem[0].filters", GE1.format(-8), 3, 30, id="conv-filters-negative"),
    case(
        "stem: [{type: conv, filters: 1000001}]\n",
        "stem[0].filters",
        "must be <= 1000000. Received: 1000001",
        3,
        30,
        id="conv-filters-huge",
    ),
    case(
        "stem: [{type: conv, filters: 3.5}]\n",
        "stem[0].filters",
        "Input should be a valid integer, got a number with a fractional part",
        3,
        30,
        id="conv-filters-fraction",
    ),
    case("stem: [{type: dense, units: 0}]\n", "stem[0].units", GE1.format(0), 3, 29, id="dense-units-0"),
    case(
        "stages: [{block: {type: residual, filters: 0}}]\n",
        "stages[0].block.filters",
        GE1.format(0),
        3,
        44,
        id="block-filters-0",
    ),
    case(
        "stem: [{type: mlpconv, filters: [3, 0]}]\n",
        "stem[0].filters[1]",
        GE1.format(0),
        3,
        37,
        id="mlpconv-filters-item",
    ),
    case(
        "stem: [{type: mlpconv, filters: []}]\n",
        "stem[0].filters",
        "List should have at least 1 item after validation, not 0. Received: []",
        3,
        33,
        id="mlpconv-filters-empty",
    ),
    case("stem: [{type: dropout, rate: 1.0}]\n", "stem[0].rate", LT1.format(1.0), 3, 30, id="dropout-rate-1"),
    case("stem: [{type: dropout, rate: -0.1}]\n", "stem[0].rate", GE0.format(-0.1), 3, 30, id="dropout-rate-negative"),
    case(
        "stem: [{type: spatial_dropout, rate: 1}]\n", "stem[0].rate", LT1.format(1), 3, 38, id="spatial-dropout-rate-1"
    ),
    case(
        "stages: [{block: {type: residual, filters: 3, dropout: 1}}]\n",
        "stages[0].block.dropout",
        LT1.format(1),
        3,
        56,
        id="residual-dropout-1",
    ),
    case(
        "defaults: {dropout: 1.5}\nstem: [{type: relu}]\n",
        "defaults.dropout",
        LT1.format(1.5),
        3,
        21,
        id="defaults-dropout",
    ),
    case(
        "stem: [{type: relu}]\nhead: {classes: 2, fc_dropout: 1}\n",
        "head.fc_dropout",
        LT1.format(1),
        4,
        32,
        id="head-fc-dropout",
    ),
    case(
        "stem: [{type: relu}]\nhead: {classes: 2, dropout: -0.5}\n",
        "head.dropout",
        GE0.format(-0.5),
        4,
        29,
        id="head-dropout",
    ),
    case(
        "pattern: {N: 1, M: 1, filters: {start: 4}, dropout: 1.0}\n",
        "pattern.dropout",
        LT1.format(1.0),
        3,
        53,
        id="pattern-dropout",
    ),
    case("stem: [{type: relu}]\nhead: {classes: 0}\n", "head.classes", GE1.format(0), 4, 17, id="head-classes-0"),
    case("stages: [{block: {type: relu}, repeat: 0}]\n", "stages[0].repeat", GE1.format(0), 3, 40, id="repeat-0"),
    case(
        "stages: [{block: {type: relu}, repeat: 1001}]\n",
        "stages[0].repeat",
        "must be <= 1000. Received: 1001",
        3,
        40,
        id="repeat-1001",
    ),
    case(
        "stages: [{block: {type: relu}, repeat: 2.5}]\n",
        "stages[0].repeat",
        "Input should be a valid integer, got a number with a fractional part",
        3,
        40,
        id="repeat-fraction",
    ),
    case(
        "pattern: {N: 1001, M: 1, filters: {start: 4}}\n",
        "pattern.N",
        "must be <= 1000. Received: 1001",
        3,
        14,
        id="pattern-N-1001",
    ),
    case("pattern: {N: 1, M: 0, filters: {start: 4}}\n", "pattern.M", GE1.format(0), 3, 20, id="pattern-M-0"),
    case(
        "pattern: {stages: [{filters: 4, convs: -1}]}\n",
        "pattern.stages[0].convs",
        GE0.format(-1),
        3,
        40,
        id="pattern-convs-negative",
    ),
    case(
        "stem: [{type: batch_norm, momentum: 1.0}]\n",
        "stem[0].momentum",
        LT1.format(1.0),
        3,
        37,
        id="batch-norm-momentum",
    ),
    case(
        "stem: [{type: relu}]\nscaling: {width_multiplier: 0}\n",
        "scaling.width_multiplier",
        "must be > 0. Received: 0",
        4,
        29,
        id="width-multiplier-0",
    ),
    case(
        "stem: [{type: relu}]\nscaling: {depth_multiplier: 17}\n",
        "scaling.depth_multiplier",
        "must be <= 16. Received: 17",
        4,
        29,
        id="depth-multiplier-17",
    ),
    case(
        "stages: [{block: {type: squeeze_excite, ratio: 0}}]\n",
        "stages[0].block.ratio",
        "must be > 0. Received: 0",
        3,
        48,
        id="se-ratio-0",
    ),
    case("stem: [{type: lrn, size: 0}]\n", "stem[0].size", GE1.format(0), 3, 26, id="lrn-size-0"),
]

INPUT_CASES = [
    case(
        "name: 'my net'\ninput: {shape: [32, 32, 3]}\nstem: [{type: relu}]\n",
        "name",
        f"{ID_PATTERN}. Received: 'my net'",
        1,
        7,
        id="name-pattern",
    ),
    case(
        "name: net\ninput: {shape: [32, 0, 3]}\nstem: [{type: relu}]\n",
        "input.shape[1]",
        GE1.format(0),
        2,
        21,
        id="input-size-0",
    ),
    case(
        "input: {shape: [32, 32, 3]}\nstem: [{type: relu}]\n",
        "name",
        "missing required key 'name'",
        1,
        1,
        id="missing-name",
    ),
    case("name: net\nstem: [{type: relu}]\n", "input", "missing required key 'input'", 1, 1, id="missing-input"),
    case(
        "name: net\ninput: {shape: [32, 32, 3]}\nstem: {type: relu}\n",
        "stem",
        "Input should be a valid list. Received: {'type': 'relu'}",
        3,
        7,
        id="stem-not-a-list",
    ),
    case(
        "name: net\ninput: {shape: [32, 32, 3]}\nstem: [relu]\n",
        "stem[0]",
        "Input should be a valid dictionary or object to extract fields from. Received: 'relu'",
        3,
        8,
        id="kind-not-a-mapping",
    ),
    case(
        "- a\n- b\n",
        "<blueprint>",
        "a blueprint is a mapping with at least `name` and `input`. Received: list",
        1,
        1,
        id="root-not-a-mapping",
    ),
]

# --- spatial fields ------------------------------------------------------------------------------

SPATIAL_CASES = [
    case(
        "stem: [{type: conv, filters: 4, padding: -1}]\n",
        "stem[0].padding",
        "an integer padding must be >= 0. Received: -1",
        3,
        42,
        id="padding-negative",
    ),
    case(
        "stem: [{type: conv, filters: 4, padding: full}]\n",
        "stem[0].padding",
        PAD_EXPECTED.format("'full'"),
        3,
        42,
        id="padding-unknown-string",
    ),
    case(
        "stem: [{type: conv, filters: 4, padding: SAME}]\n",
        "stem[0].padding",
        PAD_EXPECTED.format("'SAME'"),
        3,
        42,
        id="padding-upper-case",
    ),
    case(
        "stem: [{type: conv, filters: 4, padding: [1, -1]}]\n",
        "stem[0].padding",
        PAD_EXPECTED.format("[1, -1]"),
        3,
        42,
        id="padding-pair-negative",
    ),
    case(
        "stem: [{type: conv, filters: 4, padding: [1, 2, 3]}]\n",
        "stem[0].padding",
        PAD_EXPECTED.format("[1, 2, 3]"),
        3,
        42,
        id="padding-triple",
    ),
    case(
        "stem: [{type: max_pool, padding: -2}]\n",
        "stem[0].padding",
        "an integer padding must be >= 0. Received: -2",
        3,
        34,
        id="pool-padding-negative",
    ),
    case(
        "stages: [{block: {type: bottleneck, filters: 4, padding: causal}}]\n",
        "stages[0].block.padding",
        PAD_EXPECTED.format("'causal'"),
        3,
        58,
        id="block-padding-string",
    ),
    case(
        "stem: [{type: zero_padding, padding: same}]\n",
        "stem[0].padding",
        "expected an integer, [rows, cols], or [[top, bottom], [left, right]] of integers >= 0. Received: 'same'",
        3,
        38,
        id="zero-padding-string",
    ),
    case(
        "stem: [{type: conv, filters: 4, kernel_size: [3, 3, 3]}]\n",
        "stem[0].kernel_size",
        PAIR_EXPECTED.format("[3, 3, 3]"),
        3,
        46,
        id="kernel-size-triple",
    ),
    case(
        "stem: [{type: conv, filters: 4, kernel_size: true}]\n",
        "stem[0].kernel_size",
        PAIR_EXPECTED.format("True"),
        3,
        46,
        id="kernel-size-bool",
    ),
    case(
        "stem: [{type: conv, filters: 4, kernel_size: 0}]\n",
        "stem[0].kernel_size",
        "must be >= 1. Received: 0",
        3,
        46,
        id="kernel-size-0",
    ),
    case(
        "stem: [{type: conv, filters: 4, kernel_size: [0, 3]}]\n",
        "stem[0].kernel_size",
        "both values must be >= 1. Received: [0, 3]",
        3,
        46,
        id="kernel-size-pair-0",
    ),
    case(
        "stem: [{type: conv, filters: 4, strides: [2, 2, 2]}]\n",
        "stem[0].strides",
        PAIR_EXPECTED.format("[2, 2, 2]"),
        3,
        42,
        id="strides-triple",
    ),
    case(
        "stages: [{block: {type: residual, filters: 3}, strides: 0}]\n",
        "stages[0].strides",
        "must be >= 1. Received: 0",
        3,
        57,
        id="stage-strides-0",
    ),
    case(
        "stem: [{type: max_pool, pool_size: 0}]\n",
        "stem[0].pool_size",
        "must be >= 1. Received: 0",
        3,
        36,
        id="pool-size-0",
    ),
    case(
        "stem: [{type: conv, filters: 4, strides: 2, dilation_rate: 2}]\n",
        "stem[0]",
        DILATION.format(2, 2),
        3,
        8,
        id="conv-strides-and-dilation",
    ),
    case(
        "stem: [{type: conv, filters: 4, strides: [2, 1], dilation_rate: [1, 2]}]\n",
        "stem[0]",
        DILATION.format((2, 1), (1, 2)),
        3,
        8,
        id="conv-strides-and-dilation-pairs",
    ),
    case(
        "stem: [{type: depthwise_conv, strides: 2, dilation_rate: 3}]\n",
        "stem[0]",
        DILATION.format(2, 3),
        3,
        8,
        id="depthwise-conv-strides-and-dilation",
    ),
    case(
        "stem: [{type: separable_conv, filters: 8, strides: 2, dilation_rate: 2}]\n",
        "stem[0]",
        DILATION.format(2, 2),
        3,
        8,
        id="separable-conv-strides-and-dilation",
    ),
]

# --- rules about a whole mapping -----------------------------------------------------------------

RULE_CASES = [
    case(
        "stem:\n  - {type: conv, filters: 6, groups: 4}\n",
        "stem[0]",
        "filters must be evenly divisible by the number of groups. Received: groups=4, filters=6",
        4,
        5,
        id="conv-groups-divide-filters",
    ),
    case(
        "stages:\n  - block: {type: bottleneck, filters: 6, groups: 4}\n",
        "stages[0].block",
        "the inner width must be evenly divisible by the number of groups. "
        "Received: groups=4, inner width=6 (filters=6 x width_factor=1.0)",
        4,
        12,
        id="bottleneck-groups-divide-inner-width",
    ),
    case(
        "stages: [{block: {type: bottleneck, filters: 6, width_factor: 1.5, groups: 4}}]\n",
        "stages[0].block",
        "the inner width must be evenly divisible by the number of groups. "
        "Received: groups=4, inner width=9 (filters=6 x width_factor=1.5)",
        3,
        18,
        id="bottleneck-groups-with-width-factor",
    ),
    case(
        f"stages: [{{block: {{{INCEPTION}}}}}]\n",
        "stages[0].block",
        REDUCED.format("reduce_3x3, reduce_5x5, pool_proj"),
        3,
        18,
        id="inception-reduced-needs-all",
    ),
    case(
        f"stages: [{{block: {{{INCEPTION}, reduce_3x3: 2, pool_proj: 2}}}}]\n",
        "stages[0].block",
        REDUCED.format("reduce_5x5"),
        3,
        18,
        id="inception-reduced-needs-one",
    ),
    case(
        f"stages: [{{block: {{{INCEPTION}, naive: true, pool_proj: 3}}}}]\n",
        "stages[0].block",
        NAIVE.format("pool_proj"),
        3,
        18,
        id="inception-naive-pool-proj",
    ),
    case(
        f"stages: [{{block: {{{INCEPTION}, naive: true, reduce_3x3: 1, reduce_5x5: 1, pool_proj: 1}}}}]\n",
        "stages[0].block",
        NAIVE.format("reduce_3x3, reduce_5x5, pool_proj"),
        3,
        18,
        id="inception-naive-all",
    ),
    case(
        "stem: [{type: add, inputs: [a]}]\n",
        "stem[0]",
        "'add' needs at least 2 inputs. Received: inputs=['a']",
        3,
        8,
        id="add-one-input",
    ),
    case(
        "stem: [{type: concatenate, inputs: []}]\n",
        "stem[0]",
        "`inputs` is empty; give the id(s) to read from, or leave `inputs` out to read the previous output",
        3,
        8,
        id="concatenate-no-inputs",
    ),
    case(
        "stem: [{type: add}]\n",
        "stem[0]",
        "'add' needs `inputs`: a list of at least two ids to merge",
        3,
        8,
        id="add-without-inputs",
    ),
    case(
        "stem: [{type: multiply}]\n",
        "stem[0]",
        "'multiply' needs `inputs`: a list of at least two ids to merge",
        3,
        8,
        id="multiply-without-inputs",
    ),
    case(
        "stem: [{type: conv, filters: 3, inputs: [a, b]}]\n",
        "stem[0]",
        "'conv' takes one input; merge several with add, concatenate or multiply. Received: inputs=['a', 'b']",
        3,
        8,
        id="conv-two-inputs",
    ),
    case(
        "stages: [{block: {type: residual, filters: 3, inputs: [a, b]}}]\n",
        "stages[0].block",
        "'residual' takes one input; merge several with add, concatenate or multiply. Received: inputs=['a', 'b']",
        3,
        18,
        id="block-two-inputs",
    ),
    case(
        "stem: [{type: lrn, size: 4}]\n",
        "stem[0]",
        "size must be odd (a window centred on each channel). Received: size=4",
        3,
        8,
        id="lrn-size-even",
    ),
    case(
        "stem: [{type: conv, filters: 3, id: 1abc}]\n",
        "stem[0].id",
        f"{ID_PATTERN}. Received: '1abc'",
        3,
        37,
        id="id-starts-with-digit",
    ),
    case(
        "stem: [{type: conv, filters: 3, id: a-b}]\n",
        "stem[0].id",
        f"{ID_PATTERN}. Received: 'a-b'",
        3,
        37,
        id="id-with-dash",
    ),
    case(
        f"stem: [{{type: relu, id: {'a' * 65}}}]\n",
        "stem[0].id",
        "must have at most 64 characters. Received: '" + "a" * 65 + "'",
        3,
        25,
        id="id-too-long",
    ),
    case(
        "stem: [{type: multiply, inputs: [a, '1b']}]\n",
        "stem[0].inputs[1]",
        f"{ID_PATTERN}. Received: '1b'",
        3,
        37,
        id="inputs-item-pattern",
    ),
    case(
        "stem: [{type: relu}]\nhead: {classes: 2, name: 'bad name'}\n",
        "head.name",
        f"{ID_PATTERN}. Received: 'bad name'",
        4,
        26,
        id="head-name-pattern",
    ),
    case(
        "stages: [{block: {type: conv, filters: 3}, blocks: [{type: relu}]}]\n",
        "stages[0]",
        STAGE_BODY,
        3,
        10,
        id="stage-block-and-blocks",
    ),
    case("stages:\n  - {repeat: 2}\n", "stages[0]", STAGE_BODY, 4, 5, id="stage-no-block"),
    case(
        "stages:\n  - {blocks: []}\n",
        "stages[0]",
        "`blocks` is empty; list at least one block or layer",
        4,
        5,
        id="stage-blocks-empty",
    ),
    case(
        "stem: [{type: relu}]\nhead: {classes: 3}\naux_heads: [{at: x, name: predictions, classes: 2}]\n",
        "<blueprint>",
        "output name 'predictions' is used by head and aux_heads[0]; output names must be unique",
        1,
        1,
        id="aux-head-name-equals-head-name",
    ),
    case(
        "stem: [{type: relu}]\naux_heads: [{at: x, name: a, classes: 2}, {at: y, name: a, classes: 2}]\n",
        "<blueprint>",
        "output name 'a' is used by aux_heads[0] and aux_heads[1]; output names must be unique",
        1,
        1,
        id="aux-head-names-repeat",
    ),
    case(
        "stem: [{type: relu}]\nhead: {classes: 3, pool: avg}\n",
        "head.pool",
        "expected 'flatten', 'global_avg', 'global_max' or 'none'. Received: 'avg'.",
        4,
        26,
        id="head-pool",
    ),
    case(
        "stem: [{type: relu}]\nhead: {classes: 3, activation: relu}\n",
        "head.activation",
        "expected 'softmax', 'sigmoid' or 'linear'. Received: 'relu'.",
        4,
        32,
        id="head-activation",
    ),
    case(
        "defaults: {activation: rellu}\nstem: [{type: relu}]\n",
        "defaults.activation",
        f"expected {', '.join(map(repr, ACTIVATIONS[:-1]))} or {ACTIVATIONS[-1]!r}. Received: 'rellu'. "
        "Did you mean 'relu'?",
        3,
        24,
        id="activation-did-you-mean",
    ),
    case(
        "stages: [{block: {type: relu}, stride_block: middle}]\n",
        "stages[0].stride_block",
        "expected 'first' or 'last'. Received: 'middle'.",
        3,
        46,
        id="stride-block",
    ),
]

# --- the body: pattern form or stem/stages -------------------------------------------------------

BODY_CASES = [
    case(
        "description: only a name\n",
        "<blueprint>",
        "the blueprint has no body: add `pattern`, `stem` and/or `stages`, or a `backbone`",
        1,
        1,
        id="no-body",
    ),
    case(
        "stem: []\nstages: []\n",
        "<blueprint>",
        "the blueprint has no body: add `pattern`, `stem` and/or `stages`, or a `backbone`",
        1,
        1,
        id="empty-body",
    ),
    case(
        "stages:\n  - block: {type: conv, filters: 3}\npattern: {N: 1, M: 1, filters: {start: 4}}\n",
        "<blueprint>",
        "give either `pattern` or `stem`/`stages`, not both",
        1,
        1,
        id="pattern-and-stages",
    ),
    case(
        "stem: [{type: relu}]\npattern: {N: 1, M: 1, filters: {start: 4}}\n",
        "<blueprint>",
        "give either `pattern` or `stem`/`stages`, not both",
        1,
        1,
        id="pattern-and-stem",
    ),
    case(
        "pattern: {N: 1, M: 1, filters: {start: 4}, stages: [{filters: 3}]}\n",
        "pattern",
        "give either `stages` or the compact form (N, M, filters), not both; remove N, M, filters",
        3,
        10,
        id="pattern-stages-and-compact",
    ),
    case(
        "pattern: {N: 2, stages: [{filters: 3}]}\n",
        "pattern",
        "give either `stages` or the compact form (N, M, filters), not both; remove N",
        3,
        10,
        id="pattern-stages-and-N",
    ),
    case(
        "pattern: {N: 1}\n",
        "pattern",
        "the pattern needs `stages`, or the compact form with N, M and filters; missing M, filters",
        3,
        10,
        id="pattern-compact-incomplete",
    ),
    case(
        "pattern: {conv: {kernel_size: 3}}\n",
        "pattern",
        "the pattern needs `stages`, or the compact form with N, M and filters; missing N, M, filters",
        3,
        10,
        id="pattern-no-stages",
    ),
    case(
        "pattern: {N: 1, M: 1, filters: {start: 4}, fc: 10}\n",
        "pattern",
        "`fc` as a single number needs `K` (how many FC layers)",
        3,
        10,
        id="fc-int-needs-K",
    ),
    case(
        "pattern: {N: 1, M: 1, filters: {start: 4}, fc: [10, 10], K: 3}\n",
        "pattern",
        "`fc` lists 2 layers but K=3",
        3,
        10,
        id="fc-list-length-vs-K",
    ),
    case(  # K without fc would silently build no FC layer
        "pattern: {N: 2, M: 3, K: 2, filters: {start: 32}}\nhead: {classes: 10}\n",
        "pattern.K",
        "K=2 asks for 2 FC layers but the pattern has no `fc` to give their units; add fc: <units> (the same for "
        "each, e.g. fc: 128) or fc: [units, ...] (one per layer), or set K: 0",
        3,
        26,
        id="K-needs-fc",
    ),
    case(
        "pattern: {stages: [{filters: 8}], K: 1}\nhead: {classes: 10}\n",
        "pattern.K",
        "K=1 asks for 1 FC layer but the pattern has no `fc` to give their units; add fc: <units> (the same for "
        "each, e.g. fc: 128) or fc: [units, ...] (one per layer), or set K: 0",
        3,
        38,
        id="K-needs-fc-stages-form",
    ),
    case(
        "pattern: {N: 2, M: 3, filters: [32, 64, 128]}\n",
        "pattern.filters",
        "expected an integer (the filters of every stage, e.g. filters: 32) or a progression "
        "{start: 32, growth: 2, max: 256}. Received: [32, 64, 128]",
        3,
        32,
        id="filters-list",
    ),
    case(
        "pattern: {N: 2, M: 3, filters: 0}\n",
        "pattern.filters",
        "must be >= 1. Received: 0",
        3,
        32,
        id="filters-zero",
    ),
    case(
        "pattern: {N: 1, M: 1, filters: {start: 4}, fc: [4]}\nhead: {classes: 2, fc: [3]}\n",
        "<blueprint>",
        "FC layers are given twice: in pattern.fc and in head.fc; keep one",
        1,
        1,
        id="fc-twice",
    ),
]


@pytest.mark.parametrize(
    "body, path, message, position",
    KIND_AND_KEY_CASES + MISSING_CASES + RANGE_CASES + SPATIAL_CASES + RULE_CASES + BODY_CASES,
)
def test_one_problem(only_problem, header, body, path, message, position) -> None:
    problem = only_problem(header + body)
    assert (problem.path, problem.message) == (path, message)
    assert (problem.line, problem.column) == position
    assert problem.file == "<string>"
    assert problem.severity == "error"


@pytest.mark.parametrize("text, path, message, position", INPUT_CASES)
def test_top_level_problem(only_problem, text, path, message, position) -> None:
    problem = only_problem(text)
    assert (problem.path, problem.message, (problem.line, problem.column)) == (path, message, position)


@pytest.mark.parametrize(
    "shape, message",
    [
        pytest.param("[32, 32]", "expected 3 values [height, width, channels]. Received: [32, 32]", id="too-short"),
        pytest.param(
            "[32, 32, 3, 4]",
            "expected 3 values [height, width, channels]. Received: [32, 32, 3, 4]",
            id="too-long",
        ),
    ],
)
def test_input_shape_length(only_problem, shape: str, message: str) -> None:
    problem = only_problem(f"name: net\ninput: {{shape: {shape}}}\nstem: [{{type: relu}}]\n")
    assert (problem.path, problem.message, problem.line, problem.column) == ("input.shape", message, 2, 16)


# --- documents that are valid ---------------------------------------------------------------------

VALID_BODIES = [
    pytest.param("stem: [{type: conv, filters: 8, groups: 4}]\n", id="groups-divide-filters"),
    pytest.param("stem: [{type: conv, filters: 8, groups: 8}]\n", id="depthwise-by-groups"),
    pytest.param(
        "stages: [{block: {type: bottleneck, filters: 4, width_factor: 2, groups: 8}}]\n",
        id="bottleneck-groups-divide-inner-width",
    ),
    pytest.param("stem: [{type: conv, filters: 4, dilation_rate: 2}]\n", id="dilation-without-strides"),
    pytest.param(
        "stem: [{type: conv, filters: 4, strides: [1, 1], dilation_rate: [2, 2]}]\n",
        id="dilation-with-unit-stride-pair",
    ),
    pytest.param("stem: [{type: conv, filters: 4, padding: [1, 2]}]\n", id="padding-pair"),
    pytest.param("stem: [{type: conv, filters: 4, padding: 0}]\n", id="padding-zero"),
    pytest.param("stem: [{type: zero_padding, padding: [[1, 2], [3, 4]]}]\n", id="zero-padding-nested"),
    pytest.param("stem: [{type: lrn, size: 3}]\n", id="lrn-odd"),
    pytest.param(
        "stem: [{type: relu, id: a}, {type: relu, id: b}, {type: add, inputs: [a, b]}]\n", id="merge-two-inputs"
    ),
    pytest.param("stem: [{type: relu, id: a}, {type: conv, filters: 4, inputs: [a]}]\n", id="one-input"),
    pytest.param(f"stages: [{{block: {{{INCEPTION}, naive: true}}}}]\n", id="inception-naive"),
    pytest.param(
        f"stages: [{{block: {{{INCEPTION}, reduce_3x3: 2, reduce_5x5: 2, pool_proj: 2}}}}]\n", id="inception-reduced"
    ),
    pytest.param(
        "pattern: {N: 2, M: 3, filters: {start: 8}, fc: 16, K: 2}\nhead: {classes: 2}\n", id="compact-fc-int-with-K"
    ),
    pytest.param(
        "pattern: {N: 2, M: 3, filters: {start: 8}, fc: [16, 8], K: 2}\nhead: {classes: 2}\n",
        id="compact-fc-list-matching-K",
    ),
    pytest.param("pattern: {stages: [{filters: 8}], fc: [16, 8]}\nhead: {classes: 2}\n", id="fc-list-without-K"),
    pytest.param("pattern: {N: 2, M: 3, K: 0, filters: {start: 32}}\nhead: {classes: 2}\n", id="K-0-without-fc"),
    pytest.param("pattern: {N: 2, M: 3, filters: 32}\n", id="filters-constant"),
    pytest.param("stages: [{block: {type: relu}, repeat: 1000}]\n", id="repeat-1000"),
    pytest.param("stem: [{type: dropout, rate: 0}]\n", id="dropout-rate-0"),
    pytest.param("stem: [{type: dropout, rate: 0.999}]\n", id="dropout-rate-below-1"),
    pytest.param(
        "stem: [{type: relu}]\nhead: {classes: 2}\naux_heads: [{at: x, name: aux, classes: 2}]\n",
        id="distinct-output-names",
    ),
]


@pytest.mark.parametrize("body", VALID_BODIES)
def test_valid_document_loads(header, body) -> None:
    assert isinstance(load_blueprint(header + body), Blueprint)


# --- every problem at once ------------------------------------------------------------------------

MANY_PROBLEMS = """\
name: net
input: {shape: [32, 32, 3]}
stem:
  - {type: conv, filters: 0}
  - {type: bottlenek}
  - {type: dropout, dropout: 0.5}
stages:
  - {block: {type: residual, filters: 4}, repeat: 0}
  - block:
      type: conv
      filters: 6
      kernel_size: [3, 3, 3]
      paddin: same
head: {classes: 0}
"""


def test_all_problems_reported_at_once(problems_of) -> None:
    found = problems_of(MANY_PROBLEMS)
    assert sorted((p.path, p.line, p.column) for p in found) == [
        ("head.classes", 14, 17),
        ("stages[0].repeat", 8, 51),
        ("stages[1].block.kernel_size", 12, 20),
        ("stages[1].block.paddin", 13, 7),
        ("stem[0].filters", 4, 27),
        ("stem[1].type", 5, 12),
        ("stem[2].dropout", 6, 21),
    ]
    by_path = {p.path: p.message for p in found}
    assert by_path["stages[1].block.paddin"].startswith("unknown key 'paddin'. Did you mean 'padding'?")
    assert by_path["stem[1].type"].startswith("unknown type 'bottlenek'. Did you mean 'bottleneck'?")
    assert all(p.file == "<string>" for p in found)


def test_error_text_lists_every_problem_with_its_position(problems_of) -> None:
    text = "name: net\ninput: {shape: [32, 32, 3]}\nstem:\n  - {type: conv, filters: 0}\n  - {type: lrn, size: 2}\n"
    with pytest.raises(BlueprintError) as info:
        load_blueprint(text)
    assert str(info.value) == (
        "2 problems:\n"
        "  <string>:4:27: stem[0].filters: must be >= 1. Received: 0\n"
        "  <string>:5:5: stem[1]: size must be odd (a window centred on each channel). Received: size=2"
    )
    assert isinstance(info.value, ValueError)


def test_single_problem_text(problems_of) -> None:
    with pytest.raises(BlueprintError) as info:
        load_blueprint("name: net\ninput: {shape: [32, 32, 3]}\nstem: [{type: relu, foo: 1}]\n")
    assert str(info.value) == f"<string>:3:21: stem[0].foo: unknown key 'foo'. Valid keys here: {keys(Activation)}."


def test_repeated_identical_problems_are_reported_once(problems_of) -> None:
    found = problems_of({"name": "net", "input": {"shape": [8, 8, 1]}, "stem": [{"type": "relu", "x": 1}] * 2})
    assert [p.path for p in found] == ["stem[0].x", "stem[1].x"]


def test_misspelt_required_key_reports_both_sides(problems_of) -> None:
    found = problems_of("name: net\ninput: {shape: [32, 32, 3]}\nstages:\n  - block: {type: conv, filtres: 4}\n")
    assert [(p.path, p.line, p.column) for p in found] == [
        ("stages[0].block.filters", 4, 12),
        ("stages[0].block.filtres", 4, 25),
    ]
    assert found[0].message == "missing required key 'filters'"
    assert found[1].message == f"unknown key 'filtres'. Did you mean 'filters'? Valid keys here: {CONV_KEYS}."


# --- positions in block-style YAML ----------------------------------------------------------------

BLOCK_STYLE = """\
name: net
input:
  shape: [32, 32, 3]
stages:
  - block:
      type: residual
      filters: 16
    repeat: 2
  - block:
      type: conv
      filters: 0
      kernal_size: 3
    repeat: 2
  - block:
      type: conv
      filters: 8
      groups: 3
"""


def test_positions_in_block_style_yaml(problems_of) -> None:
    found = problems_of(BLOCK_STYLE)
    assert sorted((p.path, p.line, p.column) for p in found) == [
        ("stages[1].block.filters", 11, 16),  # the value
        ("stages[1].block.kernal_size", 12, 7),  # the key
        ("stages[2].block", 15, 7),  # the mapping the rule is about
    ]


def test_problem_from_a_dict_has_no_position(only_problem) -> None:
    problem = only_problem({"name": "net", "input": {"shape": [8, 8, 1]}, "stem": [{"type": "conv", "filters": 0}]})
    assert (problem.path, problem.file, problem.line, problem.column) == ("stem[0].filters", None, None, None)
    assert str(problem) == "stem[0].filters: must be >= 1. Received: 0"


def test_problem_from_a_file_names_the_file(tmp_path: Path, only_problem) -> None:
    path = tmp_path / "net.yaml"
    path.write_text("name: net\ninput: {shape: [8, 8, 1]}\nstem:\n  - {type: conv, filters: 0}\n")
    problem = only_problem(path)
    assert (problem.file, problem.line, problem.column) == (str(path), 4, 27)
    assert str(problem).startswith(f"{path}:4:27: stem[0].filters: ")
    problem = only_problem(str(path))
    assert problem.file == str(path)


def test_load_blueprint_passes_a_blueprint_through() -> None:
    blueprint = load_blueprint("name: net\ninput: {shape: [8, 8, 1]}\nstem: [{type: relu}]\n")
    assert load_blueprint(blueprint) is blueprint


# --- union tags never appear in paths -------------------------------------------------------------

TAGGED_PATHS = [
    pytest.param(
        "stages: [{block: {type: relu}}, {block: {type: conv, filters: 0}}]\n",
        "stages[1].block.filters",
        id="conv-in-stage-block",
    ),
    pytest.param(
        "stages: [{block: {type: relu}}, {block: {type: residual, filters: 0}}]\n",
        "stages[1].block.filters",
        id="residual-in-stage-block",
    ),
    pytest.param(
        "stages: [{block: {type: bottleneck, filters: 0}}]\n", "stages[0].block.filters", id="bottleneck-in-stage-block"
    ),
    pytest.param(
        "stages: [{block: {type: inverted_residual, filters: 0}}]\n", "stages[0].block.filters", id="inverted-residual"
    ),
    pytest.param("stages: [{block: {type: depthwise, filters: 0}}]\n", "stages[0].block.filters", id="depthwise"),
    pytest.param(
        "stages: [{blocks: [{type: relu}, {type: separable_conv, filters: 0}]}]\n",
        "stages[0].blocks[1].filters",
        id="separable-conv-in-blocks",
    ),
    pytest.param(
        "stages: [{block: {type: fire, squeeze: 0, expand_1x1: 4, expand_3x3: 4}}]\n",
        "stages[0].block.squeeze",
        id="fire",
    ),
    pytest.param(
        "stages: [{block: {type: residual, filters: 4, dropout: 2}}]\n",
        "stages[0].block.dropout",
        id="field-named-like-a-tag",
    ),
    pytest.param("stem: [{type: dropout, dropout: 0.5}]\n", "stem[0].dropout", id="key-named-like-its-own-tag"),
    pytest.param("stem: [{type: relu6, id: '9'}]\n", "stem[0].id", id="activation-with-several-tags"),
    pytest.param(
        "stem: [{type: conv, filters: 3, kernel_regularizer: {l2: -1}}]\n",
        "stem[0].kernel_regularizer.l2",
        id="optional-model",
    ),
    pytest.param(
        "stem: [{type: relu}]\nhead: {classes: 2, layers: [{type: conv, filters: 0}]}\n",
        "head.layers[0].filters",
        id="head-layers",
    ),
    pytest.param(
        "stem: [{type: relu}]\naux_heads: [{at: a, name: b, classes: 2, layers: [{type: dense, units: 0}]}]\n",
        "aux_heads[0].layers[0].units",
        id="aux-head-layers",
    ),
    pytest.param(
        "pattern: {N: 1, M: 1, filters: {start: 4}, pool: {type: avg_pool, pool_size: 0}}\n",
        "pattern.pool.pool_size",
        id="pattern-pool",
    ),
    pytest.param(
        "stem: [{type: relu}]\ntraining: {schedule: {type: step, factor: 2, step_epochs: 3}}\n",
        "training.schedule.factor",
        id="training-schedule",
    ),
]


@pytest.mark.parametrize("body, path", TAGGED_PATHS)
def test_union_tags_are_stripped_from_paths(only_problem, header, body, path) -> None:
    assert only_problem(header + body).path == path


NON_DISCRIMINATED_UNIONS = [
    pytest.param(
        "pattern: {N: 1, M: 1, filters: {start: 4}, fc: [0], K: 1}\nhead: {classes: 2}\n",
        "pattern.fc[0]",
        "must be >= 1. Received: 0",
        id="pattern-fc-list-item",
    ),
    pytest.param(
        "pattern: {N: 1, M: 1, filters: {start: 4}, fc: 0, K: 1}\nhead: {classes: 2}\n",
        "pattern.fc",
        "must be >= 1. Received: 0",
        id="pattern-fc-int",
    ),
    pytest.param(
        "pattern: {N: 1, M: 1, filters: {start: 4}, conv: {padding: full}}\n",
        "pattern.conv.padding",
        "expected 'same', 'valid', an integer, or a pair [rows, columns] of integers >= 0. Received: 'full'",
        id="pattern-conv-padding",
    ),
    pytest.param(
        "stem: [{type: conv, filters: 4, use_bias: maybe}]\n",
        "stem[0].use_bias",
        "expected 'auto'. Received: 'maybe'.",
        id="use-bias",
    ),
    pytest.param(
        "stem: [{type: relu}]\ndefaults: {use_bias: maybe}\n",
        "defaults.use_bias",
        "expected 'auto'. Received: 'maybe'.",
        id="defaults-use-bias",
    ),
    pytest.param(
        "stem: [{type: normalization, mean: x, variance: 1}]\n",
        "stem[0].mean",
        "expected float or list[float]. Received: 'x'",
        id="float-or-list",
    ),
]
UNION_LABELS = ("literal[", "list[", "constrained-", "int", "float", "bool")


@pytest.mark.parametrize("body, path, message", NON_DISCRIMINATED_UNIONS)
def test_plain_union_labels_are_stripped_from_paths(problems_of, header, body, path, message) -> None:
    found = problems_of(header + body)
    assert (path, message) in {(p.path, p.message) for p in found}
    for problem in found:
        assert path.startswith(problem.path)
        assert not any(label in problem.path.rsplit(".", 1)[-1] for label in UNION_LABELS), problem.path


@pytest.mark.parametrize("body, path, message", NON_DISCRIMINATED_UNIONS)
def test_plain_union_bad_value_gives_one_problem(problems_of, header, body, path, message) -> None:
    assert [p.path for p in problems_of(header + body)] == [path]


@pytest.mark.parametrize(
    "pool, message",
    [
        pytest.param(
            "global_avg_pool",
            "type 'global_avg_pool' is not allowed here; expected one of: avg_pool, max_pool.",
            id="known-kind-not-allowed",
        ),
        pytest.param(
            "maxpool",
            "unknown type 'maxpool'. Did you mean 'max_pool'? Known types: avg_pool, max_pool.",
            id="unknown-kind",
        ),
    ],
)
def test_kind_allowed_in_a_narrow_union(only_problem, header, pool: str, message: str) -> None:
    problem = only_problem(header + f"pattern: {{N: 1, M: 1, filters: {{start: 4}}, pool: {{type: {pool}}}}}\n")
    assert (problem.path, problem.message, problem.line, problem.column) == ("pattern.pool.type", message, 3, 57)


def test_unknown_key_in_a_non_kind_discriminated_union(only_problem, header) -> None:
    from archbuilder.blueprint.training import PlateauSchedule

    problem = only_problem(header + "stem: [{type: relu}]\ntraining: {schedule: {type: plateau, bogus: 1}}\n")
    assert (problem.path, problem.message) == (
        "training.schedule.bogus",
        f"unknown key 'bogus'. Valid keys here: {keys(PlateauSchedule)}.",
    )


USER_LOCATIONS = [
    pytest.param(("stages", 1, "block", "conv", "filters"), ("stages", 1, "block", "filters"), id="stage-block"),
    pytest.param(
        ("stages", 0, "blocks", 2, "residual", "dropout"),
        ("stages", 0, "blocks", 2, "dropout"),
        id="blocks-field-named-like-a-tag",
    ),
    pytest.param(("stem", 0, "dropout", "dropout"), ("stem", 0, "dropout"), id="tag-then-same-key"),
    pytest.param(("stem", 0, "dropout", "rate"), ("stem", 0, "rate"), id="dropout-rate"),
    pytest.param(("stem", 3, "relu6", "id"), ("stem", 3, "id"), id="multi-tag-class"),
    pytest.param(("head", "layers", 0, "dense", "units"), ("head", "layers", 0, "units"), id="head-layers"),
    pytest.param(("pattern", "pool", "max_pool", "strides"), ("pattern", "pool", "strides"), id="optional-union"),
    pytest.param(("pattern", "conv", "kernel_size"), ("pattern", "conv", "kernel_size"), id="field-named-like-a-tag"),
    pytest.param(
        ("defaults", "kernel_regularizer", "l2"), ("defaults", "kernel_regularizer", "l2"), id="optional-model"
    ),
    pytest.param(("name",), ("name",), id="root-field"),
    pytest.param((), (), id="root"),
]


@pytest.mark.parametrize("loc, expected", USER_LOCATIONS)
def test_user_location(loc, expected) -> None:
    assert user_location(loc, Blueprint)[0] == expected


@pytest.mark.parametrize(
    "loc, owner",
    [
        pytest.param(("stem", 0, "conv", "bogus"), Conv, id="kind"),
        pytest.param(("stages", 0, "block", "residual", "bogus"), Residual, id="block"),
        pytest.param(("stem", 0, "dropout", "dropout"), Dropout, id="dropout"),
        pytest.param(("head", "bogus"), Head, id="head"),
        pytest.param(("aux_heads", 0, "bogus"), AuxHead, id="aux-head"),
        pytest.param(("pattern", "bogus"), Pattern, id="pattern"),
        pytest.param(("bogus",), Blueprint, id="root"),
    ],
)
def test_user_location_owner_is_the_model_of_the_last_key(loc, owner) -> None:
    assert user_location(loc, Blueprint)[1] is owner


def test_problem_from_pydantic_error_dict() -> None:
    error = {"type": "extra_forbidden", "loc": ("stem", 0, "dropout", "dropout"), "msg": "Extra inputs", "input": 0.5}
    problem = problem_from_error(error, Blueprint)
    assert (problem.path, problem.message) == (
        "stem[0].dropout",
        f"unknown key 'dropout'. Valid keys here: {keys(Dropout)}.",
    )


# --- helpers of errors.py -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location, text",
    [
        pytest.param(("stages", 2, "blocks", 0, "conv"), "stages[2].blocks[0].conv", id="nested"),
        pytest.param(("stages", 2, "repeat"), "stages[2].repeat", id="index"),
        pytest.param(("head",), "head", id="one-key"),
        pytest.param((), "<blueprint>", id="root"),
    ],
)
def test_format_path(location, text) -> None:
    assert format_path(location) == text


@pytest.mark.parametrize(
    "word, candidates, suffix",
    [
        pytest.param("bottlenek", ["bottleneck", "residual"], " Did you mean 'bottleneck'?", id="close"),
        pytest.param("xyz", ["bottleneck", "residual"], "", id="nothing-close"),
        pytest.param("conv", [], "", id="no-candidates"),
    ],
)
def test_did_you_mean(word, candidates, suffix) -> None:
    assert did_you_mean(word, candidates) == suffix


@pytest.mark.parametrize(
    "problem, text",
    [
        pytest.param(Problem("bad", ("stem", 0)), "stem[0]: bad", id="no-file"),
        pytest.param(Problem("bad", ("stem", 0), file="a.yaml"), "a.yaml: stem[0]: bad", id="file-only"),
        pytest.param(
            Problem("bad", ("stem", 0), file="a.yaml", line=3), "a.yaml:3:1: stem[0]: bad", id="line-without-column"
        ),
        pytest.param(Problem("bad", (), file="a.yaml", line=3, column=7), "a.yaml:3:7: bad", id="root-in-a-file"),
        pytest.param(Problem("bad", ()), "<blueprint>: bad", id="root"),
        pytest.param(Problem("odd", ("stem",), severity="warning"), "warning: stem: odd", id="warning"),
    ],
)
def test_problem_text(problem, text) -> None:
    assert str(problem) == text


def test_problem_to_dict() -> None:
    problem = Problem("bad", ("stem", 0, "filters"), file="a.yaml", line=3, column=7)
    assert problem.to_dict() == {
        "severity": "error",
        "path": "stem[0].filters",
        "message": "bad",
        "file": "a.yaml",
        "line": 3,
        "column": 7,
    }


def test_error_text_counts_only_errors() -> None:
    error = BlueprintError([Problem("bad", ("a",)), Problem("odd", ("b",), severity="warning")])
    assert str(error) == "a: bad"


# --- YAML safety through load_blueprint -----------------------------------------------------------


def test_duplicate_keys_are_an_error(problems_of) -> None:
    found = problems_of("name: net\ninput: {shape: [8, 8, 1]}\nstem: [{type: relu}]\nname: other\n")
    assert [(p.path, p.message, p.line, p.column) for p in found] == [
        (
            "name",
            "duplicate key 'name' (first defined at line 1, column 1); a YAML mapping may define each key once",
            4,
            1,
        ),
    ]


def test_python_tags_are_rejected_without_running_them(tmp_path: Path, problems_of) -> None:
    marker = tmp_path / "ran"
    text = (
        "name: net\ninput: {shape: [8, 8, 1]}\nstem: [{type: relu}]\n"
        f"description: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    found = problems_of(text)
    assert [(p.path, p.line, p.column) for p in found] == [("description", 4, 14)]
    assert found[0].message.startswith("unsupported tag '!!python/object/apply:os.system'")
    assert not marker.exists()


def test_alias_bomb_is_rejected(problems_of) -> None:
    names = "abcdefghij"
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"{n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]" for p, n in zip(names, names[1:])]
    found = problems_of("\n".join(lines) + "\n")
    assert len(found) == 1
    assert found[0].message.startswith("the document expands to more than 200,000 values")


def test_invalid_yaml_has_a_position(problems_of) -> None:
    found = problems_of("name: net\ninput: {shape: [8, 8, 1]\nstem: []\n")
    assert len(found) == 1 and found[0].file == "<string>" and found[0].line is not None
    assert found[0].message.startswith("invalid YAML")

"""Values a fuzzing campaign found that once crashed archbuilder: each is now one user error, one line.

Each YAML snippet follows the two-line header (``name``, ``input``) of the conftest, so it starts on
line 3; every case asserts the whole line a user sees: ``<string>:line:column: path: message``.
"""

from __future__ import annotations

import math
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from archbuilder.blueprint import load_blueprint
from archbuilder.blueprint.fields import Spec

BOTTLENECK = "stages: [{block: {type: bottleneck, filters: 4, width_factor: 0.01}}]\n"


def line(problem: object) -> str:
    return str(problem)


# --- valid as written, invalid once resolved: rejected when loaded, at what the user wrote ------------

RESOLVED_FORM_CASES = [
    pytest.param(
        "pattern: {stages: []}\n",
        "<string>:3:19: pattern.stages: `stages` is empty; list at least one stage (e.g. {filters: 32, convs: 2}) "
        "or use the compact form (N, M, filters)",
        id="pattern-without-stages",
    ),
    pytest.param(
        "pattern: {stages: [{filters: 4}]}\nhead: {classes: 2, classifier: conv}\n",
        "<string>:4:32: head.classifier: classifier: conv needs pool: global_avg or global_max, and the pattern form "
        "flattens by default (pool: flatten); add pool: global_avg to this head (or use classifier: dense)",
        id="pattern-head-conv-classifier",
    ),
    pytest.param(
        "pattern: {stages: [{filters: 4}], fc: [8]}\nhead: {classes: 2, classifier: conv, pool: global_avg}\n",
        "<string>:4:32: head.classifier: classifier: conv takes no FC layers, and pattern.fc gives [8] (they move "
        "into the head); remove pattern.fc or use classifier: dense",
        id="pattern-fc-with-conv-classifier",
    ),
    pytest.param(
        "pattern: {N: 1, M: 2, filters: {start: 4}, fc: 8, K: 2}\n"
        "head: {classes: 2, classifier: conv, pool: global_max}\n",
        "<string>:4:32: head.classifier: classifier: conv takes no FC layers, and pattern.fc gives 2 x 8 (they move "
        "into the head); remove pattern.fc or use classifier: dense",
        id="compact-fc-with-conv-classifier",
    ),
    pytest.param(
        "pattern: {stages: [{filters: 4}]}\nhead: {classes: 2}\n"
        "aux_heads: [{at: a, name: aux, classes: 2, classifier: conv}]\n",
        "<string>:5:56: aux_heads[0].classifier: classifier: conv needs pool: global_avg or global_max, and the "
        "pattern form flattens by default (pool: flatten); add pool: global_avg to this head (or use classifier: "
        "dense)",
        id="pattern-aux-head-conv-classifier",
    ),
]


@pytest.mark.parametrize("body, expected", RESOLVED_FORM_CASES)
def test_what_resolving_would_break_is_an_error_when_loading(only_problem, header, body, expected) -> None:
    assert line(only_problem(header + body)) == expected


def test_positions_come_from_the_file(tmp_path: Path, only_problem, header) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(header + "pattern: {stages: []}\n")
    assert line(only_problem(path)).startswith(f"{path}:3:19: pattern.stages: `stages` is empty;")


# --- derived widths -------------------------------------------------------------------------------

WIDTH_CASES = [
    pytest.param(
        BOTTLENECK,
        "<string>:3:63: stages[0].block.width_factor: the inner width int(filters x width_factor) = int(4 x 0.01) = 0; "
        "a conv needs at least 1 filter. Use width_factor >= 0.25 (with filters 4), or filters >= 100 (with "
        "width_factor 0.01)",
        id="bottleneck-inner-width-0",
    ),
    pytest.param(
        "stages: [{block: {type: bottleneck, filters: 3, width_factor: 0.3}}]\n",
        "<string>:3:63: stages[0].block.width_factor: the inner width int(filters x width_factor) = int(3 x 0.3) = 0; "
        "a conv needs at least 1 filter. Use width_factor >= 0.334 (with filters 3), or filters >= 4 (with "
        "width_factor 0.3)",
        id="bottleneck-suggestion-rounds-up",
    ),
    pytest.param(
        "stages: [{block: {type: bottleneck, filters: 4, width_factor: 1.0e-30}}]\n",
        "<string>:3:63: stages[0].block.width_factor: the inner width int(filters x width_factor) = int(4 x 1e-30) = "
        "0; a conv needs at least 1 filter. Use width_factor >= 0.25 (with filters 4)",
        id="bottleneck-no-filters-would-do",
    ),
    pytest.param(
        "stages: [{block: {type: bottleneck, filters: 1000, width_factor: 5000}}]\n",
        "<string>:3:66: stages[0].block.width_factor: the inner width int(filters x width_factor) = int(1000 x 5000) "
        "= 5,000,000, over the limit of 1,000,000. Use width_factor <= 1000 (with filters 1000)",
        id="bottleneck-inner-width-huge",
    ),
    pytest.param(
        "stages: [{block: {type: bottleneck, filters: 1000, expansion: 5000}}]\n",
        "<string>:3:63: stages[0].block.expansion: the output width filters x expansion = 1000 x 5000 = 5,000,000 is "
        "over the limit of 1,000,000. Use expansion <= 1000 (with filters 1000)",
        id="bottleneck-output-width-huge",
    ),
    pytest.param(
        "stages: [{block: {type: dense_block, num_layers: 2, growth_rate: 1000, bottleneck_width: 5000}}]\n",
        "<string>:3:90: stages[0].block.bottleneck_width: the 1x1 bottleneck width bottleneck_width x growth_rate = "
        "5000 x 1000 = 5,000,000 is over the limit of 1,000,000. Use bottleneck_width <= 1000 (with growth_rate 1000)",
        id="dense-block-bottleneck-huge",
    ),
]


@pytest.mark.parametrize("body, expected", WIDTH_CASES)
def test_derived_width_out_of_range(only_problem, header, body, expected) -> None:
    assert line(only_problem(header + body)) == expected


def test_bottleneck_at_the_smallest_width_factor_loads(header) -> None:
    load_blueprint(header + "stages: [{block: {type: bottleneck, filters: 3, width_factor: 0.334}}]\n")
    load_blueprint(header + "stages: [{block: {type: bottleneck, filters: 100, width_factor: 0.01}}]\n")


# --- the compact pattern's filter progression --------------------------------------------------------

GROWTH_CASES = [
    pytest.param(
        "pattern: {N: 1, M: 3, filters: {start: 8, growth: 100000.0}}\n",
        "<string>:3:51: pattern.filters.growth: stage 2 (from 0) would have 8 x 100000^2 = 80,000,000,000 filters, "
        "over the limit of 1,000,000. Use growth <= 353.5 (with start 8 and 3 stages), or cap the widths with `max`",
        id="growth-overflows-the-width-limit",
    ),
    pytest.param(
        "pattern: {N: 1, M: 64, filters: {start: 8, growth: 1.0e+30}}\n",
        "<string>:3:52: pattern.filters.growth: stage 1 (from 0) would have 8 x 1e+30^1 = 8e+30 filters, over the "
        "limit of 1,000,000. Use growth <= 1.204 (with start 8 and 64 stages), or cap the widths with `max`",
        id="growth-overflows-a-float-later",
    ),
    pytest.param(
        "pattern: {N: 1, M: 3, filters: {start: 8, growth: 1.0e300}}\n",
        "<string>:3:51: pattern.filters.growth: expected a number between -3.4e+38 and 3.4e+38 (Keras keeps it as a "
        "float32). Received: 1e+300",
        id="growth-beyond-float32",
    ),
]


@pytest.mark.parametrize("body, expected", GROWTH_CASES)
def test_filter_growth_out_of_range(only_problem, header, body, expected) -> None:
    assert line(only_problem(header + body)) == expected


@pytest.mark.parametrize(
    "progression, widths",
    [
        pytest.param("{start: 8, growth: 1.0e+30, max: 64}", [8, 64, 64], id="capped-by-max"),
        pytest.param("{start: 8, growth: 1.0e-30}", [8, 1, 1], id="tiny-growth-keeps-one-filter"),
        pytest.param("{start: 1000000, growth: 1.0000001}", [1000000, 1000000, 1000000], id="rounds-within-the-limit"),
    ],
)
def test_filter_growth_at_the_edges_resolves(header, progression: str, widths: list[int]) -> None:
    blueprint = load_blueprint(header + f"pattern: {{N: 1, M: 3, filters: {progression}, pool: null}}\n").resolve()
    assert [stage.blocks[0].filters for stage in blueprint.stages] == widths


# --- NaN, infinities and numbers a float32 cannot hold ----------------------------------------------

FINITE = "expected a finite number. Received: {}"
FLOAT32 = "expected a number between -3.4e+38 and 3.4e+38 (Keras keeps it as a float32). Received: {}"

FINITE_CASES = [
    pytest.param(
        "stem: [{type: rescaling, scale: .nan}]\n",
        "3:33: stem[0].scale",
        FINITE.format("nan"),
        id="rescaling-scale-nan",
    ),
    pytest.param("stem: [{type: lrn, beta: .nan}]\n", "3:26: stem[0].beta", FINITE.format("nan"), id="lrn-beta-nan"),
    pytest.param(
        "stem: [{type: leaky_relu, negative_slope: .inf}]\n",
        "3:43: stem[0].negative_slope",
        FINITE.format("inf"),
        id="leaky-relu-slope-inf",
    ),
    pytest.param(
        "stem: [{type: normalization, mean: 0, variance: -1}]\n",
        "3:49: stem[0].variance",
        "must be >= 0. Received: -1",
        id="normalization-variance-negative",
    ),
    pytest.param(
        "stem: [{type: normalization, mean: 0, variance: [1, -1, 1]}]\n",
        "3:53: stem[0].variance[1]",
        "must be >= 0. Received: -1",
        id="normalization-variance-item-negative",
    ),
    pytest.param(
        "stem: [{type: normalization, mean: [0, -.inf], variance: 1}]\n",
        "3:40: stem[0].mean[1]",
        FINITE.format("-inf"),
        id="normalization-mean-item-inf",
    ),
    pytest.param(
        "stem: [{type: conv, filters: 4, kernel_regularizer: {l2: .inf}}]\n",
        "3:58: stem[0].kernel_regularizer.l2",
        FINITE.format("inf"),
        id="regularizer-l2-inf",
    ),
    pytest.param("stem: [{type: lrn, bias: 0}]\n", "3:26: stem[0].bias", "must be > 0. Received: 0", id="lrn-bias-0"),
    pytest.param(
        "stem: [{type: lrn, alpha: -1.0e-4}]\n",
        "3:27: stem[0].alpha",
        "must be >= 0. Received: -0.0001",
        id="lrn-alpha-negative",
    ),
    pytest.param("stem: [{type: elu, alpha: -.inf}]\n", "3:27: stem[0].alpha", FINITE.format("-inf"), id="elu-alpha"),
    pytest.param(
        "stem: [{type: batch_norm, momentum: .nan}]\n",
        "3:37: stem[0].momentum",
        FINITE.format("nan"),
        id="batch-norm-momentum-nan",
    ),
    pytest.param(
        "stem: [{type: rescaling, scale: 1.0e300}]\n",
        "3:33: stem[0].scale",
        FLOAT32.format("1e+300"),
        id="rescaling-scale-beyond-float32",
    ),
    pytest.param(
        "stem: [{type: rescaling, scale: 1, offset: " + "9" * 40 + "}]\n",
        "3:44: stem[0].offset",
        FLOAT32.format("1e+40"),
        id="integer-beyond-float32",
    ),
    pytest.param(
        "stem: [{type: rescaling, scale: 1, offset: " + "9" * 400 + "}]\n",
        "3:44: stem[0].offset",
        "an integer of 400 characters; integers in a blueprint have at most 100 digits",
        id="integer-beyond-any-float",
    ),
    pytest.param(
        "defaults: {batch_norm_epsilon: .nan}\nstem: [{type: relu}]\n",
        "3:32: defaults.batch_norm_epsilon",
        FINITE.format("nan"),
        id="defaults-epsilon-nan",
    ),
    pytest.param(
        "scaling: {depth_multiplier: .inf}\nstem: [{type: relu}]\n",
        "3:29: scaling.depth_multiplier",
        FINITE.format("inf"),
        id="scaling-depth-inf",
    ),
    pytest.param(
        "stages: [{block: {type: squeeze_excite, ratio: .nan}}]\n",
        "3:48: stages[0].block.ratio",
        FINITE.format("nan"),
        id="squeeze-excite-ratio-nan",
    ),
    pytest.param(
        "stages: [{block: {type: bottleneck, filters: 4, width_factor: .nan}}]\n",
        "3:63: stages[0].block.width_factor",
        FINITE.format("nan"),
        id="bottleneck-width-factor-nan",
    ),
    pytest.param(
        "stem: [{type: conv, filters: 4, kernel_initializer: {type: random_normal, stddev: .inf}}]\n",
        "3:83: stem[0].kernel_initializer.stddev",
        FINITE.format("inf"),
        id="initializer-stddev-inf",
    ),
    pytest.param(
        "stem: [{type: relu}]\ntraining: {optimizer: {learning_rate: .nan}}\n",
        "4:39: training.optimizer.learning_rate",
        FINITE.format("nan"),
        id="learning-rate-nan",
    ),
    pytest.param(
        "stem: [{type: relu}]\ntraining: {schedule: {type: step, step_epochs: .inf}}\n",
        "4:48: training.schedule.step_epochs",
        FINITE.format("inf"),
        id="step-epochs-inf",
    ),
    pytest.param(
        "stem: [{type: relu}]\ntraining: {pixel_range: [0, .inf]}\n",
        "4:29: training.pixel_range[1]",
        FINITE.format("inf"),
        id="pixel-range-inf",
    ),
    pytest.param(
        "stem: [{type: relu}]\ntraining: {seed: 4294967296}\n",
        "4:18: training.seed",
        "must be <= 2147483647. Received: 4294967296",
        id="seed-beyond-numpy",
    ),
    pytest.param(
        "stem: [{type: relu}]\ntraining: {seed: 1.0e300}\n",
        "4:18: training.seed",
        "expected an integer; this one is far too large. Received: 1e+300",
        id="seed-float-huge",
    ),
    pytest.param(
        "stem: [{type: relu}]\nhead: {classes: 2}\naux_heads: [{at: x, name: a, classes: 2, loss_weight: .inf}]\n",
        "5:55: aux_heads[0].loss_weight",
        FINITE.format("inf"),
        id="aux-loss-weight-inf",
    ),
]


@pytest.mark.parametrize("body, where, message", FINITE_CASES)
def test_non_finite_and_out_of_range_numbers(only_problem, header, body, where, message) -> None:
    assert line(only_problem(header + body)) == f"<string>:{where}: {message}"


def _spec_classes() -> list[type[Spec]]:
    import archbuilder.blueprint  # noqa: F401  (every class of the format is defined once imported)

    found, todo = [], [Spec]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls is not Spec]


def _holds_float(annotation: Any) -> bool:
    if annotation is float:
        return True
    return any(_holds_float(argument) for argument in typing.get_args(annotation))


FLOAT_FIELDS = sorted(
    {
        (cls.__name__, name): cls
        for cls in _spec_classes()
        for name, field in cls.model_fields.items()
        if _holds_float(field.annotation)
    }.items()
)


def test_the_format_has_float_fields() -> None:
    assert len(FLOAT_FIELDS) > 40, [key for key, _ in FLOAT_FIELDS]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("key, cls", FLOAT_FIELDS, ids=[f"{c}.{n}" for (c, n), _ in FLOAT_FIELDS])
def test_every_float_field_rejects_non_finite_values(key: tuple[str, str], cls: type[BaseModel], value: float) -> None:
    name = key[1]
    given = (value, value) if typing.get_origin(cls.model_fields[name].annotation) is tuple else value
    with pytest.raises(ValidationError) as info:
        cls.model_validate({name: given})
    at_field = [error["type"] for error in info.value.errors() if error["loc"][:1] == (name,)]
    assert "finite_number" in at_field, info.value.errors()


# --- odd shapes of input: keys that are not names, text that would break the line, deep nesting ------

ONE_LINE_CASES = [
    pytest.param(
        '"a\\nb": 1\nstem: [{type: relu}]\n',
        "<string>:3:1: 'a\\nb': unknown key 'a\\nb'. Valid keys here: aux_heads, backbone, defaults, description, "
        "head, input, name, pattern, scaling, stages, stem, strict_fit, training.",
        id="key-with-a-newline",
    ),
    pytest.param(
        'stem: [{type: "re\\nlu"}]\n',
        "<string>:3:15: stem[0].type: unknown type 're\\nlu'. Did you mean 'relu'? Known types: {known}",
        id="type-with-a-newline",
    ),
    pytest.param(
        "1: 2\nstem: [{type: relu}]\n",
        "<string>:3:1: unknown key 1 (keys are names). Valid keys here: aux_heads, backbone, defaults, description, "
        "head, input, name, pattern, scaling, stages, stem, strict_fit, training.",
        id="number-as-a-key",
    ),
    pytest.param(
        "stem: [{type: relu, true: 2}]\n",
        "<string>:3:21: stem[0]: unknown key True (keys are names). Valid keys here: id, inputs, type.",
        id="boolean-as-a-key",
    ),
    pytest.param(
        "x" * 100 + ": 1\nstem: [{type: relu}]\n",
        "<string>:3:1: " + "x" * 37 + "...: unknown key '" + "x" * 55 + "...'. Valid keys here: aux_heads, backbone, "
        "defaults, description, head, input, name, pattern, scaling, stages, stem, strict_fit, training.",
        id="long-key-shortened",
    ),
]


@pytest.mark.parametrize("body, expected", ONE_LINE_CASES)
def test_problems_stay_on_one_line(only_problem, header, body, expected) -> None:
    from archbuilder.blueprint.kinds import ALL_KINDS

    assert line(only_problem(header + body)) == expected.replace("{known}", ", ".join(sorted(ALL_KINDS)) + ".")


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "field, expected",
    [
        pytest.param(
            "stem",
            "stem[0]: Input should be a valid dictionary or object to extract fields from. Received: [[[[[...]]]]]",
            id="stem",
        ),
        pytest.param(
            "description", "description: Input should be a valid string. Received: [[[[[...]]]]]", id="description"
        ),
    ],
)
def test_data_nested_thousands_deep_from_python(only_problem, field: str, expected: str) -> None:
    data = {"name": "net", "input": {"shape": [8, 8, 3]}, "stem": [{"type": "relu"}], field: _nested(5000)}
    assert line(only_problem(data)) == expected


@pytest.mark.parametrize("source", [None, 3, b"name: net", ["net.yaml"]], ids=["none", "int", "bytes", "list"])
def test_a_source_of_another_type_is_a_type_error(source: object) -> None:
    with pytest.raises(TypeError) as info:
        load_blueprint(source)  # type: ignore[arg-type]
    assert str(info.value) == (
        f"a blueprint source is a path, a zoo name, YAML text, a dict or a Blueprint. Received: {type(source).__name__}"
    )

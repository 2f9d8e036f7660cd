"""Round trips: dict, YAML and the resolved form load back equal; Python and YAML build the same thing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from archbuilder.blueprint import (
    Add,
    AuxHead,
    BatchNorm,
    Blueprint,
    BlueprintError,
    Bottleneck,
    Conv,
    Defaults,
    Dense,
    FilterProgression,
    Head,
    Inception,
    InputSpec,
    MaxPool,
    Pattern,
    PatternStage,
    Regularizer,
    Residual,
    Scaling,
    Stage,
    dump_yaml,
    load_blueprint,
    resolve,
)
from archbuilder.blueprint.model import ConvTemplate

BLUEPRINTS_DIR = Path(__file__).resolve().parents[2] / "blueprints"

VGG_LIKE = """\
name: vgg_like
description: plain stack, per-stage pattern
input: {shape: [64, 64, 3]}
defaults: {batch_norm: true, kernel_regularizer: {l2: 0.0005}}
pattern:
  conv: {kernel_size: 3, padding: same}
  stages:
    - {filters: 16, convs: 2}
    - {filters: 32, convs: 2}
    - {filters: 64, convs: 3, pool: false}
  pool: {type: max_pool, pool_size: 2, strides: 2}
  fc: [128, 64]
  dropout: 0.5
head: {classes: 10, activation: softmax}
"""

COMPACT_PATTERN = """\
name: compact
input: {shape: [32, 32, 1]}
pattern:
  conv: {kernel_size: [3, 3], padding: 1, activation: elu}
  N: 2
  M: 3
  K: 2
  filters: {start: 8, growth: 2.0, max: 24}
  pool: {type: avg_pool, pool_size: 2}
  fc: 32
head: {classes: 5, pool: flatten}
"""

RESNET_LIKE = """\
name: resnet_like
input: {shape: [32, 32, 3]}
defaults: {batch_norm: true, use_bias: auto, kernel_initializer: he_normal, batch_norm_epsilon: 1.001e-5}
stem:
  - {type: conv, filters: 16, kernel_size: 3, padding: same}
  - {type: batch_norm, momentum: 0.9}
  - {type: relu}
stages:
  - {block: {type: residual, filters: 16}, repeat: 2}
  - {block: {type: residual, filters: 32, shortcut: projection, dropout: 0.1}, repeat: 2, strides: 2}
  - {block: {type: bottleneck, filters: 16, groups: 4, width_factor: 2.0, stride_on: 3x3, se_ratio: 0.25},
     repeat: 2, strides: [2, 2], stride_block: last, id: stage3}
head: {pool: global_avg, classes: 10, dropout: 0.2}
training:
  optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9, nesterov: true}
  schedule: {type: step, milestones: [30, 60], factor: 0.1}
  batch_size: 128
  epochs: 90
"""

INCEPTION_AUX = """\
name: googlenet_like
input: {shape: [96, 96, 3]}
stem:
  - {type: conv, filters: 32, kernel_size: 7, strides: 2, padding: same}
  - {type: max_pool, pool_size: 3, strides: 2, padding: same}
  - {type: lrn, size: 5, alpha: 0.0001, beta: 0.75, bias: 2.0}
stages:
  - block: {type: inception, filters_1x1: 16, reduce_3x3: 24, filters_3x3: 32, reduce_5x5: 4,
            filters_5x5: 8, pool_proj: 8}
    id: inc3a
  - block: {type: inception, naive: true, filters_1x1: 8, filters_3x3: 8, filters_5x5: 8}
    repeat: 2
  - blocks:
      - {type: max_pool, pool_size: 3, strides: 2, padding: same}
      - {type: inception, filters_1x1: 32, reduce_3x3: 16, filters_3x3: 32, reduce_5x5: 8, filters_5x5: 16,
         pool_proj: 16, id: inc4a}
head: {pool: global_avg, dropout: 0.4, classes: 100}
aux_heads:
  - at: inc3a
    name: aux1
    layers: [{type: avg_pool, pool_size: 5, strides: 3}, {type: conv, filters: 16, kernel_size: 1}]
    pool: flatten
    fc: [64]
    fc_dropout: 0.7
    classes: 100
    loss_weight: 0.3
  - {at: inc4a, name: aux2, classes: 100, activation: sigmoid}
"""

POINTWISE = """\
name: mobile_things
input: {shape: [48, 48, 3]}
defaults: {activation: relu6, batch_norm: true, use_bias: false, dropout: 0.1}
stem:
  - {type: rescaling, scale: 0.00392156862745098, offset: -0.5}
  - {type: normalization, mean: [0.485, 0.456, 0.406], variance: [0.052, 0.05, 0.051]}
  - {type: zero_padding, padding: [[0, 1], [0, 1]]}
  - {type: conv, filters: 16, kernel_size: 3, strides: 2, id: stem_out}
  - {type: depthwise_conv, kernel_size: 3, padding: same, depth_multiplier: 2}
  - {type: separable_conv, filters: 24, kernel_size: [3, 5], padding: [1, 2], dilation_rate: [2, 1]}
  - {type: conv, filters: 32, kernel_size: 1, id: side, inputs: [stem_out]}
stages:
  - blocks:
      - {type: depthwise, filters: 32, depth_multiplier: 1}
      - {type: add, inputs: [side, stem_out], id: merged}
      - {type: squeeze_excite, ratio: 0.0625}
  - {block: {type: inverted_residual, filters: 32, expansion: 6, kernel_size: 5, se_ratio: 0.25}, repeat: 3,
     strides: 2}
  - blocks:
      - {type: fire, squeeze: 8, expand_1x1: 32, expand_3x3: 32}
      - {type: mlpconv, filters: [48, 48, 32], kernel_size: 3}
      - {type: dense_block, num_layers: 4, growth_rate: 8, bottleneck_width: null}
      - {type: transition, reduction: 0.5}
      - {type: spatial_dropout}
      - {type: leaky_relu, negative_slope: 0.1}
      - {type: elu, alpha: 0.5}
      - {type: layer_norm, epsilon: 0.000001}
      - {type: global_avg_pool, keepdims: true}
      - {type: flatten}
      - {type: dense, units: 64, activation: gelu}
      - {type: dropout, rate: 0.3}
head: {pool: none, classes: 2, activation: sigmoid, name: out}
"""

SCALED = """\
name: scaled
input: {shape: [64, 64, 3]}
scaling: {width_multiplier: 1.25, depth_multiplier: 1.5, resolution: 80, divisor: 4}
strict_fit: true
stem:
  - {type: conv, filters: 12, kernel_size: 3, strides: 2, padding: same}
stages:
  - {block: {type: inverted_residual, filters: 16, expansion: 1}, repeat: 1}
  - {block: {type: inverted_residual, filters: 24}, repeat: 2, strides: 2}
  - {block: {type: fire, squeeze: 6, expand_1x1: 20, expand_3x3: 20}, repeat: 2}
head: {classes: 7, fc: [32], fc_dropout: 0.25}
"""

NO_HEAD = """\
name: backbone
input: {shape: [16, 16, 1]}
stem: [{type: conv, filters: 4, kernel_size: 3}, {type: global_max_pool}]
"""

BLUEPRINTS = [
    pytest.param(VGG_LIKE, id="vgg-like-pattern"),
    pytest.param(COMPACT_PATTERN, id="compact-pattern"),
    pytest.param(RESNET_LIKE, id="resnet-like-stages"),
    pytest.param(INCEPTION_AUX, id="inception-aux-heads"),
    pytest.param(POINTWISE, id="pointwise-and-merges"),
    pytest.param(SCALED, id="scaling"),
    pytest.param(NO_HEAD, id="no-head"),
] + [pytest.param(path, id=f"zoo-{path.stem}") for path in sorted(BLUEPRINTS_DIR.glob("*.yaml"))]


def load(source: str | Path) -> Blueprint:
    """Load a table entry; a zoo file that does not load is the zoo tests' business, not this file's."""
    if isinstance(source, Path):
        try:
            return load_blueprint(source)
        except BlueprintError as error:
            pytest.skip(f"{source.name} does not load (see the zoo tests): {error}")
    return load_blueprint(source)


@pytest.mark.parametrize("text", BLUEPRINTS)
def test_dict_round_trip(text: str | Path) -> None:
    blueprint = load(text)
    assert Blueprint.model_validate(blueprint.to_dict()) == blueprint


@pytest.mark.parametrize("text", BLUEPRINTS)
def test_yaml_round_trip(text: str | Path) -> None:
    blueprint = load(text)
    assert load_blueprint(blueprint.to_yaml()) == blueprint


@pytest.mark.parametrize("text", BLUEPRINTS)
def test_json_round_trip(text: str | Path) -> None:
    blueprint = load(text)
    assert Blueprint.model_validate_json(blueprint.model_dump_json()) == blueprint


@pytest.mark.parametrize("text", BLUEPRINTS)
def test_resolved_dict_round_trip(text: str | Path) -> None:
    resolved = load(text).resolve()
    assert Blueprint.model_validate(resolved.to_dict()) == resolved


@pytest.mark.parametrize("text", BLUEPRINTS)
def test_resolved_yaml_round_trip(text: str | Path) -> None:
    resolved = load(text).resolve()
    assert load_blueprint(resolved.to_yaml()) == resolved


@pytest.mark.parametrize("text", BLUEPRINTS)
def test_resolve_is_idempotent(text: str | Path) -> None:
    resolved = resolve(load(text))
    assert resolve(resolved) == resolved
    assert resolved.resolve() == resolved


@pytest.mark.parametrize("text", BLUEPRINTS)
def test_to_dict_is_plain_data_with_type_first(text: str | Path) -> None:
    data = load(text).resolve().to_dict()

    def check(value: object) -> None:
        if isinstance(value, dict):
            assert all(isinstance(key, str) for key in value)
            if "type" in value and isinstance(value["type"], str):
                assert next(iter(value)) == "type"
            for item in value.values():
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)
        else:
            assert value is None or isinstance(value, (str, int, float, bool)), value

    check(data)


def test_to_dict_leaves_defaults_out() -> None:
    blueprint = load_blueprint(
        "name: net\ninput: {shape: [8, 8, 1]}\n"
        "stem: [{type: conv, filters: 4, kernel_size: 3, padding: valid}, {type: relu}]\n"
    )
    assert blueprint.to_dict() == {
        "name": "net",
        "input": {"shape": [8, 8, 1]},
        "stem": [{"type": "conv", "filters": 4}, {"type": "relu"}],
    }


def test_to_yaml_writes_short_items_on_one_line() -> None:
    blueprint = Blueprint(
        name="net",
        input=InputSpec(shape=(32, 32, 3)),
        stem=[Conv(filters=64, kernel_size=(3, 3))],
        head=Head(classes=10),
    )
    assert blueprint.to_yaml() == (
        "name: net\n"
        "input: {shape: [32, 32, 3]}\n"
        "stem:\n"
        "- {type: conv, kernel_size: [3, 3], filters: 64}\n"
        "head: {classes: 10}\n"
    )


def test_dump_yaml_keeps_key_order() -> None:
    assert dump_yaml({"z": 1, "a": [1, 2]}) == "{z: 1, a: [1, 2]}\n"


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("yes", id="bool-like"),
        pytest.param("null", id="null-like"),
        pytest.param("~", id="tilde"),
        pytest.param("2024-01-31", id="date-like"),
        pytest.param("0x10", id="hex-like"),
        pytest.param("1_000", id="underscored-int"),
        pytest.param(".5", id="dot-float"),
        pytest.param("3", id="int-like"),
        pytest.param("a: b", id="colon"),
        pytest.param("line one\nline two", id="multi-line"),
        pytest.param("# not a comment", id="hash"),
        pytest.param("ünïcödé", id="unicode"),
        pytest.param("1e3", id="exponent"),
        pytest.param("1e-3", id="negative-exponent"),
        pytest.param("+1e5", id="signed-exponent"),
        pytest.param("1E5", id="upper-case-exponent"),
        pytest.param("1.5e3", id="float-exponent"),
    ],
)
def test_strings_that_look_like_other_values_round_trip(description: str) -> None:
    blueprint = load_blueprint("name: net\ninput: {shape: [8, 8, 1]}\nstem: [{type: relu}]\n").model_copy(
        update={"description": description}
    )
    assert load_blueprint(blueprint.to_yaml()) == blueprint


# --- Python construction ---------------------------------------------------------------------------


def test_python_construction_equals_yaml() -> None:
    built = Blueprint(
        name="cifar_resnet",
        input=InputSpec(shape=(32, 32, 3)),
        stages=[Stage(block=Residual(filters=16), repeat=2)],
        head=Head(classes=10),
    )
    loaded = load_blueprint(
        "name: cifar_resnet\ninput: {shape: [32, 32, 3]}\n"
        "stages: [{block: {type: residual, filters: 16}, repeat: 2}]\nhead: {classes: 10}\n"
    )
    assert built == loaded
    assert built.to_dict() == loaded.to_dict()
    assert built.resolve() == loaded.resolve()


def test_python_construction_of_every_part_equals_yaml() -> None:
    built = Blueprint(
        name="everything",
        input=InputSpec(shape=(64, 64, 3)),
        defaults=Defaults(batch_norm=True, kernel_regularizer=Regularizer(l2=1e-4), dropout=0.1),
        scaling=Scaling(width_multiplier=0.5),
        stem=[Conv(filters=16, kernel_size=[3, 3], strides=2, padding="same", id="s"), BatchNorm()],
        stages=[
            Stage(block=Bottleneck(filters=8, groups=2), repeat=2, strides=2),
            Stage(
                blocks=[
                    Inception(filters_1x1=4, filters_3x3=4, filters_5x5=4, naive=True, id="inc"),
                    MaxPool(pool_size=3, strides=2, padding="same"),
                ]
            ),
            Stage(blocks=[Conv(filters=8, kernel_size=1, id="a"), Add(inputs=["a", "inc"])]),
        ],
        head=Head(fc=[32], classes=3),
        aux_heads=[AuxHead(at="inc", name="aux", classes=3, layers=[Dense(units=8)])],
    )
    loaded = load_blueprint("""\
name: everything
input: {shape: [64, 64, 3]}
defaults: {batch_norm: true, kernel_regularizer: {l2: 0.0001}, dropout: 0.1}
scaling: {width_multiplier: 0.5}
stem:
  - {type: conv, filters: 16, kernel_size: [3, 3], strides: 2, padding: same, id: s}
  - {type: batch_norm}
stages:
  - {block: {type: bottleneck, filters: 8, groups: 2}, repeat: 2, strides: 2}
  - blocks:
      - {type: inception, filters_1x1: 4, filters_3x3: 4, filters_5x5: 4, naive: true, id: inc}
      - {type: max_pool, pool_size: 3, strides: 2, padding: same}
  - blocks: [{type: conv, filters: 8, kernel_size: 1, id: a}, {type: add, inputs: [a, inc]}]
head: {fc: [32], classes: 3}
aux_heads: [{at: inc, name: aux, classes: 3, layers: [{type: dense, units: 8}]}]
""")
    assert built == loaded
    assert load_blueprint(built.to_yaml()) == loaded
    assert built.resolve() == loaded.resolve()


def test_python_pattern_construction_equals_yaml() -> None:
    built = Blueprint(
        name="vgg_like",
        input=InputSpec(shape=(32, 32, 3)),
        pattern=Pattern(
            conv=ConvTemplate(kernel_size=3, padding="same"),
            stages=[PatternStage(filters=8, convs=2), PatternStage(filters=16)],
            fc=[64],
            dropout=0.5,
        ),
        head=Head(classes=10),
    )
    loaded = load_blueprint(
        "name: vgg_like\ninput: {shape: [32, 32, 3]}\n"
        "pattern: {conv: {kernel_size: 3, padding: same}, stages: [{filters: 8, convs: 2}, {filters: 16}], "
        "fc: [64], dropout: 0.5}\nhead: {classes: 10}\n"
    )
    assert built == loaded
    compact = Blueprint(
        name="c", input=InputSpec(shape=(32, 32, 3)), pattern=Pattern(N=1, M=2, filters=FilterProgression(start=8))
    )
    assert compact == load_blueprint(
        "name: c\ninput: {shape: [32, 32, 3]}\npattern: {N: 1, M: 2, filters: {start: 8}}\n"
    )


@pytest.mark.parametrize(
    "update, yaml_change",
    [
        pytest.param({"name": "other"}, ("name: cifar_resnet", "name: other"), id="name"),
        pytest.param({"head": Head(classes=100)}, ("head: {classes: 10}", "head: {classes: 100}"), id="head"),
        pytest.param(
            {"stages": [Stage(block=Residual(filters=32), repeat=3)]},
            ("{block: {type: residual, filters: 16}, repeat: 2}", "{block: {type: residual, filters: 32}, repeat: 3}"),
            id="stages",
        ),
        pytest.param(
            {"defaults": Defaults(activation="swish")},
            ("head:", "defaults: {activation: swish}\nhead:"),
            id="defaults",
        ),
        pytest.param(
            {"scaling": Scaling(depth_multiplier=2.0)},
            ("head:", "scaling: {depth_multiplier: 2.0}\nhead:"),
            id="scaling",
        ),
    ],
)
def test_model_copy_equals_yaml_equivalent(update: dict, yaml_change: tuple[str, str]) -> None:
    text = (
        "name: cifar_resnet\ninput: {shape: [32, 32, 3]}\n"
        "stages: [{block: {type: residual, filters: 16}, repeat: 2}]\nhead: {classes: 10}\n"
    )
    changed = load_blueprint(text).model_copy(update=update)
    expected = load_blueprint(text.replace(*yaml_change))
    assert changed == expected
    assert load_blueprint(changed.to_yaml()) == expected
    assert changed.resolve() == expected.resolve()


def test_blueprints_are_immutable() -> None:
    blueprint = Blueprint(name="n", input=InputSpec(shape=(8, 8, 1)), stem=[Conv(filters=4)])
    with pytest.raises(ValidationError, match="frozen"):
        blueprint.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        blueprint.stem[0].filters = 8  # type: ignore[misc]


def test_equal_blueprints_written_differently() -> None:
    short = load_blueprint(
        "name: n\ninput: {shape: [8, 8, 1]}\nstem: [{type: conv, filters: 4, kernel_size: [3, 3]}]\n"
    )
    long = load_blueprint("""\
name: n
input:
  shape:
    - 8
    - 8
    - 1
stem:
  - type: conv
    kernel_size: [3, 3]
    filters: 4
    strides: 1
    padding: valid
""")
    assert short == long
    assert short.to_yaml() == long.to_yaml()

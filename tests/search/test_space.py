"""Search spaces without Keras: markers, exact errors, conditional activity, lists, expressions, validation."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from archbuilder.blueprint.errors import BlueprintError
from archbuilder.search import load_space, validate_space
from archbuilder.search.markers import MARKER_KEYS, option_labels
from archbuilder.search.space import CandidateError

#: Two lines every YAML snippet below starts after, so each snippet's first line is line 3.
HEADER = "name: net\ninput: {shape: [8, 8, 1]}\n"
HEAD = "head: {classes: 10}\n"


def errors_of(text: str, validate: bool = False) -> list[str]:
    with pytest.raises(BlueprintError) as caught:
        space = load_space(HEADER + text)
        if validate:
            validate_space(space, samples=32)
    return [str(problem) for problem in caught.value.problems]


def space_of(text: str) -> Any:
    return load_space(HEADER + text)


MARKER_ERRORS = [
    (
        "stem: [{type: conv, filters: {choice: []}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:39: stem[0].filters.choice: choice needs a non-empty list of options. Received: []",
    ),
    (
        "stem: [{type: conv, filters: {choice: [8, 16, 8]}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:47: stem[0].filters.choice[2]: option 2 repeats option 0: 8",
    ),
    (
        "stem: [{type: conv, filters: {choice: [8, 16], default: 32}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:57: stem[0].filters.default: default must be one of the options. Received: 32",
    ),
    (
        "stem: [{type: conv, filters: {int: [16, 8]}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:36: stem[0].filters.int: min 16 is greater than max 8",
    ),
    (
        "stem: [{type: conv, filters: {int: [8]}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:36: stem[0].filters.int: int takes [min, max] with two integers. Received: [8]",
    ),
    (
        "stem: [{type: conv, filters: {int: [8.0, 16]}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:36: stem[0].filters.int: int takes [min, max] with two integers. Received: [8.0, 16]",
    ),
    (
        "stem: [{type: conv, filters: {int: [8, 64], stpe: 8}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:51: stem[0].filters.stpe: unknown key 'stpe' in an int marker. Did you mean 'step'? "
        "Valid keys here: int, step, log, default, name.",
    ),
    (
        "stem: [{type: conv, filters: {int: [8, 64], step: 1, log: true}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:51: stem[0].filters.step: with log: true, step is a factor (min, min*step, ...) and must be > 1. "
        "Received: 1",
    ),
    (
        "stem: [{type: conv, filters: {int: [0, 64], log: true}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:36: stem[0].filters.int: log sampling needs min >= 1. Received: min 0",
    ),
    (
        "stem: [{type: conv, filters: {int: [8, 64], step: 8, default: 12}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:63: stem[0].filters.default: default must be a value of the marker (int 8..64 step 8). Received: "
        "12",
    ),
    (
        "stem: [{type: dropout, rate: {float: [0.0, 0.5], log: true}}]\n" + HEAD,
        "<string>:3:38: stem[0].rate.float: log sampling needs min > 0. Received: min 0.0",
    ),
    (
        "stem: [{type: conv, filters: 8, use_bias: {bool: 3}}]\n" + HEAD,
        "<string>:3:50: stem[0].use_bias.bool: write a boolean marker as {bool: {}}. Received: {bool: 3}",
    ),
    (
        "stem: [{type: conv, filters: {int: [8, 16], choice: [8]}}]\n" + HEAD,
        "<string>:3:30: stem[0].filters: a marker has exactly one of choice, int, float, bool, expr, list; "
        "this one has int and choice",
    ),
    (
        "stem: [{type: conv, filters: {expr: 'width *'}}]\n" + HEAD,
        "<string>:3:37: stem[0].filters.expr: cannot parse expression 'width *': invalid syntax",
    ),
    (
        "stem: [{type: conv, filters: {expr: '__import__(1)'}}]\n" + HEAD,
        "<string>:3:37: stem[0].filters.expr: unknown function '__import__'; expressions may call round, int, float, "
        "min, max, abs, sqrt, log, ceil, floor",
    ),
    (
        "stem: [{type: conv, filters: {expr: '8 * widht'}}]\n" + HEAD + "search: {variables: {width: {int: [1, 4]}}}\n",
        "<string>:3:37: stem[0].filters.expr: expression '8 * widht' uses 'widht', which is not a named value. "
        "Did you mean 'width'? Named values: width.",
    ),
    (
        "stem: [{type: conv, filters: {int: [8, 16], name: a}}, {type: conv, filters: {int: [8, 16], name: a}}]\n"
        + HEAD,
        "<string>:3:99: stem[1].filters.name: name 'a' is already given to the marker at stem[0].filters; names must "
        "be unique",
    ),
    (
        "stages: {list: {block: {type: residual, filters: 8}}, length: {float: [1, 2]}}\n" + HEAD,
        "<string>:3:63: stages.length: length takes a number or an int/choice marker, not a float marker",
    ),
    (
        "stages: {list: [{block: {type: residual, filters: 8}}], length: {int: [1, 2]}}\n" + HEAD,
        "<string>:3:16: stages.list: `list` gives 1 items but the length can be 2; give at least 2 items, or one "
        "template (a mapping) for every item",
    ),
    (
        "stages: {list: {block: {type: residual, filters: 8}}}\n" + HEAD,
        "<string>:3:9: stages: a list marker needs `length`: a number, or an int or choice marker",
    ),
    (
        "stem: [{type: conv, filters: 8}]\n" + HEAD + "search: {tuner: randm, max_trials: 0}\n",
        "<string>:5:17: search.tuner: expected 'random', 'grid', 'bayesian', 'hyperband' or 'evolution'. Received: "
        "'randm'. Did you mean 'random'?",
    ),
    (
        "stem: [{type: conv, filters: 8}]\n" + HEAD + "search: {objective: {maximize: val_accuracy, penalize: macs}}\n",
        "<string>:5:56: search.objective.penalize: penalize: macs needs a target (the cost at which the score is the "
        "metric itself): set objective.target, or budgets.max_macs",
    ),
    (
        "stem: [{type: conv, filters: 8}]\n" + HEAD + "search: {constraints: ['alpha < 2']}\n",
        "<string>:5:24: search.constraints[0]: expression 'alpha < 2' uses 'alpha', which is not a named value. "
        "Named values: activation_memory, macs, params.",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MARKER_ERRORS)
def test_marker_errors_are_exact(text: str, expected: str) -> None:
    assert expected in errors_of(text)


def test_every_problem_is_reported_at_once() -> None:
    found = errors_of("stem: [{type: conv, filters: {choice: []}}, {type: conv, filters: {int: [4, 2]}}]\n" + HEAD)
    assert [line.split(": ")[1] for line in found] == ["stem[0].filters.choice", "stem[1].filters.int"]


MARKERS = "A marker is a mapping with one of choice, int, float, bool, expr, list."
MISTYPED_MARKERS = [
    (
        "stem: [{type: conv, filters: {choice: [8, 16]}, kernel_size: {choices: [1, 3]}}]\n" + HEAD,
        f"<string>:3:72: stem[0].kernel_size.choices: unknown marker 'choices'. Did you mean 'choice'? {MARKERS}",
    ),
    (
        "stem: [{type: conv, filters: {choise: [8, 16], default: 8}}]\n" + HEAD,
        f"<string>:3:39: stem[0].filters.choise: unknown marker 'choise'. Did you mean 'choice'? {MARKERS}",
    ),
    (
        "stem: [{type: conv, filters: {integer: [8, 16], step: 4}}]\n" + HEAD,
        f"<string>:3:40: stem[0].filters.integer: unknown marker 'integer'. Did you mean 'int'? {MARKERS}",
    ),
    (
        "stem: [{type: dropout, rate: {flaot: [0.1, 0.5], log: true}}]\n" + HEAD,
        f"<string>:3:38: stem[0].rate.flaot: unknown marker 'flaot'. Did you mean 'float'? {MARKERS}",
    ),
    (
        "stem: [{type: conv, filters: 8, use_bias: {boolean: {}}}]\n" + HEAD,
        f"<string>:3:53: stem[0].use_bias.boolean: unknown marker 'boolean'. Did you mean 'bool'? {MARKERS}",
    ),
    (
        "stages: {lists: {block: {type: residual, filters: 8}}, length: 2}\n" + HEAD,
        f"<string>:3:17: stages.lists: unknown marker 'lists'. Did you mean 'list'? {MARKERS}",
    ),
    (
        "stem: [{type: conv, filters: 8}]\n" + HEAD + "search: {variables: {alpha: {floats: [1.0, 1.4]}}}\n",
        f"<string>:5:38: search.variables.alpha.floats: unknown marker 'floats'. Did you mean 'float'? {MARKERS}",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MISTYPED_MARKERS)
def test_a_mistyped_marker_is_reported_once_with_the_marker_it_meant(text: str, expected: str) -> None:
    assert errors_of(text, validate=True) == [expected]


def test_blueprint_mappings_are_not_taken_for_mistyped_markers() -> None:
    # `input`, `inputs` and `pool` are close to marker names, but they are fields of the format.
    space = space_of(
        "stem: [{type: relu, id: a}, {type: add, inputs: [a, a]}]\n"
        "head: {classes: 10, pool: {choice: [global_avg, global_max]}}\n"
    )
    assert [parameter.name for parameter in space.parameters] == ["head.pool"]


def test_marker_keys_never_collide_with_blueprint_fields() -> None:
    from pydantic import BaseModel

    import archbuilder.blueprint as blueprint

    models = [getattr(blueprint, name) for name in dir(blueprint)]
    fields = {
        field
        for model in models
        if isinstance(model, type) and issubclass(model, BaseModel)
        for field in model.model_fields
    }
    assert fields and not fields & set(MARKER_KEYS)


OPTION_VALIDATION = [
    # An option that is never valid, whatever the other values are.
    (
        "stages:\n  - block: {choice: [{type: residual, filters: 8}, {type: residual, filtrs: 8}]}\n"
        "head: {classes: 10}\n",
        "<string>:4:77: stages[0].block.choice[1].filtrs: unknown key 'filtrs'. Did you mean 'filters'? Valid keys "
        "here: ",
    ),
    (
        "stem: [{type: conv, filters: {int: [0, 8]}, kernel_size: 3}]\n" + HEAD,
        "<string>:3:30: stem[0].filters: must be >= 1. Received: 0",
    ),
    (
        "stem: [{type: conv, filters: 8, padding: {choice: [same, vaild]}}]\n" + HEAD,
        "<string>:3:58: stem[0].padding.choice[1]: expected 'same', 'valid', an integer, or a pair [rows, columns] "
        "of integers >= 0. Received: 'vaild'",
    ),
]


@pytest.mark.parametrize(("text", "expected"), OPTION_VALIDATION)
def test_every_option_must_be_valid_on_its_own(text: str, expected: str) -> None:
    found = errors_of(text, validate=True)
    assert any(line.startswith(expected) for line in found), found


def test_an_option_valid_with_other_values_is_accepted() -> None:
    # groups=3 needs filters=48 (inner width divisible by 3): valid with some values, so not a space error.
    space = space_of(
        "stages:\n  - block: {type: bottleneck, filters: {choice: [64, 48]}, groups: {choice: [1, 3]}}\n"
        + HEAD
        + "search: {max_trials: 2}\n"
    )
    check = validate_space(space, samples=64)
    assert check.valid > 0 and check.rejected["invalid"] > 0


def test_an_empty_space_names_the_budget_that_empties_it() -> None:
    found = errors_of(
        "stem: [{type: conv, filters: {choice: [8, 16]}, kernel_size: 3, padding: same}]\n"
        + HEAD
        + "search: {budgets: {max_params: 100, max_macs: 100000000}}\n",
        validate=True,
    )
    assert found == [
        "<string>:5:32: search.budgets.max_params: the space is empty under its budgets: max_params 100 "
        "rejects every one of the 34 valid candidates sampled (the smallest has 170 params). "
        "Raise max_params to at least 170, or search smaller networks"
    ]


def test_a_space_of_only_invalid_geometry_says_so() -> None:
    found = errors_of(
        "stem: [{type: conv, filters: 8, kernel_size: {choice: [9, 11]}, padding: valid}]\n" + HEAD, validate=True
    )
    assert len(found) == 1
    assert found[0].startswith(
        "<string>:1:1: the space has no valid network: all 34 sampled candidates are rejected (34 geometry). "
        "First problem: <string>:3:8: stem[0]: output size would be 0x0"
    )


# -- conditional activity ------------------------------------------------------------------------

BLOCK_CHOICE = """\
stages:
  - block:
      choice:
        - {type: residual, filters: {choice: [8, 16]}, dropout: {float: [0.0, 0.5]}}
        - {type: bottleneck, filters: {int: [4, 8]}, expansion: {choice: [2, 4]}}
        - {type: depthwise, filters: 8}
head: {classes: 10}
"""


def test_values_inside_an_unchosen_option_are_not_active() -> None:
    space = space_of(BLOCK_CHOICE)
    assert [p.name for p in space.parameters] == [
        "stages[0].block",
        "stages[0].block(residual).filters",
        "stages[0].block(residual).dropout",
        "stages[0].block(bottleneck).filters",
        "stages[0].block(bottleneck).expansion",
    ]
    seen = set()
    for seed in range(200):
        values = space.sample_values(random.Random(seed))
        concrete = space.concretize(values)
        chosen = values["stages[0].block"]
        assert set(concrete.active) == set(values)
        assert all(name == "stages[0].block" or f"({chosen})" in name for name in values)
        assert concrete.data["stages"][0]["block"]["type"] == chosen
        seen.add(chosen)
    assert seen == {"residual", "bottleneck", "depthwise"}


def test_concretize_ignores_values_of_inactive_parameters() -> None:
    space = space_of(BLOCK_CHOICE)
    concrete = space.concretize(
        {"stages[0].block": "depthwise", "stages[0].block(residual).filters": 16, "tuner/epochs": 3}
    )
    assert concrete.active == {"stages[0].block": "depthwise"}
    assert concrete.data["stages"] == [{"block": {"type": "depthwise", "filters": 8}}]


def test_a_value_outside_its_marker_is_an_error() -> None:
    space = space_of(BLOCK_CHOICE)
    with pytest.raises(CandidateError) as caught:
        space.concretize({"stages[0].block": "residual", "stages[0].block(residual).filters": 12})
    assert str(caught.value) == "stages[0].block.choice[0].filters: 12 is not a value of this marker (choice of 8, 16)"


def test_a_searched_list_length_makes_items_conditional() -> None:
    space = space_of(
        "stages:\n  list: {block: {type: residual, filters: {choice: [8, 16]}}, repeat: {int: [1, 2]}}\n"
        "  length: {int: [1, 3]}\n" + HEAD
    )
    conditions = {p.name: [(c.parent, c.values) for c in p.conditions] for p in space.parameters}
    assert conditions["stages[0].block.filters"] == []
    assert conditions["stages[1].block.filters"] == [("stages.length", (2, 3))]
    assert conditions["stages[2].repeat"] == [("stages.length", (3,))]
    concrete = space.concretize(
        {"stages.length": 2, "stages[0].block.filters": 16, "stages[1].block.filters": 8, "stages[2].block.filters": 16}
    )
    assert [stage["block"]["filters"] for stage in concrete.data["stages"]] == [16, 8]
    assert "stages[2].block.filters" not in concrete.active
    assert space.blueprint(concrete).stages[1].repeat == 1


def test_pattern_form_n_m_k_and_filters_are_searchable() -> None:
    space = load_space("pattern")
    names = {p.name for p in space.parameters}
    assert {"pattern.N", "pattern.M", "pattern.K", "pattern.filters.start", "pattern.filters.growth"} <= names
    concrete = space.concretize({"pattern.N": 2, "pattern.M": 2, "pattern.K": 1, "pattern.filters.start": 16})
    blueprint = space.blueprint(concrete).resolve()
    assert [len(stage.blocks) for stage in blueprint.stages] == [3, 3]
    assert [stage.blocks[0].filters for stage in blueprint.stages] == [16, 24]


def test_expressions_read_named_values_and_constraints_filter_them() -> None:
    space = load_space("compound_scaling")
    concrete = space.concretize({"alpha": 1.2, "beta": 1.1, "gamma": 1.15})
    assert concrete.data["scaling"] == {
        "depth_multiplier": 1.2,
        "width_multiplier": 1.1,
        "resolution": 37,
        "divisor": 4,
    }
    assert concrete.named == {"alpha": 1.2, "beta": 1.1, "gamma": 1.15}
    [(constraint, _)] = space.constraints
    assert constraint.evaluate(concrete.named) is True
    assert constraint.evaluate({"alpha": 1.0, "beta": 1.0, "gamma": 1.0}) is False


def test_grid_walks_active_values_only() -> None:
    space = space_of(BLOCK_CHOICE.replace("{float: [0.0, 0.5]}", "{float: [0.0, 0.5], step: 0.5}"))
    grid = list(space.grid())
    # residual: 2 filters x 2 dropouts; bottleneck: 5 filters x 2 expansions; depthwise: 1
    assert len(grid) == 4 + 10 + 1
    assert grid[-1] == {"stages[0].block": "depthwise"}


def test_grid_needs_a_step_on_floats() -> None:
    found = errors_of(BLOCK_CHOICE + "search: {tuner: grid}\n", validate=True)
    assert found == [
        "<string>:6:65: stages[0].block.choice[0].dropout: grid search needs a `step` on every float marker"
    ]


def test_option_labels() -> None:
    assert option_labels([3, 5]) == [3, 5]
    assert option_labels([1, 1.5]) == ["1", "1.5"]
    assert option_labels([{"type": "residual"}, {"type": "bottleneck"}]) == ["residual", "bottleneck"]
    assert option_labels([{"block": {"type": "fire"}}, {"block": {"type": "mlpconv"}}]) == ["fire", "mlpconv"]
    assert option_labels([None, {"type": "max_pool"}]) == ["null", "max_pool"]
    assert option_labels([[64], [128, 64]]) == ["[64]", "[128, 64]"]


def test_settings_can_be_overridden() -> None:
    space = load_space("pattern", max_trials=3, epochs=1, data="digits")
    assert (space.settings.max_trials, space.settings.epochs) == (3, 1)
    with pytest.raises(BlueprintError, match=r"search.max_trials: must be >= 1. Received: 0"):
        load_space("pattern", max_trials=0)


def test_set_values_go_to_a_source_not_to_a_parsed_space() -> None:
    space = load_space("pattern", set_values={"head.classes": 4})
    assert space.template["head"]["classes"] == 4
    assert load_space(space, max_trials=2).settings.max_trials == 2
    with pytest.raises(TypeError, match="already parsed"):
        load_space(space, set_values={"head.classes": 3})


def test_unknown_shipped_space_has_a_did_you_mean() -> None:
    with pytest.raises(BlueprintError) as caught:
        load_space("patern")
    assert str(caught.value) == (
        "patern: no such file, and no shipped search space 'patern'. Did you mean 'pattern'? "
        "Shipped spaces: blocks, compound_scaling, pattern."
    )


TINY_GRID = """\
name: g
input: {shape: [8, 8, 1]}
stem: [{type: conv, filters: {choice: [4, 8]}, kernel_size: 3}]
head: {classes: 10}
training: {optimizer: {type: adam, learning_rate: 0.01}}
search: {tuner: grid, data: digits}
"""


# -- wide ranges: no grid is made to sample, probe or check a marker ------------------------------------------


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("training.optimizer.learning_rate", "{float: [0.001, 1000], step: 0.001}"),
        ("training.optimizer.learning_rate", "{float: [1.0, 1000000], step: 0.05}"),
        ("training.seed", "{int: [0, 2147483647]}"),
        ("training.optimizer.learning_rate", "{float: [0.0001, 1000000], step: 1.0001, log: true}"),
    ],
)
def test_a_wide_marker_validates_without_making_its_grid(
    path: str, marker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archbuilder.search.parameters import FloatParameter, IntParameter

    def refuse(self):  # the list of every value: billions of them
        raise AssertionError(f"{self.name}: grid() made")

    monkeypatch.setattr(IntParameter, "grid", refuse)
    monkeypatch.setattr(FloatParameter, "grid", refuse)
    space = load_space("pattern", set_values={path: yaml.safe_load(marker)})
    check = validate_space(space, samples=16)
    assert check.valid > 0
    [parameter] = [p for p in space.parameters if p.name == path]
    assert parameter.size() > 100_000 and parameter.contains(parameter.value_at(parameter.size() - 1))


def test_a_grid_search_over_a_wide_marker_is_refused_with_its_size() -> None:
    space = load_space(TINY_GRID, set_values={"training.seed": {"int": [0, 2147483647]}})
    with pytest.raises(BlueprintError, match=r"grid search would walk 2,147,483,648 values of training.seed"):
        validate_space(space)


@pytest.mark.parametrize(
    "marker",
    [
        {"int": [3, 40], "step": 4},
        {"int": [2, 1000], "step": 3, "log": True},
        {"float": [0.1, 1.0], "step": 0.1},
        {"float": [0.5, 9.0], "step": 0.25},
        {"float": [0.001, 1.0], "step": 10, "log": True},
        {"float": [1.0, 2.0], "step": 1.1, "log": True},
    ],
)
def test_size_and_value_at_agree_with_the_grid(marker: dict) -> None:
    from archbuilder.search.parameters import FloatParameter

    space = load_space(TINY_GRID, set_values={"training.optimizer.learning_rate": marker})
    [parameter] = [p for p in space.parameters if p.name == "training.optimizer.learning_rate"]
    grid = parameter.grid()
    assert parameter.size() == len(grid) and list(parameter.values()) == grid
    assert grid[0] == parameter.value_at(0) and grid[-1] == parameter.value_at(len(grid) - 1)
    if isinstance(parameter, FloatParameter):
        assert all(parameter.on_grid(value) for value in grid)
        assert not parameter.on_grid((grid[0] + grid[1]) / 2)

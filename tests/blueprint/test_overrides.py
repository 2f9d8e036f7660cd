"""Overrides (``--set PATH=VALUE``, ``load_blueprint(..., overrides=...)``): paths, values, where problems point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import archbuilder
from archbuilder.blueprint import BlueprintError
from archbuilder.blueprint.io import load_blueprint, load_blueprint_data
from archbuilder.blueprint.overrides import Override, apply_overrides, as_overrides, parse_assignment, parse_path

NET = """\
name: net
input: {shape: [16, 16, 3]}
stages:
  - {block: {type: residual, filters: 8}}
  - {block: {type: residual, filters: 16}, strides: 2}
head: {classes: 10}
"""

PATTERN = """\
name: plain
input: {shape: [32, 32, 3]}
pattern:
  conv: {kernel_size: 3}
  N: 2
  M: 3
  filters: {start: 16, growth: 2}
head: {classes: 10}
training: {optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9}, epochs: 3}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def lines(error: pytest.ExceptionInfo[BlueprintError]) -> list[str]:
    return [str(problem) for problem in error.value.problems]


# -- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, location",
    [
        ("head.classes", ("head", "classes")),
        ("stages[1].repeat", ("stages", 1, "repeat")),
        ("training.optimizer.learning_rate", ("training", "optimizer", "learning_rate")),
        ("pattern.filters.start", ("pattern", "filters", "start")),
        ("stem[0]", ("stem", 0)),
        ("head.fc[1]", ("head", "fc", 1)),
        ("a[0][2].b", ("a", 0, 2, "b")),
        ("pattern.N", ("pattern", "N")),
    ],
)
def test_parse_path(text: str, location: tuple[str | int, ...]) -> None:
    assert parse_path(text) == location


EXPECTED_PATH = "write it as errors show it, e.g. head.classes, stages[1].repeat, training.optimizer.learning_rate"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", f"the path is empty; {EXPECTED_PATH}"),
        ("head..classes", f"'head..classes' is not a path (at character 5); {EXPECTED_PATH}"),
        (".head", f"'.head' is not a path (at character 1); {EXPECTED_PATH}"),
        ("[0]", f"'[0]' is not a path (at character 1); {EXPECTED_PATH}"),
        ("head.", f"'head.' is not a path (at character 5); {EXPECTED_PATH}"),
        ("stages[-1]", f"'stages[-1]' is not a path (at character 7); {EXPECTED_PATH}"),
        ("stages[x]", f"'stages[x]' is not a path (at character 7); {EXPECTED_PATH}"),
        ("stages 1", f"'stages 1' is not a path (at character 7); {EXPECTED_PATH}"),
        ("head\nclasses", f"'head\\nclasses' is not a path (at character 5); {EXPECTED_PATH}"),
    ],
)
def test_malformed_paths(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_path(text)
    assert str(error.value) == message


# -- values (YAML) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, value",
    [
        ("head.classes=10", 10),
        ("training.optimizer.learning_rate=1e-3", 0.001),
        ("head.dropout=0.5", 0.5),
        ("defaults.batch_norm=true", True),
        ("head.activation=sigmoid", "sigmoid"),
        ("head.fc=[256, 128]", [256, 128]),
        ("head={classes: 3, pool: global_max}", {"classes": 3, "pool": "global_max"}),
        ("stages[0].repeat={int: [1, 3]}", {"int": [1, 3]}),
        ("defaults.kernel_regularizer=null", None),
        ("defaults.kernel_regularizer=", None),
        ("description='a: b'", "a: b"),
        ("name=x=y", "x=y"),
    ],
)
def test_parse_assignment_reads_the_value_as_yaml(text: str, value: Any) -> None:
    override = parse_assignment(text)
    assert override.value == value
    assert override.label == f"--set {text}"


@pytest.mark.parametrize(
    "text, message",
    [
        ("head.classes", "expected PATH=VALUE (e.g. head.classes=10). Received: 'head.classes'"),
        ("=3", f"the path is empty; {EXPECTED_PATH}"),
        (
            "head.fc=[1,",
            "head.fc: the value '[1,' is not valid YAML (invalid YAML: while parsing a flow node at line 1, "
            "column 4: expected the node content, but found '<stream end>'); quote it for the shell, "
            "e.g. --set 'head.fc=[64, 32]'",
        ),
    ],
)
def test_malformed_assignments(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_assignment(text)
    assert str(error.value) == message


# -- applying ------------------------------------------------------------------------------------


def test_apply_sets_values_in_order_and_leaves_the_data_alone() -> None:
    data = {"head": {"classes": 10}, "stages": [{"repeat": 1}, {"repeat": 2}]}
    overrides = as_overrides(
        {"head": {"classes": 3}, "head.dropout": 0.2, "stages[1].repeat": 4, "head.pool": "flatten"}
    )
    assert apply_overrides(data, overrides) == {
        "head": {"classes": 3, "dropout": 0.2, "pool": "flatten"},
        "stages": [{"repeat": 1}, {"repeat": 4}],
    }
    assert data == {"head": {"classes": 10}, "stages": [{"repeat": 1}, {"repeat": 2}]}


def test_a_set_value_is_a_copy() -> None:
    value = [64, 32]
    result = apply_overrides({"head": {}}, as_overrides({"head.fc": value}))
    result["head"]["fc"].append(16)
    assert value == [64, 32]


MISSING = [
    pytest.param(
        "training.optimizer.learning_rate=0.1",
        "--set training.optimizer.learning_rate=0.1: training.optimizer.learning_rate: cannot set it: "
        "`training` does not exist (nearest existing parent: the top level). Set `training` as a whole "
        "instead",
        id="missing-section",
    ),
    pytest.param(
        "haed.classes=3",
        "--set haed.classes=3: haed.classes: cannot set it: `haed` does not exist (nearest existing parent: "
        "the top level). Did you mean 'head'? Set `haed` as a whole instead",
        id="typo-did-you-mean",
    ),
    pytest.param(
        "head.pool.size=3",
        "--set head.pool.size=3: head.pool.size: cannot set it: `head.pool` does not exist (nearest existing "
        "parent: `head`). Set `head.pool` as a whole instead",
        id="missing-in-section",
    ),
    pytest.param(
        "stages[5].repeat=2",
        "--set stages[5].repeat=2: stages[5].repeat: cannot set it: `stages[5]` does not exist: `stages` (the "
        "nearest existing parent) has 2 items (stages[0] to stages[1]). Set `stages` to a whole list instead",
        id="index-out-of-range",
    ),
    pytest.param(
        "stem[0].filters=8",
        "--set stem[0].filters=8: stem[0].filters: cannot set it: `stem` does not exist (nearest existing "
        "parent: the top level). Did you mean 'stages'? Set `stem` as a whole instead",
        id="missing-list",
    ),
    pytest.param(
        "stages.repeat=2",
        "--set stages.repeat=2: stages.repeat: cannot set it: `stages` is a list, not a mapping, so it has no "
        "key 'repeat'",
        id="key-on-a-list",
    ),
    pytest.param(
        "head[0]=2",
        "--set head[0]=2: head[0]: cannot set it: `head` is a mapping, not a list, so it has no item [0]",
        id="index-on-a-mapping",
    ),
    pytest.param(
        "head.classes.value=2",
        "--set head.classes.value=2: head.classes.value: cannot set it: `head.classes` is a number (10), not a "
        "mapping, so it has no key 'value'",
        id="key-on-a-number",
    ),
    pytest.param(
        "name.x=2",
        "--set name.x=2: name.x: cannot set it: `name` is a string ('net'), not a mapping, so it has no key 'x'",
        id="key-on-a-string",
    ),
]


@pytest.mark.parametrize("text, message", MISSING)
def test_a_path_that_does_not_exist_names_its_nearest_parent(text: str, message: str) -> None:
    data, _ = load_blueprint_data(NET)
    with pytest.raises(BlueprintError) as error:
        apply_overrides(data, [parse_assignment(text)])
    assert lines(error) == [message]


def test_every_bad_path_is_reported_at_once() -> None:
    data, _ = load_blueprint_data(NET)
    with pytest.raises(BlueprintError) as error:
        apply_overrides(
            data,
            [parse_assignment("x.y=1"), parse_assignment("head.classes=3"), parse_assignment("stages[9].repeat=1")],
        )
    assert [problem.file for problem in error.value.problems] == ["--set x.y=1", "--set stages[9].repeat=1"]


def test_python_keys_must_be_paths() -> None:
    with pytest.raises(BlueprintError) as error:
        as_overrides({"head..classes": 3, 7: 1})  # type: ignore[dict-item]
    assert lines(error) == [
        f"overrides['head..classes']: 'head..classes' is not a path (at character 5); {EXPECTED_PATH}",
        "overrides: an override's key is a path such as head.classes, stages[1].repeat, "
        "training.optimizer.learning_rate. Received: 7",
    ]


# -- loading with overrides ----------------------------------------------------------------------


def test_load_blueprint_from_the_zoo_with_overrides() -> None:
    blueprint = archbuilder.load_blueprint("resnet50", overrides={"head.classes": 10, "stages[1].repeat": 2})
    assert (blueprint.head.classes, blueprint.stages[1].repeat) == (10, 2)
    assert archbuilder.load_blueprint("resnet50").head.classes == 1000


@pytest.mark.parametrize("kind", ["path", "text", "dict", "blueprint"])
def test_every_source_takes_overrides(tmp_path: Path, kind: str) -> None:
    sources: dict[str, Any] = {
        "path": write(tmp_path, "net.yaml", PATTERN),
        "text": PATTERN,
        "dict": load_blueprint_data(PATTERN)[0],
        "blueprint": load_blueprint(PATTERN),
    }
    blueprint = load_blueprint(
        sources[kind], overrides={"pattern.filters.start": 8, "training.optimizer.learning_rate": 0.01, "pattern.M": 2}
    )
    assert blueprint.pattern.filters.start == 8
    assert blueprint.training.optimizer.learning_rate == 0.01
    assert blueprint.pattern.M == 2


def test_overrides_apply_after_extends_merging(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", NET)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\nhead: {dropout: 0.5}\n")
    blueprint = load_blueprint(child, overrides={"head.classes": 4, "stages[0].block.filters": 4})
    assert (blueprint.name, blueprint.head.classes, blueprint.head.dropout) == ("child", 4, 0.5)
    assert blueprint.stages[0].block.filters == 4


def test_a_new_field_of_an_existing_mapping_is_set_then_validated(tmp_path: Path) -> None:
    path = write(tmp_path, "net.yaml", NET)
    assert load_blueprint(path, overrides={"head.dropout": 0.25}).head.dropout == 0.25
    with pytest.raises(BlueprintError) as error:
        load_blueprint(path, overrides={"head.clases": 3})
    assert lines(error) == [
        "overrides['head.clases']: head.clases: unknown key 'clases'. Did you mean 'classes'? "
        "Valid keys here: activation, classes, classifier, dropout, fc, fc_dropout, "
        "kernel_initializer, layers, name, pool."
    ]


def test_a_problem_at_an_overridden_value_names_the_override(tmp_path: Path) -> None:
    path = write(tmp_path, "net.yaml", NET + "defaults: {activation: relu}\n")
    overrides = [parse_assignment("head.classes=-1"), parse_assignment("defaults={activation: relux}")]
    with pytest.raises(BlueprintError) as error:
        load_blueprint(path, overrides=overrides)
    found = sorted(lines(error))
    assert found[0].startswith("--set defaults={activation: relux}: defaults.activation: ")
    assert found[0].endswith("Received: 'relux'. Did you mean 'relu'?")
    assert found[1:] == ["--set head.classes=-1: head.classes: must be >= 1. Received: -1"]


def test_problems_elsewhere_keep_their_file_position(tmp_path: Path) -> None:
    path = write(tmp_path, "net.yaml", NET.replace("filters: 16}", "filters: 0}"))
    with pytest.raises(BlueprintError) as error:
        load_blueprint(path, overrides={"head.classes": -1})
    assert lines(error) == [
        "overrides['head.classes']: head.classes: must be >= 1. Received: -1",
        f"{path}:5:39: stages[1].block.filters: must be >= 1. Received: 0",
    ]


def test_the_last_override_of_a_value_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "net.yaml", NET)
    overrides = [parse_assignment("head={classes: 0}"), parse_assignment("head.classes=-3")]
    with pytest.raises(BlueprintError) as error:
        load_blueprint(path, overrides=overrides)
    assert lines(error) == ["--set head.classes=-3: head.classes: must be >= 1. Received: -3"]


def test_an_analysis_problem_at_an_overridden_value_names_the_override(tmp_path: Path) -> None:
    path = write(tmp_path, "net.yaml", "name: n\ninput: {shape: [8, 8, 3]}\nstem:\n  - {type: conv, filters: 8}\n")
    with pytest.raises(BlueprintError) as error:
        archbuilder.analyze(path, [parse_assignment("stem=[{type: conv, filters: 8, kernel_size: 9}]")])
    assert lines(error) == [
        "--set stem=[{type: conv, filters: 8, kernel_size: 9}]: stem[0]: output size would be 0x0 (input 8x8, "
        "kernel_size=9, strides=1, padding='valid'). Use padding='same', a smaller kernel, or remove a downsampling "
        "stage."
    ]
    overrides = [parse_assignment("stem[0].padding=same"), parse_assignment("stem[0].filters=4")]
    analysis = archbuilder.analyze(path, overrides)
    assert analysis.params == 3 * 3 * 3 * 4 + 4
    with pytest.raises(BlueprintError) as error:  # a dict or a Blueprint with overrides: the same positions
        archbuilder.analyze(
            archbuilder.load_blueprint(path), {"stem": [{"type": "conv", "filters": 8, "kernel_size": 9}]}
        )
    assert lines(error)[0].startswith("overrides['stem']: stem[0]: output size would be 0x0")


def test_load_space_takes_overrides_with_markers() -> None:
    from archbuilder.search import load_space

    space = load_space("pattern", set_values={"head.classes": 5, "pattern.N": {"int": [1, 2]}, "search.max_trials": 3})
    assert space.raw["head"]["classes"] == 5
    assert space.by_name["pattern.N"].grid() == [1, 2]
    assert space.settings.max_trials == 3
    with pytest.raises(BlueprintError) as error:
        load_space("pattern", set_values=[parse_assignment("pattern.N={int: [2, 1]}")])
    assert lines(error) == ["--set pattern.N={int: [2, 1]}: pattern.N.int: min 2 is greater than max 1"]


def test_override_labels_are_kept() -> None:
    override = Override(("head", "classes"), 3, "--set head.classes=3")
    assert override.path == "head.classes"
    assert as_overrides([override]) == [override]
    assert as_overrides(None) == []

"""The JSON Schemas (``archbuilder schema``, ``archbuilder schema --space``) accept what archbuilder accepts.

Checked with the standard ``jsonschema`` validator, as an editor (yaml-language-server) would: every
zoo file against the blueprint schema, ``extends`` files included; every shipped search space
against the space schema; and the shipped schema files are current.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from archbuilder.blueprint.yaml_source import parse_yaml, read_yaml_file
from archbuilder.schema import BLUEPRINT_SCHEMA_FILE, SPACE_SCHEMA_FILE, blueprint_schema, space_schema
from archbuilder.search.loading import SPACES_DIR, list_spaces
from archbuilder.zoo import blueprint_path, list_blueprints

jsonschema = pytest.importorskip("jsonschema")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def blueprint_validator() -> Any:
    schema = blueprint_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def space_validator() -> Any:
    schema = space_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator: Any, data: Any) -> list[str]:
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '<top>'}: {error.message[:200]}"
        for error in validator.iter_errors(data)
    ]


def rejected_at(validator: Any, data: Any, where: str) -> bool:
    """Whether some error is at ``where``, or at a value above it (an anyOf reports where its options part)."""
    path = () if where == "<top>" else tuple(where.split("."))
    found = [tuple(map(str, error.absolute_path)) for error in validator.iter_errors(data)]
    return any(path[: len(at)] == at for at in found if at) or (not path and () in found)


def yaml(text: str) -> Any:
    return parse_yaml(text)[0]


def test_every_zoo_file_is_valid_under_the_blueprint_schema(blueprint_validator: Any) -> None:
    found = {name: errors(blueprint_validator, read_yaml_file(blueprint_path(name))[0]) for name in list_blueprints()}
    assert {name: problems for name, problems in found.items() if problems} == {}
    assert any("extends" in read_yaml_file(blueprint_path(name))[0] for name in found)  # efficientnet_b1, ...


@pytest.mark.parametrize("name", ["vgg16", "efficientnet_b1", "googlenet", "resnet50"])
def test_a_blueprint_is_a_valid_space_too(space_validator: Any, name: str) -> None:
    assert errors(space_validator, read_yaml_file(blueprint_path(name))[0]) == []


@pytest.mark.parametrize("name", list_spaces())
def test_every_shipped_space_is_valid_under_the_space_schema(
    space_validator: Any, blueprint_validator: Any, name: str
) -> None:
    data = read_yaml_file(SPACES_DIR / f"{name}.yaml")[0]
    assert errors(space_validator, data) == []
    assert errors(blueprint_validator, data) != []  # markers are not blueprint values


@pytest.mark.parametrize(
    "text, where",
    [
        pytest.param("input: {shape: [8, 8, 1]}\nstem: [{type: flatten}]\n", "<top>", id="no-name"),
        pytest.param(
            "name: x\ninput: {shape: [8, 8, 1]}\nstem: [{type: flatten}]\nnope: 1\n", "<top>", id="unknown-key"
        ),
        pytest.param("extends: vgg16\nhead: {classes: 3, clases: 3}\n", "head", id="unknown-key-in-a-partial-mapping"),
        pytest.param("extends: vgg16\nstem: [{type: conv}]\n", "stem.0", id="list-items-stay-whole"),
        pytest.param("extends: 3\n", "extends", id="extends-is-a-string"),
        pytest.param("extends: vgg16\nhead: {classes: 0}\n", "head.classes", id="bounds-still-apply"),
    ],
)
def test_the_blueprint_schema_rejects(blueprint_validator: Any, text: str, where: str) -> None:
    assert rejected_at(blueprint_validator, yaml(text), where), errors(blueprint_validator, yaml(text))


def test_an_extends_file_gives_only_what_changes(blueprint_validator: Any) -> None:
    data = yaml(
        "extends: resnet50\nname: r10\nhead: {classes: 10}\ntraining: {optimizer: {learning_rate: 0.01}}\n"
        "defaults: {batch_norm: true}\ninput: {}\n"
    )
    assert errors(blueprint_validator, data) == []


MARKED = """\
name: s
input: {shape: [8, 8, {choice: [1, 3]}]}
defaults: {batch_norm: {bool: {}}, activation: {choice: [relu, swish]}}
stem:
  - {type: conv, filters: {int: [8, 32], step: 8, name: width}, kernel_size: {choice: [3, [3, 5]]}}
stages:
  length: {int: [1, 3]}
  list:
    block:
      choice:
        - {type: residual, filters: {expr: "width * 2"}}
        - {type: bottleneck, filters: 8, expansion: {choice: [2, 4]}}
    repeat: {int: [1, 2]}
head: {classes: 10, dropout: {float: [0.0, 0.5], step: 0.25, default: 0.25}, fc: {choice: [[], [64]]}}
training: {optimizer: {type: adam, learning_rate: {float: [0.0001, 0.01], log: true}}}
search:
  tuner: random
  max_trials: 4
  variables: {gamma: {float: [1.0, 1.5], step: 0.05}}
  constraints: ["width <= 32"]
  budgets: {max_params: 100000}
"""


def test_markers_are_valid_anywhere_in_a_space(space_validator: Any) -> None:
    assert errors(space_validator, yaml(MARKED)) == []


@pytest.mark.parametrize(
    "old, new, where",
    [
        pytest.param("{int: [8, 32], step: 8, name: width}", "{int: [8], step: 8}", "stem.0.filters", id="int-range"),
        pytest.param("{bool: {}}", "{bool: {}, step: 2}", "defaults.batch_norm", id="marker-modifier"),
        pytest.param("{type: residual, filters:", "{type: residual, filtres:", "stages", id="typo-in-a-choice-option"),
        pytest.param("tuner: random", "tuner: randm", "search.tuner", id="search-settings"),
        pytest.param(
            "{gamma: {float: [1.0, 1.5], step: 0.05}}",
            "{gamma: 3}",
            "search.variables.gamma",
            id="variables-are-markers",
        ),
        pytest.param("length: {int: [1, 3]}", "length: {float: [1, 3]}", "stages", id="list-length"),
        pytest.param("name: s\n", "name: s\nsearh: {}\n", "<top>", id="unknown-section"),
    ],
)
def test_the_space_schema_rejects(space_validator: Any, old: str, new: str, where: str) -> None:
    assert MARKED.count(old) == 1
    data = yaml(MARKED.replace(old, new))
    assert rejected_at(space_validator, data, where), errors(space_validator, data)


@pytest.mark.parametrize(
    "schema, file, regenerate",
    [
        (
            blueprint_schema,
            BLUEPRINT_SCHEMA_FILE,
            "archbuilder schema -o archbuilder/zoo/archbuilder-blueprint.schema.json",
        ),
        (
            space_schema,
            SPACE_SCHEMA_FILE,
            "archbuilder schema --space -o archbuilder/search/archbuilder-space.schema.json",
        ),
    ],
    ids=["blueprint", "space"],
)
def test_the_shipped_schema_files_are_current(schema: Any, file: Path, regenerate: str) -> None:
    assert json.loads(file.read_text(encoding="utf-8")) == json.loads(json.dumps(schema())), f"regenerate: {regenerate}"
    beside = ROOT / file.name  # editors reach it as ../NAME from blueprints/ and search/
    assert beside.resolve() == file.resolve()


def test_the_space_schema_covers_every_blueprint_kind_and_search_setting() -> None:
    from archbuilder.blueprint.kinds import ALL_KINDS
    from archbuilder.search.settings import SearchSettings

    text = json.dumps(space_schema())
    assert sorted(tag for tag in ALL_KINDS if f'"{tag}"' not in text) == []
    settings = space_schema()["$defs"]["SearchSettings"]["properties"]
    assert set(settings) == set(SearchSettings.model_fields)

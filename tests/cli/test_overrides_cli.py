"""Journeys with ``--set``, ``extends: <zoo name>``, ``validate`` on search spaces and ``schema --space/--markdown``,
each command as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import archbuilder
from archbuilder.search.loading import SPACES_DIR
from tests.commands import archbuilder as archbuilder_cli

TINY = """\
name: tiny
input: {shape: [8, 8, 1]}
stem: [{type: conv, filters: 4, kernel_size: 3, padding: same}]
head: {classes: 10}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_validate_names_the_override_that_broke_a_value(tiny: Path) -> None:
    result = archbuilder_cli(
        "validate", "tiny.yaml", "--set", "head.classes=-1", "--set", "stem[0].filters=8", cwd=tiny.parent
    )
    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout.splitlines() == [
        "--set head.classes=-1: head.classes: must be >= 1. Received: -1",
        "tiny.yaml: invalid (1 error)",
    ]


def test_validate_with_a_path_that_does_not_exist(tiny: Path) -> None:
    result = archbuilder_cli("validate", "tiny.yaml", "vgg16", "--set", "backbone.trainable=true", cwd=tiny.parent)
    assert result.returncode == 1
    message = (
        "--set backbone.trainable=true: backbone.trainable: cannot set it: `backbone` does not exist (nearest "
        "existing parent: the top level). Set `backbone` as a whole instead"
    )
    assert result.stdout.splitlines() == [message, "tiny.yaml: invalid (1 error)", message, "vgg16: invalid (1 error)"]


def test_validate_applies_overrides_to_every_file(tiny: Path) -> None:
    result = archbuilder_cli("validate", "tiny.yaml", "lenet5", "--set", "head.classes=3", cwd=tiny.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    params = [
        archbuilder.analyze(archbuilder.load_blueprint(source, overrides={"head.classes": 3})).params
        for source in (tiny, "lenet5")
    ]
    assert [line.split("layers, ")[1] for line in result.stdout.splitlines()] == [f"{n:,} params)" for n in params]


@pytest.mark.parametrize(
    "value, message",
    [
        ("head.classes", "argument --set: expected PATH=VALUE (e.g. head.classes=10). Received: 'head.classes'"),
        (
            "head..classes=3",
            "argument --set: 'head..classes' is not a path (at character 5); write it as errors show "
            "it, e.g. head.classes, stages[1].repeat, training.optimizer.learning_rate",
        ),
    ],
)
def test_a_malformed_set_is_a_usage_error(tiny: Path, value: str, message: str) -> None:
    result = archbuilder_cli("summary", "tiny.yaml", "--set", value, cwd=tiny.parent)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"archbuilder summary: error: {message}"


def test_summary_of_a_zoo_entry_with_overrides(tmp_path: Path) -> None:
    result = archbuilder_cli(
        "summary", "resnet50", "--json", "--set", "head.classes=10", "--set", "input.shape=[64, 64, 3]", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    expected = archbuilder.analyze(
        archbuilder.load_blueprint("resnet50", overrides={"head.classes": 10, "input.shape": [64, 64, 3]})
    )
    assert json.loads(result.stdout)["params"] == expected.params


def test_extends_a_zoo_name_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "r10.yaml").write_text("extends: resnet18\nname: r10\nhead: {classes: 10}\n", encoding="utf-8")
    result = archbuilder_cli("validate", "r10.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    params = archbuilder.analyze(archbuilder.load_blueprint("resnet18", overrides={"head.classes": 10})).params
    assert result.stdout.startswith("r10.yaml: ok (") and f"{params:,} params" in result.stdout


def test_build_with_overrides_writes_them_into_the_resolved_blueprint(tiny: Path) -> None:
    result = archbuilder_cli(
        "build", "tiny.yaml", "-o", "tiny.keras", "--set", "head.classes=3", "--set", "head.fc=[16]", cwd=tiny.parent
    )
    assert result.returncode == 0, result.stderr
    resolved = archbuilder.load_blueprint(tiny.parent / "tiny.blueprint.yaml")
    assert (resolved.head.classes, resolved.head.fc) == (3, [16])


def test_train_with_overrides(tiny: Path) -> None:
    result = archbuilder_cli(
        "train",
        "tiny.yaml",
        "--data",
        "digits",
        "--epochs",
        "1",
        "-o",
        "run",
        "--set",
        "training={optimizer: {type: adam, learning_rate: 0.01}, batch_size: 64}",
        "--set",
        "head.fc=[16]",
        cwd=tiny.parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    recorded = archbuilder.load_blueprint(tiny.parent / "run" / "blueprint.yaml")
    assert recorded.head.fc == [16]
    assert (recorded.training.optimizer.learning_rate, recorded.training.batch_size) == (0.01, 64)


def test_search_check_with_overrides_markers_included(tmp_path: Path) -> None:
    result = archbuilder_cli(
        "search",
        "blocks",
        "--check",
        "--set",
        "head.dropout={float: [0.0, 0.3], step: 0.1}",
        "--set",
        "search.max_trials=3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "  head.dropout: float 0..0.3 step 0.1" in result.stdout.splitlines()
    bad = archbuilder_cli("search", "blocks", "--check", "--set", "search.tuner=best", cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.startswith("--set search.tuner=best: search.tuner: ")


def test_validate_checks_a_search_space_as_search_check_does(tmp_path: Path) -> None:
    result = archbuilder_cli("validate", str(SPACES_DIR / "blocks.yaml"), "pattern", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    first, second = result.stdout.splitlines()
    assert first.startswith(f"{SPACES_DIR / 'blocks.yaml'}: ok (search space: 24 hyperparameters, ")
    assert second.startswith("pattern: ok (search space: ")
    assert "Input should be" not in result.stdout


def test_validate_reports_a_broken_space_with_positions(tmp_path: Path) -> None:
    space = (SPACES_DIR / "pattern.yaml").read_text(encoding="utf-8").replace("N: {int: [1, 3]}", "N: {int: [3, 1]}")
    (tmp_path / "space.yaml").write_text(space, encoding="utf-8")
    line = next(number for number, text in enumerate(space.splitlines(), 1) if "N: {int: [3, 1]}" in text)
    result = archbuilder_cli("validate", "space.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"space.yaml:{line}:12: pattern.N.int: min 3 is greater than max 1",
        "space.yaml: invalid (1 error)",
    ]


def test_schema_writes_the_space_schema_and_the_reference(tmp_path: Path) -> None:
    from archbuilder.reference import format_reference
    from archbuilder.schema import space_schema

    assert archbuilder_cli("schema", "--space", "-o", "space.json", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "space.json").read_text(encoding="utf-8")) == json.loads(json.dumps(space_schema()))
    result = archbuilder_cli("schema", "--markdown", "-o", "format.md", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "wrote format.md\n")
    assert (tmp_path / "format.md").read_text(encoding="utf-8") == format_reference()

"""``extends: <zoo name>``: a blueprint built on a zoo entry, from any folder; a local file of that name wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from archbuilder import zoo
from archbuilder.blueprint import BlueprintError, load_blueprint

SMALL_BASE = """\
name: local_base
input: {shape: [8, 8, 1]}
stem: [{type: conv, filters: 4, kernel_size: 3, padding: same}]
head: {classes: 3}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("reference", ["resnet50", "resnet50.yaml"])
def test_extends_a_zoo_name_from_any_folder(tmp_path: Path, reference: str) -> None:
    child = write(tmp_path, "nets/mine.yaml", f"extends: {reference}\nname: mine\nhead: {{classes: 10}}\n")
    blueprint = load_blueprint(child)
    base = zoo.load_zoo_blueprint("resnet50")
    assert (blueprint.name, blueprint.head.classes) == ("mine", 10)
    assert blueprint.stages == base.stages and blueprint.stem == base.stem
    assert blueprint.head.pool == base.head.pool  # the head mapping merged, not replaced


def test_a_zoo_entry_that_extends_another_works_as_a_base(tmp_path: Path) -> None:
    """efficientnet_b1 itself extends efficientnet_b0.yaml (a path beside it, in the zoo)."""
    child = write(tmp_path, "b1_10.yaml", "extends: efficientnet_b1\nname: b1_10\nhead: {classes: 10}\n")
    blueprint = load_blueprint(child)
    assert blueprint.scaling == zoo.load_zoo_blueprint("efficientnet_b1").scaling
    assert blueprint.head.classes == 10


@pytest.mark.parametrize("reference", ["resnet50", "resnet50.yaml"])
def test_a_local_file_wins_over_the_zoo(tmp_path: Path, reference: str) -> None:
    write(tmp_path, "resnet50.yaml", SMALL_BASE)
    child = write(tmp_path, "child.yaml", f"extends: {reference}\nname: child\n")
    blueprint = load_blueprint(child)
    assert blueprint.input.shape == (8, 8, 1)
    assert blueprint.head.classes == 3


def test_an_unknown_name_gets_the_zoos_did_you_mean(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "name: child\nextends: resnet5\n")
    with pytest.raises(BlueprintError) as error:
        load_blueprint(child)
    (problem,) = error.value.problems
    looked_for = (tmp_path / "resnet5.yaml").resolve()
    assert (problem.path, problem.line, problem.column) == ("extends", 2, 10)
    assert problem.message == (
        f"`extends: resnet5` names no file (looked for {looked_for}) and no zoo blueprint has that name. Did you mean "
        "'resnet50'? Give a path relative to this file, or a zoo name (`archbuilder zoo list`)"
    )


def test_a_path_with_folders_is_never_a_zoo_name(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "extends: lib/resnet50.yaml\n")
    with pytest.raises(BlueprintError) as error:
        load_blueprint(child)
    looked_for = (tmp_path / "lib" / "resnet50.yaml").resolve()
    assert error.value.problems[0].message == (
        f"`extends: lib/resnet50.yaml` names no file (looked for {looked_for}); give a path relative to this file"
    )


def test_problems_in_the_extending_file_point_at_it(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "extends: vgg16\nname: child\nhead: {classes: 0}\n")
    with pytest.raises(BlueprintError) as error:
        load_blueprint(child)
    assert [str(problem) for problem in error.value.problems] == [
        f"{child}:3:17: head.classes: must be >= 1. Received: 0"
    ]


def test_load_blueprint_takes_a_zoo_name_and_says_when_there_is_none() -> None:
    assert load_blueprint("lenet5") == zoo.load_zoo_blueprint("lenet5")
    with pytest.raises(BlueprintError) as error:
        load_blueprint("lenet")
    assert str(error.value).startswith("lenet: no such file, and no zoo blueprint 'lenet'. Did you mean 'lenet5'?")

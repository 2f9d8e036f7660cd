"""The zoo API: names, paths, loading, and a zoo name working wherever a file path does."""

from __future__ import annotations

from pathlib import Path

import pytest

from archbuilder import zoo
from archbuilder.blueprint import Blueprint, BlueprintError, catalog

TINY = """\
name: tiny
input: {shape: [8, 8, 3]}
stem: [{type: conv, filters: 4, kernel_size: 3}]
head: {classes: 10}
"""


@pytest.fixture
def fake_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "zoo"
    folder.mkdir()
    for name in ("resnet18", "resnet50", "vgg16"):
        (folder / f"{name}.yaml").write_text(TINY.replace("tiny", name), encoding="utf-8")
    (folder / "notes.txt").write_text("not a blueprint", encoding="utf-8")
    (folder / "mobilenet.yml").write_text(TINY.replace("tiny", "mobilenet"), encoding="utf-8")
    monkeypatch.setattr(catalog, "zoo_dir", lambda: folder)  # where the zoo's names are looked up
    return folder


def test_zoo_dir_is_the_package_folder() -> None:
    folder = zoo.zoo_dir()
    assert folder.is_dir()
    assert folder == Path(zoo.__file__).parent / "blueprints"
    assert (folder / "vgg16.yaml").is_file()


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*", ["mobilenet", "resnet18", "resnet50", "vgg16"]),
        ("*resnet*", ["resnet18", "resnet50"]),
        ("vgg16", ["vgg16"]),
        ("resnet?0", ["resnet50"]),
        ("ResNet*", []),  # case-sensitive, like file names
        ("nothing*", []),
    ],
)
def test_list_blueprints(fake_zoo: Path, pattern: str, expected: list[str]) -> None:
    assert zoo.list_blueprints(pattern) == expected


def test_the_real_zoo_lists_the_shipped_blueprints() -> None:
    names = zoo.list_blueprints()
    assert names == sorted(names)
    assert {"resnet50", "vgg16"} <= set(names)


@pytest.mark.parametrize("name", ["vgg16", "vgg16.yaml", "mobilenet", "mobilenet.yml"])
def test_blueprint_path(fake_zoo: Path, name: str) -> None:
    assert zoo.blueprint_path(name).parent == fake_zoo
    assert zoo.blueprint_path(name).stem == name.split(".")[0]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "resnt50",
            "unknown zoo blueprint 'resnt50'. Did you mean 'resnet50'? See `archbuilder zoo list` for the 4 available.",
        ),
        (
            "vgg_16.yaml",
            "unknown zoo blueprint 'vgg_16.yaml'. Did you mean 'vgg16'? See `archbuilder zoo list` for the 4 "
            "available.",
        ),
        ("inception", "unknown zoo blueprint 'inception'. See `archbuilder zoo list` for the 4 available."),
        ("notes", "unknown zoo blueprint 'notes'. See `archbuilder zoo list` for the 4 available."),
    ],
)
def test_unknown_name(fake_zoo: Path, name: str, message: str) -> None:
    with pytest.raises(BlueprintError) as caught:
        zoo.blueprint_path(name)
    assert [problem.message for problem in caught.value.problems] == [message]


def test_load_zoo_blueprint() -> None:
    blueprint = zoo.load_zoo_blueprint("vgg16")
    assert isinstance(blueprint, Blueprint)
    assert blueprint.name == "vgg16"


@pytest.mark.parametrize("name", zoo.list_blueprints())
def test_every_zoo_entry_loads_under_its_file_name(name: str) -> None:
    assert zoo.load_zoo_blueprint(name).name == name


def test_find_source_is_the_one_resolver(fake_zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archbuilder.blueprint.errors import BlueprintError

    find_source = zoo.find_source
    work = tmp_path / "work"
    work.mkdir()
    (work / "vgg16.yaml").write_text(TINY, encoding="utf-8")
    monkeypatch.chdir(work)
    assert find_source("vgg16.yaml") == Path("vgg16.yaml")  # an existing file wins over the zoo
    assert find_source("vgg16") == fake_zoo / "vgg16.yaml" and find_source(Path("resnet50.yaml")) == fake_zoo / (
        "resnet50.yaml"
    )
    assert find_source(TINY) == TINY and find_source("name: n") == "name: n"  # YAML text stays text
    assert find_source("models/vgg16.yaml") == Path("models/vgg16.yaml")  # a path: the loader reports it missing
    assert find_source(Path("runs/a:b.yaml")) == Path("runs/a:b.yaml")  # a path object is never YAML text
    assert find_source("mobilenet.yml") == fake_zoo / "mobilenet.yml"
    (work / "resnet50").mkdir()
    assert find_source("resnet50") == fake_zoo / "resnet50.yaml"  # a folder of that name does not hide the zoo's
    (work / "unknown").mkdir()
    assert find_source("unknown") == Path("unknown")  # the loader says it is a folder
    for argument, expected in (
        ("vgg61", "vgg61: no such file, and no zoo blueprint 'vgg61'. Did you mean 'vgg16'?"),
        ("net\0.yaml", "'net\\x00.yaml': the path holds a NUL byte (\\0), which no file name can contain"),
        ("x" * 300, "x" * 80 + "... (300 characters): cannot read: File name too long."),
    ):
        with pytest.raises(BlueprintError) as error:
            find_source(argument)
        assert str(error.value).startswith(expected), str(error.value)
    with pytest.raises(BlueprintError, match="no zoo blueprint 'name: n'"):  # an argument is never YAML text
        find_source("name: n", text=False)


def test_zoo_imports_no_keras() -> None:
    import ast

    tree = ast.parse(Path(zoo.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert all(
        name.split(".")[0] in {"archbuilder", "__future__", "fnmatch", "os", "importlib", "pathlib"}
        for name in imported
    ), imported

"""``extends``: a blueprint file built on another (mappings merge, lists are replaced), and where errors point."""

from __future__ import annotations

from pathlib import Path

import pytest

from archbuilder.blueprint import BlueprintError, load_blueprint
from archbuilder.blueprint.io import MAX_EXTENDS_DEPTH, deep_merge, load_blueprint_data

BASE = """\
name: base
description: the base network
input: {shape: [32, 32, 3]}
defaults: {activation: relu, batch_norm: true, kernel_regularizer: {l2: 0.001}}
stem:
  - {type: conv, filters: 16, kernel_size: 3, padding: same}
stages:
  - {block: {type: residual, filters: 16}, repeat: 2}
  - {block: {type: residual, filters: 32}, repeat: 2, strides: 2}
head: {classes: 10, fc: [64, 32]}
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def problems(source: str | Path) -> list[tuple[str, str, str | None, int | None, int | None]]:
    """(path, message, file name, line, column) of every problem loading ``source`` raises."""
    with pytest.raises(BlueprintError) as info:
        load_blueprint(source)
    return [(p.path, p.message, Path(p.file).name if p.file else None, p.line, p.column) for p in info.value.problems]


# --- deep_merge --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base, override, merged",
    [
        pytest.param({"a": 1, "b": 2}, {"b": 3}, {"a": 1, "b": 3}, id="replace-scalar"),
        pytest.param({"a": 1}, {"b": 2}, {"a": 1, "b": 2}, id="add-key"),
        pytest.param(
            {"d": {"x": 1, "y": 2}}, {"d": {"y": 3, "z": 4}}, {"d": {"x": 1, "y": 3, "z": 4}}, id="merge-nested-mapping"
        ),
        pytest.param(
            {"d": {"e": {"x": 1, "y": 1}}}, {"d": {"e": {"y": 2}}}, {"d": {"e": {"x": 1, "y": 2}}}, id="merge-deeply"
        ),
        pytest.param({"l": [1, 2, 3]}, {"l": [4]}, {"l": [4]}, id="replace-list"),
        pytest.param({"l": [{"a": 1}, {"b": 2}]}, {"l": [{"c": 3}]}, {"l": [{"c": 3}]}, id="lists-of-mappings-too"),
        pytest.param({"d": {"x": 1}}, {"d": None}, {"d": None}, id="null-replaces-mapping"),
        pytest.param({"d": {"x": 1}}, {"d": 5}, {"d": 5}, id="scalar-replaces-mapping"),
        pytest.param({"d": 5}, {"d": {"x": 1}}, {"d": {"x": 1}}, id="mapping-replaces-scalar"),
        pytest.param({"a": 1}, {}, {"a": 1}, id="empty-override"),
        pytest.param([1], {"a": 1}, {"a": 1}, id="non-mapping-base"),
    ],
)
def test_deep_merge(base: object, override: object, merged: object) -> None:
    assert deep_merge(base, override) == merged


def test_deep_merge_leaves_its_inputs_alone() -> None:
    base = {"d": {"x": 1}}
    override = {"d": {"y": 2}}
    deep_merge(base, override)
    assert (base, override) == ({"d": {"x": 1}}, {"d": {"y": 2}})


# --- merging files -------------------------------------------------------------------------------------


def test_child_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(
        tmp_path,
        "child.yaml",
        """\
extends: base.yaml
name: child
defaults: {activation: swish}
stages:
  - {block: {type: bottleneck, filters: 8}, repeat: 3}
head: {classes: 100}
""",
    )
    blueprint = load_blueprint(child)
    assert blueprint.name == "child"
    assert blueprint.description == "the base network"
    assert blueprint.input.shape == (32, 32, 3)
    assert (blueprint.defaults.activation, blueprint.defaults.batch_norm) == ("swish", True)
    assert blueprint.defaults.kernel_regularizer is not None and blueprint.defaults.kernel_regularizer.l2 == 0.001
    assert [(s.block.type, s.block.filters, s.repeat) for s in blueprint.stages] == [("bottleneck", 8, 3)]
    assert blueprint.stem[0].filters == 16
    assert blueprint.head is not None and (blueprint.head.classes, blueprint.head.fc) == (100, [64, 32])


def test_extends_equals_the_merged_document(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nhead: {classes: 5}\n")
    merged = BASE.replace("head: {classes: 10, fc: [64, 32]}", "head: {classes: 5, fc: [64, 32]}")
    assert load_blueprint(child) == load_blueprint(merged)


def test_extends_key_is_not_part_of_the_data(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    data, sources = load_blueprint_data(child)
    assert "extends" not in data
    assert [Path(source.file).name for source in sources.maps] == ["child.yaml", "base.yaml"]


def test_chained_extends(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE)
    write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\ndefaults: {batch_norm: false}\nhead: {classes: 7}\n")
    c = write(tmp_path, "c.yaml", "extends: b.yaml\nname: c\ndefaults: {activation: gelu}\n")
    blueprint = load_blueprint(c)
    assert blueprint.name == "c"
    assert (blueprint.defaults.activation, blueprint.defaults.batch_norm) == ("gelu", False)
    assert blueprint.head is not None and (blueprint.head.classes, blueprint.head.fc) == (7, [64, 32])


@pytest.mark.parametrize(
    "reference, base_name",
    [
        pytest.param("base.yaml", "base.yaml", id="same-folder"),
        pytest.param("base", "base.yaml", id="suffix-added"),
        pytest.param("shared/base.yaml", "shared/base.yaml", id="sub-folder"),
        pytest.param("../base.yaml", "base.yaml", id="parent-folder"),
        pytest.param("./shared/../base.yaml", "base.yaml", id="dotted"),
    ],
)
def test_extends_is_relative_to_the_file(tmp_path: Path, reference: str, base_name: str) -> None:
    write(tmp_path, base_name, BASE)
    folder = "nets" if reference.startswith("..") else ""
    child = write(tmp_path / folder, "child.yaml", f"extends: {reference}\nname: child\n")
    assert load_blueprint(child).stages == load_blueprint(BASE).stages


def test_base_of_a_base_is_relative_to_that_base(tmp_path: Path) -> None:
    write(tmp_path, "lib/core.yaml", BASE)
    write(tmp_path, "lib/mid.yaml", "extends: core.yaml\nname: mid\n")
    child = write(tmp_path, "child.yaml", "extends: lib/mid.yaml\nname: child\n")
    assert load_blueprint(child).name == "child"


def test_extends_from_text_is_relative_to_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "base.yaml", BASE)
    monkeypatch.chdir(tmp_path)
    assert load_blueprint("extends: base.yaml\nname: from_text\n").name == "from_text"


def test_extends_with_an_absolute_path(tmp_path: Path) -> None:
    base = write(tmp_path, "lib/base.yaml", BASE)
    child = write(tmp_path, "nets/child.yaml", f"extends: {base}\nname: child\n")
    assert load_blueprint(child).name == "child"


# --- errors about extends itself -----------------------------------------------------------------------


def test_missing_base_file(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "name: child\nextends: nothere.yaml\n")
    looked_for = (tmp_path / "nothere.yaml").resolve()
    assert problems(child) == [
        (
            "extends",
            f"`extends: nothere.yaml` names no file (looked for {looked_for}) and no zoo blueprint has that name. "
            "Give a path relative to this file, or a zoo name (`archbuilder zoo list`)",
            "child.yaml",
            2,
            10,
        )
    ]


def test_missing_base_file_without_suffix(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", "extends: nothere\n")
    looked_for = (tmp_path / "nothere.yaml").resolve()
    assert problems(child)[0][1] == (
        f"`extends: nothere` names no file (looked for {looked_for}) and no zoo blueprint has that name. "
        "Give a path relative to this file, or a zoo name (`archbuilder zoo list`)"
    )


def test_extends_naming_a_folder(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").mkdir()
    child = write(tmp_path, "child.yaml", "extends: lib.yaml\n")
    folder = (tmp_path / "lib.yaml").resolve()
    assert problems(child) == [
        (
            "extends",
            f"`extends: lib.yaml` names a folder ({folder}), not a file; give the path of a blueprint file",
            "child.yaml",
            1,
            10,
        )
    ]


# References the operating system rejects: one line at `extends`, never an OSError or ValueError.
UNUSABLE_REFERENCES = [
    pytest.param(
        '"a\\0b.yaml"',
        "`extends` holds a NUL byte (\\0), which no file name can contain. Received: 'a\\x00b.yaml'",
        id="nul-byte",
    ),
    pytest.param(
        "x" * 300 + ".yaml",
        "`extends` names a file or folder of 305 bytes (" + "x" * 21 + "...); file names have at most 255 bytes",
        id="name-too-long",
    ),
    pytest.param(
        "/".join(["d" * 200] * 25),
        "`extends` is a path of 5,024 bytes; paths have at most 4,096 bytes",
        id="path-too-long",
    ),
    pytest.param(
        '""', "`extends` is empty; give the path of a blueprint file, relative to this file, or a zoo name", id="empty"
    ),
    pytest.param(
        "/",
        "`extends: /` names a folder (/), not a file; give the path of a blueprint file",
        id="root-folder",
    ),
]


@pytest.mark.parametrize("reference, message", UNUSABLE_REFERENCES)
def test_unusable_extends_reference(tmp_path: Path, reference: str, message: str) -> None:
    child = write(tmp_path, "child.yaml", f"name: child\nextends: {reference}\n")
    assert problems(child) == [("extends", message, "child.yaml", 2, 10)]


def test_extends_reference_on_several_lines_is_shown_on_one(tmp_path: Path) -> None:
    child = write(tmp_path, "child.yaml", 'extends: "a\\nb"\n')
    looked_for = repr(str((tmp_path / "a\nb.yaml").resolve()))
    assert problems(child) == [
        (
            "extends",
            f"`extends: 'a\\nb'` names no file (looked for {looked_for}) and no zoo blueprint has that name. "
            "Give a path relative to this file, or a zoo name (`archbuilder zoo list`)",
            "child.yaml",
            1,
            10,
        )
    ]


def test_extends_into_a_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    child = write(tmp_path, "child.yaml", "extends: a.yaml\n")
    ((path, message, *where),) = problems(child)
    assert (path, *where) == ("extends", "child.yaml", 1, 10)
    assert message.startswith("`extends: a.yaml` cannot be used: ")


def test_unreadable_base_is_reported_at_extends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archbuilder.blueprint import yaml_source

    base = write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "name: child\nextends: base.yaml\n")
    real_open = open

    def no_permission(file: object, *args: object, **kwargs: object) -> object:
        if str(file) == str(base.resolve()):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(yaml_source, "open", no_permission, raising=False)
    assert problems(child) == [
        (
            "extends",
            f"`extends: base.yaml` cannot be used: cannot read the file: Permission denied ({base.resolve()})",
            "child.yaml",
            2,
            10,
        )
    ]


def test_a_path_with_a_nul_byte(only_problem) -> None:
    assert (
        str(only_problem("net\0.yaml"))
        == "'net\\x00.yaml': the path holds a NUL byte (\\0), which no file name can contain"
    )


@pytest.mark.parametrize(
    "value, received",
    [
        pytest.param("3", "3", id="number"),
        pytest.param("[a.yaml, b.yaml]", "['a.yaml', 'b.yaml']", id="list"),
        pytest.param("null", "None", id="null"),
    ],
)
def test_extends_takes_a_path(tmp_path: Path, value: str, received: str) -> None:
    child = write(tmp_path, "child.yaml", f"name: child\nextends: {value}\n")
    assert problems(child) == [
        ("extends", f"`extends` takes a file path or a zoo name. Received: {received}", "child.yaml", 2, 10)
    ]


DEEP = f"`extends` chains deeper than {MAX_EXTENDS_DEPTH} files"


def test_extends_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle is named as one, each file relative to the working folder (as the user wrote the first)."""
    write(tmp_path, "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path, "b.yaml", "name: b\nextends: a.yaml\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BlueprintError) as error:
        load_blueprint("a.yaml")
    assert str(error.value) == (
        "b.yaml:2:10: extends: `extends` makes a cycle: a.yaml -> b.yaml -> a.yaml; remove one of these `extends`"
    )


def test_extends_itself(tmp_path: Path) -> None:
    child = write(tmp_path, "self.yaml", "name: me\nextends: self.yaml\n")
    [(path, message, *place)] = problems(child)
    assert (path, place) == ("extends", ["self.yaml", 2, 10])
    assert message.startswith("`extends` makes a cycle: ") and message.count("self.yaml") == 2


def chain(tmp_path: Path, hops: int) -> Path:
    """f0 extends f1 ... extends f<hops>, the last one a whole blueprint."""
    for index in range(hops):
        write(tmp_path, f"f{index}.yaml", f"extends: f{index + 1}.yaml\ndescription: file {index}\n")
    write(tmp_path, f"f{hops}.yaml", BASE)
    return tmp_path / "f0.yaml"


def test_extends_chain_at_the_depth_limit(tmp_path: Path) -> None:
    assert MAX_EXTENDS_DEPTH == 8
    blueprint = load_blueprint(chain(tmp_path, MAX_EXTENDS_DEPTH))
    assert blueprint.description == "file 0"


def test_extends_chain_over_the_depth_limit(tmp_path: Path) -> None:
    found = problems(chain(tmp_path, MAX_EXTENDS_DEPTH + 1))
    assert found == [("extends", DEEP, f"f{MAX_EXTENDS_DEPTH}.yaml", 1, 10)]


# --- where errors point ----------------------------------------------------------------------------------


def test_error_in_the_child_points_into_the_child(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\nhead: {classes: 0}\n")
    assert problems(child) == [
        ("head.classes", "must be >= 1. Received: 0", "child.yaml", 3, 17),
    ]


def test_error_in_the_base_points_into_the_base(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("filters: 32}", "filters: 0}"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    assert problems(child) == [
        ("stages[1].block.filters", "must be >= 1. Received: 0", "base.yaml", 9, 39),
    ]


def test_unknown_key_in_the_base_points_at_the_key(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("head: {classes: 10,", "head: {classes: 10, bogus: 1,"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    found = problems(child)
    assert [(p[0], p[2], p[3], p[4]) for p in found] == [("head.bogus", "base.yaml", 10, 21)]


def test_errors_in_both_files_at_once(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("filters: 32}", "filters: 0}"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\nhead: {classes: 10, bogus: 1}\n")
    found = problems(child)
    assert sorted((p[0], p[2], p[3], p[4]) for p in found) == [
        ("head.bogus", "child.yaml", 3, 21),
        ("stages[1].block.filters", "base.yaml", 9, 39),
    ]


def test_overridden_value_points_into_the_child(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nstages:\n  - {block: {type: residual, filters: -1}}\n")
    assert problems(child) == [
        ("stages[0].block.filters", "must be >= 1. Received: -1", "child.yaml", 3, 39),
    ]


def test_error_in_a_chained_base(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE.replace("kernel_size: 3,", "kernel_size: [3, 3, 3],"))
    write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\n")
    c = write(tmp_path, "c.yaml", "extends: b.yaml\nname: c\n")
    found = problems(c)
    assert [(p[0], p[2], p[3], p[4]) for p in found] == [("stem[0].kernel_size", "a.yaml", 6, 44)]


def test_base_file_names_its_full_path(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE.replace("filters: 32}", "filters: 0}"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(child)
    assert Path(info.value.problems[0].file).resolve() == base.resolve()
    assert str(info.value).endswith(":9:39: stages[1].block.filters: must be >= 1. Received: 0")


def test_invalid_yaml_in_the_base_points_into_the_base(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "name: base\ninput: {shape: [8, 8, 1]\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n")
    found = problems(child)
    assert len(found) == 1 and found[0][2] == "base.yaml" and found[0][1].startswith("invalid YAML")


def test_duplicate_key_in_the_base(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE + "name: again\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\n")
    found = problems(child)
    assert [(p[0], p[2], p[3], p[4]) for p in found] == [("name", "base.yaml", 11, 1)]
    assert found[0][1].startswith("duplicate key 'name' (first defined at line 1, column 1)")


def test_missing_key_in_the_base_points_into_the_base(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE.replace("{type: residual, filters: 32}", "{type: residual}"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")
    assert problems(child) == [("stages[1].block.filters", "missing required key 'filters'", "base.yaml", 9, 13)]


def test_replaced_list_points_into_the_child(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(
        tmp_path,
        "child.yaml",
        "extends: base.yaml\nstages:\n  - {block: {type: residual}}\n  - {block: {type: residual}}\n",
    )
    found = problems(child)
    assert [(p[0], p[2]) for p in found] == [
        ("stages[0].block.filters", "child.yaml"),
        ("stages[1].block.filters", "child.yaml"),
    ]

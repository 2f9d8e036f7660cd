"""Tests for archbuilder.blueprint.yaml_source: safe YAML with positions, duplicates and bounds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from archbuilder.blueprint import yaml_source
from archbuilder.blueprint.errors import BlueprintError, Problem
from archbuilder.blueprint.yaml_source import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    SourceMap,
    parse_yaml,
    read_yaml_file,
)

BLUEPRINT = """\
name: vgg
input:
  shape: [224, 224, 3]
stages:
  - filters: 64
    repeat: 2
  - filters: 128
    repeat: 2
"""

DUP = "; a YAML mapping may define each key once"
UNSUPPORTED = "a blueprint holds only strings, numbers, booleans, null, lists and mappings"
EMPTY = "empty document; a blueprint needs at least `name` and `input`"
DEPTH = f"values are nested more than {MAX_DEPTH} levels deep (lists and mappings); the limit is {MAX_DEPTH}"


def problems_of(text: str | bytes, source: str = "<string>") -> list[tuple[str, tuple, int | None, int | None]]:
    """(message, location, line, column) of every problem parse_yaml raises."""
    with pytest.raises(BlueprintError) as info:
        parse_yaml(text, source)
    for problem in info.value.problems:
        assert problem.file == source
    return [(p.message, p.location, p.line, p.column) for p in info.value.problems]


def only_problem(text: str | bytes) -> tuple[str, tuple, int | None, int | None]:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


def laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghijklmnopqrstuvwxyz"
    for level in range(1, levels):
        name, previous = names[level], names[level - 1]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# --- values --------------------------------------------------------------------------------------


def test_parses_plain_python() -> None:
    data, source_map = parse_yaml(BLUEPRINT)
    assert data == {
        "name": "vgg",
        "input": {"shape": [224, 224, 3]},
        "stages": [{"filters": 64, "repeat": 2}, {"filters": 128, "repeat": 2}],
    }
    assert source_map.file == "<string>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-3", 0.001),
        ("5e-4", 0.0005),
        ("1E5", 100000.0),
        ("-2e+2", -200.0),
        ("1.5e3", 1500.0),
        ("1.0e+3", 1000.0),
        (".5", 0.5),
        ("1.5e-3", 0.0015),
        ("1", 1),
        ("0x10", 16),
        ("1_000", 1000),
        ("yes", True),
        ("off", False),
        ("~", None),
        ("null", None),
        ("2024-01-31", "2024-01-31"),
        ("=", "="),
        ("'1e-3'", "1e-3"),
        ("!!str 12", "12"),
        ("!!float 2", 2.0),
        ("e5", "e5"),
        ("1e", "1e"),
    ],
)
def test_scalar_resolution(text: str, expected: object) -> None:
    data, _ = parse_yaml(f"value: {text}\n")
    assert isinstance(data, dict)
    assert data["value"] == expected
    assert type(data["value"]) is type(expected)


def test_yaml11_boolean_key_alone() -> None:
    data, source_map = parse_yaml("on: push\n")
    assert data == {True: "push"}
    assert source_map.key_positions[(True,)] == (1, 1)


@pytest.mark.parametrize(
    "text",
    [
        BLUEPRINT,
        "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  w: 0\n",
        "base: &base {filters: 64, kernel: 3}\nconv:\n  <<: *base\n  filters: 128\n",
        "list: &l [1, [2, 3]]\ncopy: *l\n",
        "plain scalar document\n",
        "- 1\n- two\n- {three: 3}\n",
    ],
)
def test_matches_pyyaml_safe_load(text: str) -> None:
    data, _ = parse_yaml(text)
    assert data == yaml.safe_load(text)


def test_merge_keys_follow_the_yaml_merge_rules_and_are_not_duplicates() -> None:
    # The merge-key rules (yaml.org/type/merge.html): explicit keys win over merged ones, and in a
    # list of merged mappings the earlier one wins. Mapping order carries no meaning in a blueprint
    # (and differs between PyYAML releases), so only the values are compared.
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  w: 0\n  x: 9\n"
    data, source_map = parse_yaml(text)
    assert isinstance(data, dict)
    assert data["c"] == {"x": 9, "y": 1, "z": 2, "w": 0}
    assert data == yaml.safe_load(text)
    assert source_map.key_positions[("c", "x")] == (6, 3)  # the explicit key wins
    # a merged value is positioned where the anchored text is written
    assert source_map.positions[("c", "y")] == (1, 17)


def test_aliases_produce_independent_copies() -> None:
    data, source_map = parse_yaml("a: &x [1, 2]\nb: *x\n")
    assert isinstance(data, dict)
    assert data == {"a": [1, 2], "b": [1, 2]}
    assert data["a"] is not data["b"]
    assert source_map.positions[("b", 1)] == (1, 11)


def test_bytes_input_and_utf8_bom() -> None:
    data, _ = parse_yaml("name: ñet\n".encode())
    assert data == {"name": "ñet"}
    data, _ = parse_yaml(b"\xef\xbb\xbfname: x\n")
    assert data == {"name": "x"}


# --- positions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "value_position", "key_position"),
    [
        ((), (1, 1), None),
        (("name",), (1, 7), (1, 1)),
        (("input",), (3, 3), (2, 1)),
        (("input", "shape"), (3, 10), (3, 3)),
        (("input", "shape", 0), (3, 11), None),
        (("input", "shape", 2), (3, 21), None),
        (("stages",), (5, 3), (4, 1)),
        (("stages", 0), (5, 5), None),
        (("stages", 0, "filters"), (5, 14), (5, 5)),
        (("stages", 1, "repeat"), (8, 13), (8, 5)),
    ],
)
def test_positions(
    location: tuple,
    value_position: tuple[int, int],
    key_position: tuple[int, int] | None,
) -> None:
    _, source_map = parse_yaml(BLUEPRINT)
    assert source_map.positions[location] == value_position
    assert source_map.key_positions.get(location) == key_position


@pytest.mark.parametrize(
    ("location", "key", "expected"),
    [
        (("stages", 1, "repeat"), False, (8, 13)),
        (("stages", 1, "repeat"), True, (8, 5)),
        (("stages", 1, "dropout"), False, (7, 5)),  # missing -> the stage item
        (("stages", 1, "dropout"), True, (7, 5)),  # items have no key token
        (("input", "missing", "deeper"), False, (3, 3)),
        (("input", "missing", "deeper"), True, (2, 1)),
        (("nothing",), False, (1, 1)),  # falls back to the root
        (("stages", 7), False, (5, 3)),
        ((), True, (1, 1)),
    ],
)
def test_locate_falls_back_to_ancestors(location: tuple, key: bool, expected: tuple[int, int]) -> None:
    _, source_map = parse_yaml(BLUEPRINT)
    assert source_map.locate(location, key=key) == expected


def test_locate_with_nothing_known() -> None:
    assert SourceMap("f.yaml", {}, {}).locate(("a", 1)) is None


def test_attach_fills_file_line_column() -> None:
    _, source_map = parse_yaml(BLUEPRINT, source="blueprints/vgg.yaml")
    problem = Problem("must be positive", ("stages", 1, "filters"))
    attached = source_map.attach(problem)
    assert (attached.file, attached.line, attached.column) == (
        "blueprints/vgg.yaml",
        7,
        14,
    )
    assert (attached.message, attached.location) == (
        "must be positive",
        ("stages", 1, "filters"),
    )
    assert str(attached) == "blueprints/vgg.yaml:7:14: stages[1].filters: must be positive"
    keyed = source_map.attach(Problem("unknown key", ("stages", 1, "filters")), key=True)
    assert (keyed.line, keyed.column) == (7, 5)


def test_attach_keeps_an_existing_position_and_always_sets_file() -> None:
    source_map = SourceMap("b.yaml", {(): (1, 1)}, {})
    placed = source_map.attach(Problem("x", ("a",), line=4, column=2))
    assert (placed.file, placed.line, placed.column) == ("b.yaml", 4, 2)
    nowhere = SourceMap("b.yaml", {}, {}).attach(Problem("x", ("a",)))
    assert (nowhere.file, nowhere.line, nowhere.column) == ("b.yaml", None, None)


# --- duplicate keys ------------------------------------------------------------------------------


def test_duplicate_key() -> None:
    text = "conv:\n  kernel: 3\n  filters: 64\n  filters: 128\n"
    assert problems_of(text) == [
        (
            "duplicate key 'filters' (first defined at line 3, column 3)" + DUP,
            ("conv", "filters"),
            4,
            3,
        ),
    ]


def test_every_duplicate_key_is_reported() -> None:
    text = "name: a\nstages:\n  - filters: 1\n    repeat: 2\n    filters: 3\n  - {repeat: 1, repeat: 2}\nname: b\n"
    assert problems_of(text) == [
        (
            "duplicate key 'filters' (first defined at line 3, column 5)" + DUP,
            ("stages", 0, "filters"),
            5,
            5,
        ),
        (
            "duplicate key 'repeat' (first defined at line 6, column 6)" + DUP,
            ("stages", 1, "repeat"),
            6,
            17,
        ),
        (
            "duplicate key 'name' (first defined at line 1, column 1)" + DUP,
            ("name",),
            7,
            1,
        ),
    ]


def test_duplicate_inside_an_aliased_mapping_is_reported_once() -> None:
    text = "a: &x {k: 1, k: 2}\nb: *x\nc: *x\n"
    assert problems_of(text) == [
        (
            "duplicate key 'k' (first defined at line 1, column 8)" + DUP,
            ("a", "k"),
            1,
            14,
        ),
    ]


def test_yaml11_boolean_keys_collide() -> None:
    assert problems_of("on: push\nyes: 1\n") == [
        ("duplicate key True (first defined at line 1, column 1)" + DUP, (True,), 2, 1),
    ]


# --- tags and keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "run: !!python/object/apply:os.system ['echo pwned']\n",
            (
                "unsupported tag '!!python/object/apply:os.system'; " + UNSUPPORTED,
                ("run",),
                1,
                6,
            ),
        ),
        (
            "a:\n  b: !!python/name:os.system\n",
            (
                "unsupported tag '!!python/name:os.system'; " + UNSUPPORTED,
                ("a", "b"),
                2,
                6,
            ),
        ),
        ("x: !foo 1\n", ("unsupported tag '!foo'; " + UNSUPPORTED, ("x",), 1, 4)),
        ("x: !foo {a: 1}\n", ("unsupported tag '!foo'; " + UNSUPPORTED, ("x",), 1, 4)),
        (
            "x: !!timestamp 2024-01-31\n",
            ("unsupported tag '!!timestamp'; " + UNSUPPORTED, ("x",), 1, 4),
        ),
        (
            "x: !!binary aGk=\n",
            ("unsupported tag '!!binary'; " + UNSUPPORTED, ("x",), 1, 4),
        ),
        (
            "x: !!set {a, b}\n",
            ("unsupported tag '!!set'; " + UNSUPPORTED, ("x",), 1, 4),
        ),
        ("- !!str [1]\n", ("tag '!!str' cannot be used on a list", (0,), 1, 3)),
        ("x: !!map [1]\n", ("tag '!!map' cannot be used on a list", ("x",), 1, 4)),
        ("x: !!int abc\n", ("cannot read 'abc' as '!!int'", ("x",), 1, 4)),
        ("x: !!bool maybe\n", ("cannot read 'maybe' as '!!bool'", ("x",), 1, 4)),
        (
            "? [1, 2]\n: v\n",
            ("a mapping key must be a string or an integer, not a list", (), 1, 3),
        ),
        (
            "a:\n  ? {k: 1}\n  : v\n",
            (
                "a mapping key must be a string or an integer, not a mapping",
                ("a",),
                2,
                5,
            ),
        ),
        (
            "~: v\n",
            ("a mapping key must be a string or an integer, not null", (), 1, 1),
        ),
        (
            "1.5: v\n",
            ("a mapping key must be a string or an integer, not a float", (), 1, 1),
        ),
        (
            "a:\n  <<: 3\n",
            ("a merge key '<<' takes a mapping or a list of mappings", ("a",), 2, 7),
        ),
        (
            "a:\n  <<: [1]\n",
            ("a merge key '<<' takes a mapping or a list of mappings", ("a",), 2, 8),
        ),
    ],
)
def test_rejected_tags_and_keys(text: str, expected: tuple) -> None:
    assert only_problem(text) == expected


def test_int_keys_are_allowed() -> None:
    data, source_map = parse_yaml("1: one\n'2': two\n")
    assert data == {1: "one", "2": "two"}
    assert source_map.key_positions[(1,)] == (1, 1)


def test_python_tags_are_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"x: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(BlueprintError):
        parse_yaml(text)
    assert not marker.exists()


def test_all_problems_sorted_by_position() -> None:
    text = "a: !foo 1\nb: 1\nb: 2\n? [x]\n: 3\n"
    assert [(line, column) for _, _, line, column in problems_of(text)] == [
        (1, 4),
        (3, 1),
        (4, 3),
    ]


# --- syntax and document shape -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: b: c\n", ("invalid YAML: mapping values are not allowed here", (), 1, 5)),
        (
            "a: [1, 2\n",
            (
                (
                    "invalid YAML: while parsing a flow sequence at line 1, column 4: "
                    "expected ',' or ']', but got '<stream end>'"
                ),
                (),
                2,
                1,
            ),
        ),
        (
            "a: 1\n\tb: 2\n",
            (
                ("invalid YAML: while scanning for the next token: found character '\\t' that cannot start any token"),
                (),
                2,
                1,
            ),
        ),
        ("a: *nope\n", ("invalid YAML: found undefined alias 'nope'", (), 1, 4)),
        (
            "a: &x 1\nb: &x 2\n",
            (
                ("invalid YAML: found duplicate anchor 'x'; first occurrence at line 1, column 4: second occurrence"),
                (),
                2,
                4,
            ),
        ),
        (
            "a: \x00\n",
            (
                "invalid YAML: character 0x0000 is not allowed (special characters are not allowed)",
                (),
                1,
                4,
            ),
        ),
        (
            b"a: 1\nb: \xff\n",
            ("not valid UTF-8 (byte 0xff); save the file as UTF-8", (), 2, 4),
        ),
        ("", (EMPTY, (), None, None)),
        ("# only a comment\n", (EMPTY, (), None, None)),
        ("---\n", (EMPTY, (), 2, 1)),
        ("~\n", (EMPTY, (), 1, 1)),
        (
            "a: 1\n---\nb: 2\n",
            (
                (
                    "more than one YAML document (the second starts at line 2, column 1); "
                    "a blueprint file holds exactly one document"
                ),
                (),
                2,
                1,
            ),
        ),
        (
            "&a [*a]\n",
            (
                "recursive alias: the value anchored as '&a' contains '*a' itself",
                (),
                1,
                1,
            ),
        ),
    ],
)
def test_syntax_and_document_errors(text: str | bytes, expected: tuple) -> None:
    assert only_problem(text) == expected


def test_syntax_error_names_the_source() -> None:
    with pytest.raises(BlueprintError) as info:
        parse_yaml("a: b: c\n", source="blueprints/bad.yaml")
    assert str(info.value) == "blueprints/bad.yaml:1:5: invalid YAML: mapping values are not allowed here"


# --- bounds --------------------------------------------------------------------------------------


def test_billion_laughs_fails_fast() -> None:
    # 9 levels expand to 10**9 values: without the bound this test would not finish (no clock is
    # asserted: tests never assert wall-clock time).
    found = only_problem(laughs(9))
    message = (
        f"the document expands to more than {MAX_NODES:,} values (each use of an alias counts its "
        f"whole anchored value); the limit is {MAX_NODES:,}"
    )
    assert found == (message, (), None, None)


def test_small_alias_expansion_is_fine() -> None:
    data, _ = parse_yaml(laughs(3))  # 1 + 9 + 81 + 729 values: well under the bound
    assert isinstance(data, dict)
    assert len(data["c"]) == 9


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (MAX_DEPTH - 1, None),
        (MAX_DEPTH, None),
        (MAX_DEPTH + 1, (DEPTH, (), 1, MAX_DEPTH + 1)),
        (10_000, (DEPTH, (), 1, MAX_DEPTH + 1)),
    ],
)
def test_flow_nesting_bound(depth: int, expected: tuple | None) -> None:
    text = "[" * depth + "]" * depth
    if expected is None:
        data, _ = parse_yaml(text)
        assert isinstance(data, list)
    else:
        assert only_problem(text) == expected


def test_block_nesting_bound() -> None:
    text = "".join("  " * level + f"k{level}:\n" for level in range(MAX_DEPTH + 1)) + "  " * (MAX_DEPTH + 1) + "v\n"
    assert only_problem(text) == (DEPTH, (), MAX_DEPTH + 1, 2 * MAX_DEPTH + 1)


def test_nesting_through_an_alias_is_bounded() -> None:
    inner = "[" * 40 + "]" * 40
    text = f"a: &x {inner}\nb: " + "[" * 30 + "*x" + "]" * 30 + "\n"
    message, location, line, column = only_problem(text)
    assert (message, line, column) == (DEPTH, 1, 40)
    assert location == ("b",) + (0,) * (MAX_DEPTH - 1)


def test_recursion_error_becomes_the_depth_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def overflow(*_: object) -> None:
        raise RecursionError

    monkeypatch.setattr(yaml_source, "_check_expansion", overflow)
    assert only_problem("a: [1]\n") == (DEPTH, (), None, None)


def test_input_size_bound() -> None:
    text = "a: " + "x" * MAX_FILE_BYTES + "\n"
    assert only_problem(text) == (
        f"input is {len(text):,} bytes; the limit is 1,000,000 bytes",
        (),
        None,
        None,
    )


# --- files ---------------------------------------------------------------------------------------


def test_read_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "vgg.yaml"
    path.write_text(BLUEPRINT, encoding="utf-8")
    data, source_map = read_yaml_file(path)
    assert isinstance(data, dict)
    assert data["name"] == "vgg"
    assert source_map.file == str(path)
    assert source_map.positions[("stages", 1, "filters")] == (7, 14)


def test_read_yaml_file_keeps_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.yaml").write_text("a: 1\na: 2\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BlueprintError) as info:
        read_yaml_file("bad.yaml")
    assert str(info.value) == ("bad.yaml:2:1: a: duplicate key 'a' (first defined at line 1, column 1)" + DUP)


def file_problem(path: Path) -> tuple[str, str | None, int | None]:
    with pytest.raises(BlueprintError) as info:
        read_yaml_file(path)
    [problem] = info.value.problems
    assert problem.location == ()
    return problem.message, problem.file, problem.line


def test_file_size_bound(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 1_234_567)
    assert file_problem(path) == (
        "file is 1,234,567 bytes; the limit is 1,000,000 bytes",
        str(path),
        None,
    )


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: tmp / "missing.yaml", "file not found"),
        (lambda tmp: tmp, "not a file; expected a YAML blueprint file"),
    ],
)
def test_file_errors(tmp_path: Path, make, expected: str) -> None:
    path = make(tmp_path)
    assert file_problem(path) == (expected, str(path), None)


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    assert file_problem(path) == (
        "not valid UTF-8 (byte 0xe9); save the file as UTF-8",
        str(path),
        1,
    )


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert file_problem(path) == (EMPTY, str(path), None)

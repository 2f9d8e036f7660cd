"""Hostile FILE arguments keep the error contract too: a name with a line break, a carriage return or a
NUL byte, an empty or huge name, a folder. Exit 1, no traceback, and exactly one line per problem
(``validate``: the problem and the verdict; ``summary``: the problem), however the name is shown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .fuzzlib import Run, lines, run_cli

INVALID = "name: t\ninput: {shape: [8, 8, 3]}\nstem: [{type: conv, filters: 0}]\n"  # one problem

#: Names of files that exist (and hold a blueprint with one problem).
EXISTING = [
    "plain.yaml",
    "with space.yaml",
    "new\nline.yaml",
    "carriage\rreturn.yaml",
    "tab\there.yaml",
    "é✓漢字.yaml",
    "-dash.yaml",
]
#: Arguments naming nothing.
MISSING = [
    "missing.yaml",
    "lenet5\n",
    "foo\nbar",
    "lenet5\r",
    "a/\0/b.yaml",
    "\0",
    "x" * 5000,
    "../" * 2000 + "x",
    "no/such/folder/x.yaml",
]


def _check(run: Run, problems: int) -> None:
    text = run.stdout + run.stderr
    assert run.code == 1, run.describe()
    assert "Traceback" not in text and "internal error" not in text, run.describe()
    expected = problems + (1 if run.argv[0] == "validate" else 0)
    assert len(lines(text)) == expected, f"expected {expected} line(s)\n{run.describe()}"


@pytest.mark.parametrize("name", EXISTING, ids=[repr(n) for n in EXISTING])
@pytest.mark.parametrize("command", ["validate", "summary"])
def test_file_with_a_hostile_name_gives_one_line_per_problem(tmp_path: Path, command: str, name: str) -> None:
    path = tmp_path / name
    path.write_text(INVALID, encoding="utf-8")
    _check(run_cli([command, str(path)]), problems=1)  # absolute: '-dash.yaml' is not taken for an option


@pytest.mark.parametrize("argument", MISSING, ids=[repr(a[:20]) for a in MISSING])
@pytest.mark.parametrize("command", ["validate", "summary"])
def test_missing_file_argument_is_one_line(command: str, argument: str) -> None:
    _check(run_cli([command, argument]), problems=1)


def test_a_folder_is_one_line(tmp_path: Path) -> None:
    _check(run_cli(["validate", str(tmp_path)]), problems=1)

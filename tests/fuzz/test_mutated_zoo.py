"""Mutated zoo blueprints never crash archbuilder: every file in blueprints/, parsed, mutated at random
paths (keys deleted or added, values replaced by other types, NaN, infinities, zero, negatives, huge
numbers, empty or nested containers, long strings, NUL bytes; list items duplicated or dropped; `type`
tags changed), dumped back to YAML and fed to

- the library (``load_blueprint`` + ``analyze``, from the file and from the dict): only
  ``ArchbuilderError`` subclasses may come out, each problem on one line;
- the command line (``archbuilder validate`` and ``archbuilder summary``, in-process): exit 0 or 1,
  never 3 (a bug) nor an escaping exception, no traceback, one line per problem naming its file, and
  both commands agree on whether the blueprint is valid.

Raw YAML text is corrupted the same way (bytes deleted, YAML syntax inserted) for the loader.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from archbuilder.analysis import analyze
from archbuilder.blueprint import load_blueprint
from archbuilder.errors import ArchbuilderError

from .fuzzlib import (
    HUGE_HEX,
    ZOO_FILES,
    check_cli_contract,
    dump,
    fuzz_settings,
    hang_shows,
    load_zoo,
    mutated,
    run_cli,
    time_limit,
    walk,
)

ZOO_DOCS = {path.stem: load_zoo(path) for path in ZOO_FILES}
NAMES = sorted(ZOO_DOCS)
LINE_BREAKS = {"\n", "\r"}

#: Examples over the 39 zoo files (each file is drawn ~18 and ~8 times): the library takes ~10 ms a
#: blueprint, the CLI two or three times that.
API_EXAMPLES = 700
CLI_EXAMPLES = 300
TEXT_EXAMPLES = 150


def test_the_zoo_is_there() -> None:
    assert len(NAMES) >= 39, NAMES


def _write(folder: Path, text: str) -> Path:
    path = folder / "mutant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _expect_user_error_only(source: Any) -> None:
    """analyze(source) succeeds or raises an ArchbuilderError whose problems are one line each."""
    try:
        with time_limit(what=f"analyze({str(source)[:60]!r})"):
            load_blueprint(source)  # validation alone
            analysis = analyze(source)
    except ArchbuilderError as error:
        problems = getattr(error, "problems", None)
        assert problems is None or problems, "a BlueprintError must carry at least one problem"
        for problem in problems or []:
            assert not LINE_BREAKS & set(str(problem)), f"multi-line problem: {str(problem)!r}"
        if problems is None:
            assert not LINE_BREAKS & set(str(error)), f"multi-line error: {str(error)!r}"
        return
    for warning in analysis.warnings:
        assert not LINE_BREAKS & set(str(warning)), f"multi-line warning: {str(warning)!r}"
    non_finite = [
        path
        for path, value in walk(analysis.blueprint.model_dump(mode="python"))
        if isinstance(value, float) and not math.isfinite(value)
    ]
    assert not non_finite, f"a valid blueprint holds NaN or infinity at {non_finite}"
    assert all(isinstance(n, int) and n >= 0 for n in (analysis.params, analysis.macs, analysis.activation_elements))
    assert all(d >= 1 for d in analysis.output_shape), analysis.output_shape


@fuzz_settings(API_EXAMPLES)
@given(data=st.data())
def test_mutated_blueprint_raises_only_user_errors(scratch_zoo: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(NAMES), label="zoo file")
    doc, steps = data.draw(mutated(ZOO_DOCS[name]), label="mutated")
    text = dump(doc)
    note(f"{name}.yaml mutated: {steps}\n{text}")
    with hang_shows(text):
        _expect_user_error_only(_write(scratch_zoo, text))
        if isinstance(doc, dict):  # the Python API (``extends`` is a file feature: an unknown key here)
            _expect_user_error_only(doc)


@fuzz_settings(CLI_EXAMPLES)
@given(data=st.data())
def test_mutated_blueprint_cli_keeps_the_error_contract(scratch_zoo: Path, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(NAMES), label="zoo file")
    doc, steps = data.draw(mutated(ZOO_DOCS[name]), label="mutated")
    text = dump(doc)
    note(f"{name}.yaml mutated: {steps}\n{text}")
    path = _write(scratch_zoo, text)
    with hang_shows(text):
        validate = run_cli(["validate", str(path)])
        check_cli_contract(validate, str(scratch_zoo))
        summary = run_cli(["summary", str(path)])
    check_cli_contract(summary, str(scratch_zoo))
    assert validate.code == summary.code, f"validate and summary disagree\n{validate.describe()}\n{summary.describe()}"
    if validate.code == 0:  # --json is strict JSON (no NaN or Infinity) with the analysis' numbers
        with hang_shows(text):
            as_json = run_cli(["summary", "--json", str(path)])
        check_cli_contract(as_json, str(scratch_zoo))
        report = json.loads(as_json.stdout, parse_constant=_reject_constant)
        assert isinstance(report["params"], int) and report["params"] >= 0, report["params"]


@pytest.mark.parametrize("name", NAMES)
def test_unmutated_zoo_file_keeps_the_contract(scratch_zoo: Path, name: str) -> None:
    """The starting points themselves (and the contract checker on valid output): exit 0, one line."""
    path = scratch_zoo / f"{name}.yaml"
    validate = run_cli(["validate", str(path)])
    check_cli_contract(validate, str(scratch_zoo))
    assert validate.code == 0, validate.describe()
    _expect_user_error_only(path)


def _reject_constant(name: str) -> None:
    raise AssertionError(f"summary --json wrote {name}, which is not JSON")


# -- raw text corruption (the YAML loader) -------------------------------------------------------

SNIPPETS = [
    "&a ",
    "*a",
    "*undefined",
    "<<: *a\n",
    "<<: ",
    "!!python/object:os.system ",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!!timestamp ",
    "!!float ",
    "!!int ",
    "!foo ",
    "{",
    "}",
    "[",
    "]",
    ":",
    ": ",
    "- ",
    "? ",
    "|",
    ">",
    "'",
    '"',
    "#",
    "\\",
    "\t",
    "\r",
    "\r\n",
    "\x00",
    "\x07",
    "\x85",
    "\ufeff",
    "\u2028",
    "\ud7ff",
    "%YAML 1.2\n",
    "%TAG ! x\n",
    "---\n",
    "...\n",
    "~",
    ".nan",
    ".inf",
    "-.inf",
    "0x1F",
    "0o17",
    "1_000",
    "+.inf",
    "1e999",
    "9" * 400,
    "=",
    "2001-12-14",
    "yes",
    "on",
    "null",
    "{a: 1, a: 2}",
    "[[[[[[[[[[[[[[[[",
    "\n  ",
    "é",
    "\U0001f600",
    " 0x" + "f" * 3600,
    " 0o" + "7" * 4800,
]


@st.composite
def corrupted_text(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(NAMES))
    text = (Path(ZOO_FILES[0]).parent / f"{name}.yaml").read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(text)))
        operation = draw(st.sampled_from(["insert", "insert", "delete", "duplicate_line", "truncate"]))
        if operation == "insert":
            text = text[:where] + draw(st.sampled_from(SNIPPETS) | st.text(max_size=3)) + text[where:]
        elif operation == "delete":
            text = text[:where] + text[where + draw(st.integers(1, 12)) :]
        elif operation == "truncate":
            text = text[:where]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                index = draw(st.integers(0, len(lines) - 1))
                lines.insert(index, lines[index])
            text = "".join(lines)
    return name, text


@fuzz_settings(TEXT_EXAMPLES)
@given(case=corrupted_text())
def test_corrupted_yaml_text_raises_only_user_errors(scratch_zoo: Path, case: tuple[str, str]) -> None:
    name, text = case
    note(f"{name}.yaml corrupted:\n{text}")
    path = scratch_zoo / "mutant.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with hang_shows(text):
        _expect_user_error_only(path)
        check_cli_contract(run_cli(["validate", str(path)]), str(scratch_zoo))


def test_special_values_survive_the_dump() -> None:
    """The mutations are real: NaN, infinities and NUL bytes reach the loader as written."""
    import yaml

    text = dump({"a": math.nan, "b": math.inf, "c": "x\0y", "d": 10**30, "e": HUGE_HEX})
    back = yaml.safe_load(text)
    assert math.isnan(back["a"]) and back["b"] == math.inf and back["c"] == "x\0y" and back["d"] == 10**30
    assert back["e"] == HUGE_HEX and "e: 0xfff" in text

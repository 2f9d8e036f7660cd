"""Errors under ``--json`` (docs/errors.md): one JSON object on the last line of standard error, the
same exit code, nothing on standard output; each command as a user types it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from archbuilder.cli.errors import error_object, run_handler
from tests.commands import archbuilder

BAD = """\
name: bad
input: {shape: [32, 32, 3]}
stages:
  - {block: {type: bottlenek, filters: 64}}
head: {classes: 10}
"""


def last_json_line(stderr: str) -> dict:
    return json.loads(stderr.strip().splitlines()[-1])


def test_summary_json_reports_blueprint_problems_with_their_positions(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    text = archbuilder("summary", "bad.yaml", cwd=tmp_path)
    done = archbuilder("summary", "bad.yaml", "--json", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (text.returncode, "") == (1, "")
    error = last_json_line(done.stderr)["error"]
    assert error["exit_code"] == 1 and error["kind"] == "invalid_input" and error["type"] == "BlueprintError"
    assert error["message"] == text.stderr.strip()  # the text the command prints without --json
    [problem] = error["problems"]
    assert problem["path"] == "stages[0].block.type" and problem["severity"] == "error"
    assert (problem["file"], problem["line"], problem["column"]) == ("bad.yaml", 4, 20)
    assert problem["message"].startswith("unknown type 'bottlenek'. Did you mean 'bottleneck'?")


def test_summary_json_of_a_missing_file(tmp_path: Path) -> None:
    done = archbuilder("summary", "nowhere/missing.yaml", "--json", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    error = last_json_line(done.stderr)["error"]
    [problem] = error["problems"]
    assert problem["file"] == "nowhere/missing.yaml" and problem["path"] is None and problem["line"] is None
    assert error["message"].startswith("nowhere/missing.yaml: ")


def test_evaluate_json_reports_its_errors_and_usage_errors(tmp_path: Path) -> None:
    usage = archbuilder("evaluate", "m.keras", "--confusion", "m.txt", "--json", cwd=tmp_path)
    assert usage.returncode == 2 and usage.stdout == ""
    assert last_json_line(usage.stderr) == {
        "error": {
            "exit_code": 2,
            "kind": "usage",
            "type": None,
            "problems": [{"message": usage_message()}],
            "message": usage_message(),
        }
    }
    missing = archbuilder("evaluate", "missing.keras", "--data", "digits", "--json", cwd=tmp_path)
    assert missing.returncode == 1 and missing.stdout == ""
    error = last_json_line(missing.stderr)["error"]
    message = "missing.keras: no such model file. Pass a .keras file, e.g. runs/<name>/best.keras."
    assert (error["type"], error["message"], error["problems"]) == ("DataError", message, [{"message": message}])


def usage_message() -> str:
    return "archbuilder evaluate: --confusion must end with .png, .svg or .pdf. Received: m.txt"


def test_without_json_the_errors_stay_lines(tmp_path: Path) -> None:
    done = archbuilder("evaluate", "m.keras", "--confusion", "m.txt", cwd=tmp_path)
    assert (done.returncode, done.stderr.strip()) == (2, usage_message())


def test_a_bug_under_json_names_its_crash_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARCHBUILDER_LOG_DIR", str(tmp_path))
    monkeypatch.delenv("ARCHBUILDER_DEBUG", raising=False)

    def broken(args: argparse.Namespace) -> int:
        return {}["missing key"]

    assert run_handler(broken, argparse.Namespace(json=True), ["summary", "x", "--json"]) == 3
    captured = capsys.readouterr()
    error = json.loads(captured.err.strip())["error"]
    assert captured.out == "" and (error["kind"], error["type"]) == ("bug", "KeyError")
    assert Path(error["log"]).parent == tmp_path and "KeyError" in Path(error["log"]).read_text()
    assert error["message"].startswith(
        "archbuilder: internal error (a bug in archbuilder, not in your input): KeyError"
    )


def test_error_object_of_a_plain_error() -> None:
    assert error_object("data 'x' is unknown.", 1, ValueError("x")) == {
        "error": {
            "exit_code": 1,
            "kind": "invalid_input",
            "type": "ValueError",
            "message": "data 'x' is unknown.",
            "problems": [{"message": "data 'x' is unknown."}],
        }
    }

"""The command line's error contract (docs/errors.md), run as a user runs it: fresh processes.

User errors are one line per problem and exit 1; usage errors exit 2; a bug in archbuilder is one
line naming a crash log that holds the traceback, exit 3; nothing is left half-written.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archbuilder.cli import EXIT_BUG, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from tests.commands import QUIET, archbuilder_process

TINY = """\
name: tiny
input: {shape: [8, 8, 1]}
stem:
  - {type: conv, filters: 4, kernel_size: 3, padding: same}
  - {type: max_pool, pool_size: 2}
head: {classes: 3}
"""


def run_cli(
    *arguments: str, cwd: Path, env: dict[str, str] | None = None, code: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m archbuilder ARGS`` (or a Python snippet) in a fresh process, as a user runs it."""
    if code is None:
        return archbuilder_process(*arguments, cwd=cwd, env=env, timeout=300)
    environment = {**os.environ, **QUIET, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code, *arguments], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )


def test_a_bug_is_one_line_with_a_crash_log_and_exit_3(tmp_path: Path) -> None:
    # No user input reaches a bug on purpose, so one is planted in the summary command.
    planted = (
        "import sys, archbuilder.cli.inspection as commands\n"
        "def broken(args): return {}['missing key']\n"
        "commands.command_summary = broken\n"
        "from archbuilder.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    logs = tmp_path / "logs"
    result = run_cli("summary", "lenet5", cwd=tmp_path, code=planted, env={"ARCHBUILDER_LOG_DIR": str(logs)})
    assert result.returncode == EXIT_BUG == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "archbuilder: internal error (a bug in archbuilder, not in your input): "
        "KeyError: 'missing key'. The traceback is in "
    )
    [log] = logs.iterdir()
    assert str(log) in lines[0]
    text = log.read_text()
    assert "command: archbuilder summary lenet5" in text
    assert "Traceback (most recent call last)" in text and "def broken" not in text
    assert "return {}['missing key']" in text or "KeyError: 'missing key'" in text
    assert (logs.stat().st_mode & 0o777, log.stat().st_mode & 0o777) == (0o700, 0o600)  # private: paths, values


def test_debug_variable_shows_the_traceback(tmp_path: Path) -> None:
    planted = (
        "import sys, archbuilder.cli.inspection as commands\n"
        "commands.command_summary = lambda args: 1 / 0\n"
        "from archbuilder.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    result = run_cli("summary", "lenet5", cwd=tmp_path, code=planted, env={"ARCHBUILDER_DEBUG": "1"})
    assert result.returncode == 1  # Python's own exit for an uncaught exception
    assert "Traceback (most recent call last)" in result.stderr and "ZeroDivisionError" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ("validate", "x" * 300 + ".yaml"),
            "x" * 80 + "... (305 characters): cannot read: File name too long. Use a shorter name "
            "(at most 255 characters per path component).",
        ),
        (("summary", "no_such_folder/tiny.yaml"), "no_such_folder/tiny.yaml: file not found"),
    ],
)
def test_bad_file_arguments_are_one_line(tmp_path: Path, arguments: tuple[str, ...], expected: str) -> None:
    result = run_cli(*arguments, cwd=tmp_path)
    assert result.returncode == EXIT_INVALID
    assert "Traceback" not in result.stderr + result.stdout
    output = (result.stdout + result.stderr).strip().splitlines()
    assert any(line.startswith(expected) for line in output), output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = run_cli("summary", cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    assert "Traceback" not in result.stderr


def test_a_folder_given_as_a_blueprint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "folder.yaml").mkdir()
    assert main(["summary", str(tmp_path / "folder.yaml")]) == EXIT_INVALID
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error


def _fail_with_full_disk(temporary: Path) -> None:
    temporary.write_bytes(b"PK\x03\x04 half a model")  # a partial write, then the disk is full
    raise OSError(errno.ENOSPC, "No space left on device")


def test_build_on_a_full_disk_leaves_nothing_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    blueprint = tmp_path / "tiny.yaml"
    blueprint.write_text(TINY)
    output = tmp_path / "out" / "m.keras"
    monkeypatch.setattr(keras.Model, "save", lambda self, path, *a, **k: _fail_with_full_disk(Path(path)))
    assert main(["build", str(blueprint), "-o", str(output)]) == EXIT_INVALID
    error = capsys.readouterr().err.strip()
    assert error == (
        f"{output}: cannot write: No space left on device. Free some space (or write somewhere else) "
        "and run the command again."
    )
    assert list((tmp_path / "out").iterdir()) == []  # no truncated m.keras, no temporary file


def test_build_keeps_the_old_model_when_the_new_one_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    blueprint = tmp_path / "tiny.yaml"
    blueprint.write_text(TINY)
    output = tmp_path / "m.keras"
    assert main(["build", str(blueprint), "-o", str(output)]) == EXIT_OK
    before = output.read_bytes()
    monkeypatch.setattr(keras.Model, "save", lambda self, path, *a, **k: _fail_with_full_disk(Path(path)))
    assert main(["build", str(blueprint), "-o", str(output)]) == EXIT_INVALID
    assert output.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m.blueprint.yaml", "m.keras", "tiny.yaml"]
    capsys.readouterr()


def test_build_into_a_path_below_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blueprint = tmp_path / "tiny.yaml"
    blueprint.write_text(TINY)
    assert main(["build", str(blueprint), "-o", str(tmp_path / "tiny.yaml" / "m.keras")]) == EXIT_INVALID
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"{tmp_path / 'tiny.yaml' / 'm.keras'}: cannot write: ")
    assert len(error.splitlines()) == 1

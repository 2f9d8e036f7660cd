"""Atomic writes: the temporary name stays within the file system's limit, a cleanup deletes only archbuilder's
own temporary files, and a folder is worked in by one process at a time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from archbuilder.artifacts import (
    FOLDER_LOCK,
    MAX_NAME_BYTES,
    hold_folder,
    is_partial_name,
    partial_path,
    write_text_atomic,
)
from archbuilder.training.errors import RunError
from archbuilder.training.run_folder import remove_leftovers
from tests.commands import archbuilder


def test_a_long_valid_name_is_written(tmp_path: Path) -> None:
    target = tmp_path / ("m" * (MAX_NAME_BYTES - len(".keras")) + ".keras")  # 255 bytes: valid
    temporary = partial_path(target)
    assert len(temporary.name.encode()) <= MAX_NAME_BYTES and temporary.suffix == ".keras"
    assert is_partial_name(temporary.name)
    write_text_atomic(target, "kept")
    assert target.read_text() == "kept" and os.listdir(tmp_path) == [target.name]


def test_a_cleanup_deletes_only_archbuilder_s_temporary_files(tmp_path: Path) -> None:
    ours = partial_path(tmp_path / "best.keras")
    ours.write_text("a kill's leftover")
    users = [tmp_path / ".my.partial.keras", tmp_path / ".notes.partial", tmp_path / "draft.partial.keras"]
    for path in users:
        path.write_text("the user's")
    remove_leftovers(tmp_path)
    assert not ours.exists() and all(path.read_text() == "the user's" for path in users)


HOLDER = """\
import sys, time
from pathlib import Path
from archbuilder.artifacts import hold_folder
from archbuilder.training.errors import RunError
with hold_folder(Path(sys.argv[1]), "training", RunError):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes the pipe
"""


def test_a_folder_held_by_a_live_process_is_refused_in_one_line(tmp_path: Path) -> None:
    """Two trainings (or searches) into one folder: the second is refused, naming the first's pid; the lock goes
    when the first ends."""
    folder = tmp_path / "race"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        result = archbuilder("train", "lenet5", "--data", "digits", "--resize", "--epochs", "1", "-o", str(folder))
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"{folder}: another archbuilder process (pid {holder.pid}) is training here; wait for it to end, or "
            "pass --output DIR to work elsewhere."
        )
        searched = archbuilder("search", "pattern", "--max-trials", "1", "-o", str(folder))
        assert searched.returncode == 1 and f"(pid {holder.pid}) is training here" in searched.stderr
    finally:
        holder.communicate("", timeout=60)
    assert not folder.exists()  # the holder made it, nothing was written in it, it is gone with the lock


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / FOLDER_LOCK).write_text(gone.stdout)  # a pid no process has now
    with hold_folder(folder, "training", RunError):
        assert (folder / FOLDER_LOCK).read_text() == f"{os.getpid()} training\n"
    assert list(folder.iterdir()) == []  # the folder was there before: kept, the lock removed

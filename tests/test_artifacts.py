"""Atomic writes: the temporary name stays within the file system's limit, and a cleanup deletes only
archbuilder's own temporary files."""

from __future__ import annotations

import os
from pathlib import Path

from archbuilder.artifacts import MAX_NAME_BYTES, is_partial_name, partial_path, write_text_atomic
from archbuilder.training.run_folder import remove_leftovers


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

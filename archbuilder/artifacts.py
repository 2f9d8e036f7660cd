"""Every file archbuilder writes goes through :func:`write_atomic`: a temporary file beside the
target, flushed to disk, then renamed over it.

A reader (or a resumed run) therefore sees the old file or the new one, never a truncated one,
whatever the moment of a kill; a full disk or a permission problem removes the temporary file and
raises :class:`ArtifactError`, a user error naming the file and what to do, with the old file (if
any) untouched. Python's ``tempfile`` and ``os.replace`` do the work; what they lack is the
cleanup on failure, the fsyncs and the one-line message, hence this module. It imports only the
standard library, so every package may use it.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from archbuilder.errors import ArchbuilderError

#: The marker in temporary file names; a crashed writer's leftovers can be recognised by it.
PARTIAL_MARKER = ".partial"
#: The longest file name (one path component) the usual file systems accept, in bytes.
MAX_NAME_BYTES = 255
_PARTIAL_NAME = re.compile(r"^\..+\.\d+\.partial(\.[A-Za-z0-9]+)?$")


class ArtifactError(ArchbuilderError, OSError):
    """A file could not be written (full disk, no permission, a folder in the way)."""


def partial_path(path: Path) -> Path:
    """The temporary name used while ``path`` is written: hidden, same folder, same suffix.

    The suffix is kept because some writers check it (``keras.Model.save`` wants ``.keras``).
    """
    name = f".{path.stem}.{os.getpid()}{PARTIAL_MARKER}{path.suffix}"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:  # a long, valid name: its digest stands in
        digest = hashlib.sha256(path.name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        name = f".{digest}.{os.getpid()}{PARTIAL_MARKER}{path.suffix}"
    return path.with_name(name)


def is_partial_name(name: str) -> bool:
    """Whether ``name`` is a temporary file of archbuilder's (``.NAME.PID.partial[.SUFFIX]``): what a cleanup may
    delete. A user's file that merely holds ``.partial`` (``.my.partial.keras``) is not one."""
    return _PARTIAL_NAME.match(name) is not None


def describe_os_error(error: OSError, path: str | os.PathLike[str], action: str = "write") -> str:
    """One line for an OS error on ``path``: what failed, why, and what to do."""
    return f"{os.fspath(path)}: {os_error_reason(error, action)}"


def os_error_reason(error: OSError, action: str = "write") -> str:
    """``cannot ACTION: REASON. WHAT TO DO.`` for an OS error (without the path)."""
    reason = error.strerror or str(error)
    hints = {
        errno.ENOSPC: "free some space (or write somewhere else) and run the command again",
        errno.EDQUOT: "free some space (or write somewhere else) and run the command again",
        errno.EACCES: "check the folder's permissions, or write somewhere else",
        errno.EPERM: "check the folder's permissions, or write somewhere else",
        errno.EROFS: "write somewhere else: this file system is read-only",
        errno.ENAMETOOLONG: "use a shorter name (at most 255 characters per path component)",
        errno.ENOENT: "check the path",
        errno.EISDIR: "give a file name, not a folder",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
    }
    hint = hints.get(error.errno or 0, "check the path and try again")
    return f"cannot {action}: {reason}. {hint[0].upper()}{hint[1:]}."


def fsync_folder(folder: Path) -> None:
    """Flush ``folder``'s entries (a rename into it) to disk, where the platform can open a folder."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # some platforms cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def check_target(target: Path) -> None:
    """A file archbuilder may (re)place: a missing path or a regular file, never a folder, a device or a pipe.

    Raises:
        ArtifactError: ``target`` names a folder (or no file at all, ``/``) or something other than a regular file.
    """
    if not target.name or target.is_dir():
        raise ArtifactError(f"{os.fspath(target)}: is a folder; give a file name")
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise ArtifactError(describe_os_error(error, target)) from error
    if not stat.S_ISREG(mode):
        raise ArtifactError(
            f"{os.fspath(target)}: not a regular file (a device, a pipe or a socket); archbuilder replaces only "
            "regular files: give another file name"
        )


def refuse_to_replace(paths: Iterable[Path], overwrite: bool) -> None:
    """The rule of every command that writes a user-named file: an existing one is replaced only when asked.

    Raises:
        ArtifactError: one of ``paths`` exists and ``overwrite`` is false.
    """
    existing = [path for path in paths if path.exists() or path.is_symlink()]
    if existing and not overwrite:
        raise ArtifactError(
            f"{os.fspath(existing[0])}: already exists. Pass --overwrite to replace it, or -o to write elsewhere."
        )


#: The file that says a process works in a folder (its pid); removed when it ends.
FOLDER_LOCK = ".archbuilder.pid"


@contextlib.contextmanager
def hold_folder(folder: Path, doing: str, error: type[ArchbuilderError]) -> Iterator[None]:
    """Work in ``folder`` alone: a second archbuilder process that would train or search there is refused.

    The lock is a file holding this process's pid, created exclusively and removed at the end; one left by a
    killed process (its pid no longer running) is taken over. A folder this call had to create and that stays
    empty is removed again.

    Args:
        folder: The run or search folder.
        doing: What the holder does there, for the refusal (``"training"``, ``"searching"``).
        error: The error to raise (``RunError``, ``SearchError``).

    Raises:
        error: another live process holds ``folder``.
        ArtifactError: the folder or its lock cannot be written.
    """
    created = not folder.exists()
    lock = folder / FOLDER_LOCK
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                holder, its_work = _lock_holder(lock)
                if holder is not None and holder != os.getpid():
                    raise error(
                        f"{folder}: another archbuilder process (pid {holder}) is {its_work} here; wait for it to "
                        "end, or pass --output DIR to work elsewhere."
                    ) from None
                lock.unlink(missing_ok=True)  # left by a process that is gone
        else:
            raise ArtifactError(f"{lock}: cannot take the folder's lock; remove the file and run again.")
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"{os.getpid()} {doing}\n")
    except OSError as failure:
        raise ArtifactError(describe_os_error(failure, lock)) from failure
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


def _lock_holder(lock: Path) -> tuple[int | None, str]:
    """The live process a lock names and what it does there; ``None`` when it names none (unreadable, or the
    process is gone)."""
    try:
        pid_text, _, doing = lock.read_text().strip().partition(" ")
        pid = int(pid_text)
        os.kill(pid, 0)
    except PermissionError:  # alive, another user's
        return pid, doing or "working"
    except (OSError, ValueError):
        return None, ""
    return pid, doing or "working"


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Call ``write(temporary_path)``, flush it to disk, then rename it over ``path``.

    Args:
        path: The file to (re)place. Its folder is created when missing.
        write: Writes the whole content to the path it is given (e.g. ``model.save``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ArtifactError: The file could not be written, or ``path`` is a folder or not a regular file (a device);
            ``path`` is unchanged and no temporary file is left.
    """
    target = Path(path)
    check_target(target)
    temporary = partial_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(error, OSError) and not isinstance(error, ArtifactError):
            raise ArtifactError(describe_os_error(error, target)) from error
        raise
    fsync_folder(target.parent)
    return target


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return write_atomic(path, lambda temporary: temporary.write_bytes(data))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], data: Any, indent: int | None = 2) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (a diverged loss is written as ``NaN``, as Python reads it)."""
    text = json.dumps(data, indent=indent)
    return write_text_atomic(path, text + "\n")


def write_csv_atomic(path: str | os.PathLike[str], rows: Iterable[Iterable[Any]]) -> Path:
    """Write ``rows`` (the header first) as CSV to ``path`` atomically."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return write_text_atomic(path, buffer.getvalue())


__all__ = [
    "MAX_NAME_BYTES",
    "PARTIAL_MARKER",
    "FOLDER_LOCK",
    "ArtifactError",
    "check_target",
    "describe_os_error",
    "fsync_folder",
    "hold_folder",
    "is_partial_name",
    "os_error_reason",
    "partial_path",
    "refuse_to_replace",
    "write_atomic",
    "write_bytes_atomic",
    "write_csv_atomic",
    "write_json_atomic",
    "write_text_atomic",
]

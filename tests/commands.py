"""The ``archbuilder`` command as the tests run it: in-process by default, a fresh process where it matters.

:func:`archbuilder` calls ``archbuilder.cli.main(argv)`` -- the function the installed ``archbuilder``
script calls -- in this process, with the working folder, the environment, standard output and
standard error of a fresh process, and the warning filters a fresh process has (pytest's own, which
turn archbuilder's warnings into errors, do not reach the command). It returns what
:func:`subprocess.run` returns, so a test reads the same either way. Importing TensorFlow once per
worker instead of once per command is what keeps the suite in minutes.

:func:`archbuilder_process` runs ``python -m archbuilder`` in a real process: for what only a process
shows (the entry point, start-up imports and logging, signals and kills, several processes at once).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator, Mapping

#: The environment every command runs with: TensorFlow's C++ start-up logging off, no GPU probing.
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


@contextlib.contextmanager
def _environment(changes: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(changes)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _working_folder(folder: str | os.PathLike[str] | None) -> Iterator[None]:
    saved = os.getcwd()
    if folder is not None:
        os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved)


def _fresh_warning_filters() -> None:
    """The warning filters and display of a fresh interpreter (``python -W`` unset, not in dev mode)."""
    warnings.resetwarnings()
    warnings.simplefilter("default")
    for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", hidden)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show


def archbuilder(
    *arguments: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``archbuilder ARGUMENTS`` run in this process, as a fresh process would run it."""
    from archbuilder.cli import main

    argv = [str(argument) for argument in arguments]
    out, err = io.StringIO(), io.StringIO()
    with (
        _environment({**QUIET, **(env or {})}),
        _working_folder(cwd),
        warnings.catch_warnings(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        _fresh_warning_filters()
        code = main(argv)
    return subprocess.CompletedProcess(["archbuilder", *argv], code, out.getvalue(), err.getvalue())


def archbuilder_process(
    *arguments: str | os.PathLike[str],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """``python -m archbuilder ARGUMENTS`` in a fresh process (start-up, entry point, signals)."""
    return subprocess.run(
        [sys.executable, "-m", "archbuilder", *map(str, arguments)],
        cwd=cwd,
        env={**os.environ, **QUIET, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


__all__ = ["QUIET", "archbuilder", "archbuilder_process"]

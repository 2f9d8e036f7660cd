"""The command line's error contract: how a failure reaches the user.

- A user error (:class:`~archbuilder.errors.ArchbuilderError`: a blueprint problem, bad data, a run
  folder that cannot resume, a full disk) prints its message as it is, one line per problem, and
  exits with ``EXIT_INVALID`` (1). An operating-system error on a path the user gave (no such file,
  no permission, a name too long) is a user error too.
- Running out of memory is one line with what to do, exit 1.
- Ctrl-C exits with ``EXIT_INTERRUPTED`` (130).
- Anything else is a bug in archbuilder: one line naming the exception and a log file holding the
  traceback (with the command line and versions), exit ``EXIT_BUG`` (3). ``ARCHBUILDER_DEBUG=1``
  lets the exception through instead, for a full traceback on the console.
- A command run with ``--json`` (``summary``, ``evaluate``) reports each of these failures as one
  JSON object on one line of standard error instead (:func:`error_object`), with the same exit code;
  standard output then holds nothing.

The exit codes live in :mod:`archbuilder.errors`; ``docs/errors.md`` documents them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from archbuilder.artifacts import describe_os_error, write_text_atomic
from archbuilder.cli.common import Handler
from archbuilder.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_USAGE, ArchbuilderError

#: Set to 1 to let unexpected exceptions through (full traceback on the console).
DEBUG_VARIABLE = "ARCHBUILDER_DEBUG"
#: Where crash logs go (default: $XDG_CACHE_HOME/archbuilder/crashes, else ~/.cache/archbuilder/crashes).
LOG_DIR_VARIABLE = "ARCHBUILDER_LOG_DIR"


_default_format = warnings.formatwarning


def _format_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    """archbuilder's own warnings (``DataWarning``, ...) as one line; others as Python formats them."""
    if category.__module__.startswith("archbuilder"):
        return f"warning: {message}\n"
    return _default_format(message, category, filename, lineno, line)


def run_handler(handler: Handler, args: argparse.Namespace, argv: list[str]) -> int:
    """Run one command under the error contract; returns the exit code."""
    previous, warnings.formatwarning = warnings.formatwarning, _format_warning
    try:
        return _run(handler, args, argv)
    finally:
        warnings.formatwarning = previous


def wants_json(args: argparse.Namespace) -> bool:
    """Whether the command was asked for machine-readable output (``--json``)."""
    return getattr(args, "json", False) is True


def error_object(message: str, exit_code: int, error: BaseException | None = None, **extra: Any) -> dict[str, Any]:
    """A failure as ``--json`` reports it::

        {"error": {"exit_code": 1, "type": "BlueprintError", "message": "<the lines the command prints without --json>",
                   "problems": [{"severity": "error", "path": "stages[0].block.type", "message": "...",
                                 "file": "bad.yaml", "line": 4, "column": 19}, ...]}}

    ``problems`` lists a blueprint's (or search space's) problems with their positions (``path``,
    ``file``, ``line``, ``column`` are ``null`` where unknown); any other error is one problem with its
    ``message``. ``type`` names the exception; ``extra`` adds fields (``log``: a bug's crash log).
    """
    found = getattr(error, "problems", None)
    if found and all(hasattr(problem, "to_dict") for problem in found):
        problems = [{**problem.to_dict(), "path": problem.path if problem.location else None} for problem in found]
    else:
        problems = [{"message": message}]
    kind = {EXIT_INVALID: "invalid_input", EXIT_USAGE: "usage", EXIT_BUG: "bug", EXIT_INTERRUPTED: "interrupted"}
    return {
        "error": {
            "exit_code": exit_code,
            "kind": kind.get(exit_code, "error"),
            "type": None if error is None else type(error).__name__,
            "message": message,
            "problems": problems,
            **extra,
        }
    }


def report(
    args: argparse.Namespace | None, message: str, exit_code: int, error: BaseException | None = None, **extra: Any
) -> int:
    """Print a failure on standard error, as its line(s) or, under ``--json``, as :func:`error_object`.

    Returns ``exit_code``.
    """
    if args is not None and wants_json(args):
        print(json.dumps(error_object(message.strip(), exit_code, error, **extra)), file=sys.stderr)
    else:
        print(message, file=sys.stderr)
    return exit_code


def _run(handler: Handler, args: argparse.Namespace, argv: list[str]) -> int:
    try:
        return handler(args)
    except ArchbuilderError as error:
        return report(args, str(error), EXIT_INVALID, error)
    except BrokenPipeError:  # `archbuilder summary x | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt as error:
        return report(args, "\ninterrupted", EXIT_INTERRUPTED, error)
    except MemoryError as error:
        return report(
            args,
            "out of memory. Use a smaller --batch-size or a smaller network (`archbuilder summary FILE` "
            "estimates the training memory), or a machine with more memory.",
            EXIT_INVALID,
            error,
        )
    except OSError as error:
        if error.filename is None or os.environ.get(DEBUG_VARIABLE) == "1":
            return _report_bug(error, argv, args)
        return report(args, describe_os_error(error, error.filename, "access"), EXIT_INVALID, error)
    except Exception as error:
        return _report_bug(error, argv, args)


def _report_bug(error: BaseException, argv: list[str], args: argparse.Namespace | None = None) -> int:
    if os.environ.get(DEBUG_VARIABLE) == "1":
        raise error
    summary = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
    if len(summary) > 300:
        summary = summary[:300] + "..."
    log = _write_crash_log(error, argv)
    where = (
        f"The traceback is in {log}; please report it with that file." if log is not None else "The traceback follows."
    )
    report(
        args,
        f"archbuilder: internal error (a bug in archbuilder, not in your input): {summary}. {where} "
        f"Set {DEBUG_VARIABLE}=1 to see it here.",
        EXIT_BUG,
        error,
        log=None if log is None else str(log),
    )
    if log is None:
        traceback.print_exception(error, file=sys.stderr)
    return EXIT_BUG


def crash_log_folder() -> Path:
    """Where crash logs are written."""
    configured = os.environ.get(LOG_DIR_VARIABLE)
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "archbuilder" / "crashes"


def _write_crash_log(error: BaseException, argv: list[str]) -> Path | None:
    from archbuilder import __version__

    stamp = time.strftime("%Y%m%d-%H%M%S")
    keras = sys.modules.get("keras")
    lines = [
        f"archbuilder {__version__} crashed at {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"command: archbuilder {' '.join(argv)}",
        f"python {platform.python_version()} on {platform.platform()}",
        f"keras {getattr(keras, '__version__', 'not imported')}, backend {os.environ.get('KERAS_BACKEND', 'default')}",
        "",
        "".join(traceback.format_exception(error)),
    ]
    name = f"crash-{stamp}-{os.getpid()}.log"
    # A traceback holds paths and values of the user's work: the folder is private (0700), the log too (0600),
    # and a folder of another user's (the shared temporary folder's) is not written into.
    before = os.umask(0o077)
    try:
        for folder in (crash_log_folder(), Path(tempfile.gettempdir()) / f"archbuilder-{os.getuid()}"):
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                if folder.stat().st_uid != os.getuid():
                    continue
                folder.chmod(0o700)
                return write_text_atomic(folder / name, "\n".join(lines))
            except (ArchbuilderError, OSError):
                continue
    finally:
        os.umask(before)
    return None

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

The exit codes live in :mod:`archbuilder.errors`; ``docs/errors.md`` documents them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

from archbuilder.artifacts import describe_os_error, write_text_atomic
from archbuilder.cli.common import Handler
from archbuilder.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, ArchbuilderError

#: Set to 1 to let unexpected exceptions through (full traceback on the console).
DEBUG_VARIABLE = "ARCHBUILDER_DEBUG"
#: Where crash logs go (default: $XDG_CACHE_HOME/archbuilder/crashes, else ~/.cache/archbuilder/crashes).
LOG_DIR_VARIABLE = "ARCHBUILDER_LOG_DIR"


_default_format = warnings.formatwarning


def _format_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    line: str | None = None) -> str:
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


def _run(handler: Handler, args: argparse.Namespace, argv: list[str]) -> int:
    try:
        return handler(args)
    except ArchbuilderError as error:
        print(str(error), file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # `archbuilder summary x | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("out of memory. Use a smaller --batch-size or a smaller network (`archbuilder summary FILE` "
              "estimates the training memory), or a machine with more memory.", file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:
        if error.filename is None or os.environ.get(DEBUG_VARIABLE) == "1":
            return _report_bug(error, argv)
        print(describe_os_error(error, error.filename, "access"), file=sys.stderr)
        return EXIT_INVALID
    except Exception as error:
        return _report_bug(error, argv)


def _report_bug(error: BaseException, argv: list[str]) -> int:
    if os.environ.get(DEBUG_VARIABLE) == "1":
        raise error
    summary = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
    if len(summary) > 300:
        summary = summary[:300] + "..."
    log = _write_crash_log(error, argv)
    where = (f"The traceback is in {log}; please report it with that file." if log is not None
             else "The traceback follows.")
    print(f"archbuilder: internal error (a bug in archbuilder, not in your input): {summary}. {where} "
          f"Set {DEBUG_VARIABLE}=1 to see it here.", file=sys.stderr)
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
    for folder in (crash_log_folder(), Path(tempfile.gettempdir()) / "archbuilder"):
        try:
            return write_text_atomic(folder / name, "\n".join(lines))
        except (ArchbuilderError, OSError):
            continue
    return None

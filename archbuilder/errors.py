"""The root of archbuilder's user errors, and the command line's exit codes.

Every error a user can cause (a bad blueprint, bad data, a run folder that cannot resume, a model
file that cannot be converted) derives from :class:`ArchbuilderError`. Its message is complete on
its own: where the problem is (``file:line:column`` and the blueprint path when there is one), what
was received, what is expected and how to fix it. The command line prints it as it is and exits
with :data:`EXIT_INVALID`; any other exception is a bug in archbuilder and exits with
:data:`EXIT_BUG` after writing its traceback to a log file (see ``archbuilder.cli``).

This mirrors KerasTuner's ``errors.py``: one small hierarchy with a clear contract. The module
imports nothing, so every package (the blueprint format included) can derive from it.
"""

from __future__ import annotations

#: The command succeeded.
EXIT_OK = 0
#: Invalid input: a blueprint problem, bad data, a missing or unreadable file, a full disk.
EXIT_INVALID = 1
#: A usage error: unknown command or option, a missing argument (argparse's own code).
EXIT_USAGE = 2
#: A bug in archbuilder: an unexpected exception. One line names the log file with the traceback.
EXIT_BUG = 3
#: Interrupted by Ctrl-C (128 + SIGINT); training and search say how to resume.
EXIT_INTERRUPTED = 130


class ArchbuilderError(Exception):
    """Base of every error a user can cause; its message says what to do."""


__all__ = ["EXIT_BUG", "EXIT_INTERRUPTED", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "ArchbuilderError"]

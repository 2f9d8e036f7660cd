"""Errors a user can cause when training: bad data, a data/blueprint mismatch, a run that cannot resume.

They are user errors like :class:`~archbuilder.blueprint.BlueprintError`: the message says what was
received, what was expected and how to fix it; the command line prints it without a traceback and
exits with status 1. This module imports nothing heavy.
"""

from __future__ import annotations

from archbuilder.errors import ArchbuilderError


class TrainError(ArchbuilderError, ValueError):
    """Base of the training package's user errors."""


class DataError(TrainError):
    """A dataset cannot be loaded, or does not fit the blueprint."""


class RunError(TrainError):
    """A run cannot start or resume (output folder, settings, missing checkpoint)."""


__all__ = ["DataError", "RunError", "TrainError"]

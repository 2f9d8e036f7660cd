"""Saving a run's state at the end of each epoch, in the fixed sequence with one commit point that
:mod:`archbuilder.training.run_folder` describes (and :func:`~archbuilder.training.run_folder.resume_point`
repairs after a kill anywhere in it). Nothing here imports Keras: the model is saved by the callback.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archbuilder.artifacts import ArtifactError, describe_os_error, write_atomic
from archbuilder.training.history_file import HistoryLog
from archbuilder.training.run_folder import (
    BEST_MODEL,
    CHECKPOINT_STATE,
    HISTORY,
    LAST_MODEL,
    staged_model,
    write_state,
)


def save_epoch(
    folder: Path, state: dict[str, Any], save_model: Callable[[Path], Any], history: HistoryLog, *, improved: bool
) -> None:
    """Write the state after an epoch in the order :mod:`archbuilder.training.run_folder` gives (``state``
    already updated).

    Raises:
        ArtifactError: a file could not be written (a full disk); the message says the run can resume.
    """
    epoch = int(state["completed_epochs"])
    staged = staged_model(folder, epoch)
    target, committed = folder / HISTORY, False
    try:
        history.write(target)
        target = folder / LAST_MODEL
        write_atomic(staged, save_model)
        target = folder / CHECKPOINT_STATE
        write_state(folder, state)
        committed, target = True, folder / LAST_MODEL
        os.replace(staged, target)
        if improved:
            target = folder / BEST_MODEL
            write_atomic(target, lambda temporary: shutil.copyfile(folder / LAST_MODEL, temporary))
    except OSError as error:
        cause = error.__cause__ if isinstance(error, ArtifactError) and isinstance(error.__cause__, OSError) else error
        saved = epoch if committed else epoch - 1
        after = (
            f" The run is saved up to epoch {saved}: continue it with --resume."
            if saved
            else " No epoch of the run is saved yet."
        )
        raise ArtifactError(describe_os_error(cause, target) + after) from error


__all__ = ["save_epoch"]

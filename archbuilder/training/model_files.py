"""The run's ``.keras`` files: how each records the way its model was trained, and the check that
one is whole.

Each ``.keras`` file of a run records how its model was trained (:data:`MODEL_CONTEXT`: data,
resize, pixel range, seed, class names, epoch), so ``archbuilder evaluate`` and ``predict`` need
no option the run already had, wherever the file is copied (:func:`read_model_context`; see
:mod:`archbuilder.training.classifier`). Nothing here imports Keras.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from archbuilder.training.errors import RunError
from archbuilder.training.run_folder import start_over_advice

#: The entry of a run's ``.keras`` archives recording how the model was trained (Keras reads only its own entries).
MODEL_CONTEXT = "archbuilder.json"


def add_model_context(path: Path, context: dict[str, Any]) -> None:
    """Record ``context`` (how the model was trained: ``data``, ``resize``, ``pixel_range``, ``seed``,
    ``class_names``, ``epoch``) as the :data:`MODEL_CONTEXT` entry of the ``.keras`` archive ``path``."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(MODEL_CONTEXT, json.dumps(context, indent=2))


def read_model_context(path: Path, error: type[Exception] = RunError) -> dict[str, Any] | None:
    """The :data:`MODEL_CONTEXT` of a ``.keras`` file; ``None`` when it has none (not a run's, or an older version's).

    Raises:
        error: the entry is there but is not a JSON object (the file was edited).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if MODEL_CONTEXT not in archive.namelist():
                return None
            raw = archive.read(MODEL_CONTEXT)
    except (OSError, zipfile.BadZipFile):
        return None  # not a zip: loading the model says what is wrong with it
    try:
        context = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as failure:
        context = failure
    if not isinstance(context, dict):
        raise error(
            f"{path}: damaged (its {MODEL_CONTEXT} entry, how the model was trained, is not a JSON object). "
            "Use the run's own copy of the file."
        )
    return context


def check_model_file(path: Path) -> None:
    """Raise a one-line :class:`RunError` unless ``path`` is a whole ``.keras`` file (a zip archive)."""
    if not zipfile.is_zipfile(path):
        raise RunError(
            f"{path}: damaged (not a complete .keras file); the run cannot resume from it. "
            f"{start_over_advice(path.parent)}"
        )


__all__ = ["MODEL_CONTEXT", "add_model_context", "check_model_file", "read_model_context"]

"""The run folder: what a training run keeps on disk, how it is read back and checked, and how a
run starts, resumes or starts over in it.

    blueprint.yaml   the resolved blueprint with the effective recipe
    last.keras       model and optimizer state after the last completed epoch (what --resume loads)
    best.keras       the epoch with the lowest monitored value: the model the run keeps (and tests)
    history.csv      one row per epoch
    curves.png       loss and metrics per epoch, phases marked: drawn from history.csv at the end of the run
    metrics.json     test metrics of best.keras (``test_model`` names it and its epoch), settings, timing
    checkpoint.json  the completed epochs and settings of the run (what --resume reads)
    classes.json     the class names, for ``archbuilder predict``
    logs/            TensorBoard

Epochs are counted from 1 in every file and message of a run, as Keras's progress lines count them
(``Epoch 1/5``): history.csv's ``epoch`` column, ``best.epoch`` and ``completed_epochs`` in
checkpoint.json and metrics.json (epoch N is the N-th completed one), ``.last.epoch-NNNN.keras``,
curves.png's axis, the TensorBoard step. (A history.csv counted from 0, as versions before this one
and Keras's CSVLogger write it, is read as counted from 1: :mod:`archbuilder.training.history_file`.)

Each ``.keras`` file of a run also records how its model was trained (data, resize, pixel range,
seed, class names, epoch), so ``archbuilder evaluate`` and ``predict`` need no option the run
already had, wherever the file is copied (:mod:`archbuilder.training.model_files`).

Every file goes through :mod:`archbuilder.artifacts`, so each one is whole, old or new, whatever
the moment of a kill or a full disk. The state after an epoch is several files, though, so the
epoch's end is a fixed sequence (:func:`~archbuilder.training.epoch_saving.save_epoch`) with one
commit point:

1. ``history.csv``, with this epoch's row;
2. ``.last.epoch-NNNN.keras``: the model and optimizer after epoch NNNN, staged beside last.keras;
3. ``checkpoint.json`` naming NNNN completed epochs, the optimizer step, the best epoch and the
   patience counters: **the commit**;
4. ``last.keras``: the staged model renamed;
5. ``best.keras``: a copy of last.keras, when this epoch is the best so far.

:func:`resume_point` brings a folder killed anywhere in that sequence back to the epoch
``checkpoint.json`` names: the committed epoch's staged model becomes last.keras (a kill between 3
and 4), any other staged model is deleted (before 3), best.keras is copied again when the committed
epoch is the best (between 4 and 5), history rows after the committed epoch go (between 1 and 3),
and the temporary files of interrupted writes are removed. No epoch is trained twice, none is
skipped. The resumed run then checks that last.keras's optimizer step is the one checkpoint.json
records (:func:`check_optimizer_step`).

Nothing here imports Keras: the search and ``predict`` read run state with the same functions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from archbuilder.artifacts import (
    ArtifactError,
    describe_os_error,
    is_partial_name,
    write_atomic,
    write_json_atomic,
    write_text_atomic,
)
from archbuilder.blueprint.io import load_blueprint
from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.training.errors import RunError
from archbuilder.training.history_file import truncate_history
from archbuilder.wording import counted

CHECKPOINT_STATE = "checkpoint.json"
LAST_MODEL = "last.keras"
BEST_MODEL = "best.keras"
HISTORY = "history.csv"
METRICS = "metrics.json"
CLASSES = "classes.json"
CURVES = "curves.png"
BLUEPRINT = "blueprint.yaml"
LOGS = "logs"
#: The files a run writes (besides ``logs/`` and its staged and temporary files).
RUN_FILES = (LAST_MODEL, BEST_MODEL, HISTORY, METRICS, CHECKPOINT_STATE, BLUEPRINT, CLASSES, CURVES)

_STAGED = re.compile(r"^\.last\.epoch-(\d+)\.keras$")


@dataclass(frozen=True)
class Settings:
    """How a run trains beyond its recipe; a resumed run keeps them."""

    data: str
    batch_size: int
    seed: int
    resize: bool
    deterministic: bool
    precision: str
    jit_compile: bool | str


def start_over_advice(folder: Path) -> str:
    """What to do when a run folder cannot be used as it is."""
    return f"Pass --overwrite to start the run over in {folder}, or --output DIR to train elsewhere."


# -- reading state files -------------------------------------------------------------------------


def read_json_file(path: Path, error: type[Exception] = RunError, advice: str = "") -> Any:
    """The JSON in ``path``; ``None`` when there is no such file.

    Raises:
        error: ``"<path>: damaged (<what is wrong>). <advice>"`` when the file cannot be read or is
            not JSON (truncated by a crash of an older version, edited, or not archbuilder's).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise error(_damaged(path, "not UTF-8 text", advice)) from None
    except OSError as failure:
        raise error(f"{describe_os_error(failure, path, 'read')} {advice}".strip()) from None
    if not text.strip():
        raise error(_damaged(path, "empty", advice))
    try:
        return json.loads(text)
    except json.JSONDecodeError as failure:
        raise error(
            _damaged(path, f"not valid JSON: {failure.msg} (line {failure.lineno}, column {failure.colno})", advice)
        ) from None


def _damaged(path: Path, what: str, advice: str) -> str:
    return f"{path}: damaged ({what}). {advice}".strip()


def read_state(folder: Path, advice: str | None = None) -> dict[str, Any] | None:
    """``checkpoint.json`` of a run folder, checked; ``None`` when there is none.

    Raises:
        RunError: the file is damaged or is not a run's state (one line, naming it and what to do).
    """
    path = folder / CHECKPOINT_STATE
    advice = start_over_advice(folder) if advice is None else advice
    state = read_json_file(path, RunError, advice)
    if state is None:
        return None
    problem = _state_problem(state)
    if problem:
        raise RunError(_damaged(path, problem, advice))
    return state


def _state_problem(state: Any) -> str | None:
    """What makes ``state`` not a run's state, or ``None``."""
    if not isinstance(state, dict):
        return f"expected a JSON object, found {type(state).__name__}"
    settings = state.get("settings")
    names = {field.name for field in fields(Settings)}
    if not isinstance(settings, dict) or set(settings) != names:
        return f"'settings' must hold {', '.join(sorted(names))}"
    for key in ("completed_epochs", "epochs", "optimizer_step"):
        value = state.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"'{key}' is {value!r}, expected a whole number of at least 0"
    if not isinstance(state.get("finished", False), bool):
        return f"'finished' is {state['finished']!r}, expected true or false"
    best = state.get("best")
    if best is not None and not (
        isinstance(best, dict) and isinstance(best.get("epoch"), int) and isinstance(best.get("value"), (int, float))
    ):
        return f"'best' is {best!r}, expected {{monitor, value, epoch}}"
    if not isinstance(state.get("patience", {}), dict):
        return "'patience' must be a JSON object"
    return None


def settings_of(state: dict[str, Any]) -> Settings:
    """The run's :class:`Settings` (``state`` checked by :func:`read_state`)."""
    return Settings(**state["settings"])


def write_state(folder: Path, state: dict[str, Any]) -> None:
    """Write a run's ``checkpoint.json`` in ``folder`` atomically (what :func:`read_state` reads back).

    Raises:
        ArtifactError: The file cannot be written; the previous one is unchanged.
    """
    write_json_atomic(folder / CHECKPOINT_STATE, state)


def write_run_files(
    folder: Path, blueprint: Blueprint, settings: Settings, class_names: Iterable[str] | None = None
) -> None:
    """``blueprint.yaml`` (resolved, with the effective recipe) and, when given, ``classes.json``."""
    header = (
        f"# Resolved blueprint of this run, with the effective recipe (data: {settings.data}).\n"
        f"# Train it again with: archbuilder train blueprint.yaml --data {settings.data}"
        f"{' --resize' if settings.resize else ''}\n"
    )
    write_text_atomic(folder / BLUEPRINT, header + blueprint.to_yaml())
    if class_names is not None:
        write_json_atomic(folder / CLASSES, list(class_names))


# -- a new run, or starting over -----------------------------------------------------------------


def prepare_new_run(folder: Path, overwrite: bool) -> None:
    """Make ``folder`` ready for a new run: create it, or replace a run in it.

    Without ``overwrite`` only an unstarted run (no epoch completed) is replaced; a finished or
    interrupted run, a damaged one, and files of a run's names in a folder that holds no run are
    left alone with an error saying what to do. Files of other names are never touched.

    Raises:
        RunError: the folder holds something a new run would replace and ``overwrite`` is off.
    """
    try:
        state = read_state(folder)
    except RunError:
        if not overwrite:
            raise
        state = None
    existing = existing_outputs(folder, (*RUN_FILES, LOGS))
    if not overwrite:
        if state is None and existing:
            raise RunError(
                f"{folder} holds {', '.join(existing)} but no {CHECKPOINT_STATE}, so it is not a run "
                "folder; a run would replace them. Pass --output DIR to train into a new folder, or "
                "--overwrite to replace them."
            )
        if state is not None and state.get("finished"):
            done = state["completed_epochs"]
            raise RunError(
                f"{folder} holds a finished run ({done} epoch{'s' if done != 1 else ''}). Pass --overwrite to "
                "replace it, --resume with --epochs N to train it further, or --output DIR to train "
                "elsewhere."
            )
        if state is not None and state["completed_epochs"] > 0:
            raise RunError(
                f"{folder} holds an interrupted run ({state['completed_epochs']} of {state.get('epochs', '?')} "
                "epochs done). Pass --resume to continue it, --overwrite to start it over, or --output DIR "
                "to train elsewhere."
            )
    if existing and not overwrite:
        print(f"replacing the unstarted run in {folder}")
    elif existing:
        print(f"starting over in {folder}: replacing {', '.join(existing)}")
    remove_outputs(folder, (*RUN_FILES, LOGS))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ArtifactError(describe_os_error(error, folder, "create the folder")) from None


def existing_outputs(folder: Path, names: Iterable[str]) -> list[str]:
    """Those of ``names`` that exist in ``folder`` (folders with a trailing ``/``)."""
    found = []
    for name in names:
        path = folder / name
        if path.is_dir():
            found.append(f"{name}/")
        elif path.exists() or path.is_symlink():
            found.append(name)
    return found


def remove_outputs(folder: Path, names: Iterable[str]) -> None:
    """Delete ``names`` in ``folder`` (files or folders), with any staged or temporary file archbuilder left there."""
    if not folder.is_dir():
        return
    for name in names:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    remove_leftovers(folder)


def remove_leftovers(folder: Path) -> None:
    """Delete the temporary files of writes a kill interrupted, and staged models (``.last.epoch-N.keras``)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if (is_partial_name(path.name) or _STAGED.match(path.name)) and path.is_file():
            path.unlink(missing_ok=True)


# -- resuming --------------------------------------------------------------------------------------


def open_for_resume(
    folder: Path, given: Blueprint, requested: dict[str, Any]
) -> tuple[dict[str, Any], Blueprint, Settings]:
    """The state, the run's own blueprint and settings of the run to resume in ``folder``.

    Raises:
        RunError: no run, a damaged one, one of another blueprint, or ``requested`` settings that differ.
    """
    state = read_state(folder)
    if state is None:
        raise RunError(
            f"nothing to resume in {folder}: it has no {CHECKPOINT_STATE}. Run without --resume to start "
            "a new run (or point --output at the run's folder)."
        )
    blueprint = load_blueprint(folder / BLUEPRINT)
    if blueprint.model_copy(update={"training": None}) != given.model_copy(update={"training": None}):
        raise RunError(
            f"{folder} was trained from a different '{blueprint.name}' blueprint; resume with the same "
            "blueprint, or pass --output to start a new run elsewhere."
        )
    settings = settings_of(state)
    _check_unchanged(settings, blueprint.training, requested, folder)
    return state, blueprint, settings


def _check_unchanged(
    settings: Settings, recipe: TrainingRecipe | None, requested: dict[str, Any], folder: Path
) -> None:
    from archbuilder.runtime.accelerator import MIXED  # Keras is loaded by now (the runner imported it)

    saved = {
        **asdict(settings),
        "learning_rate": (recipe or TrainingRecipe()).optimizer.learning_rate,
        "mixed_precision": settings.precision == MIXED,
        "jit_compile": settings.jit_compile is True,
    }
    for name, value in requested.items():
        value = value if value is None or isinstance(value, (str, bool, int, float)) else value.name  # a Dataset
        if value is not None and value != saved[name]:
            raise RunError(
                f"the run in {folder} used {name}={saved[name]!r}; it cannot resume with {name}={value!r}. "
                f"Resume with the run's own settings (leave {name} out), or pass --output to start a new "
                "run elsewhere."
            )


def check_epochs(folder: Path, state: dict[str, Any], epochs: int) -> None:
    """Raise unless the run can train to ``epochs`` (a run killed after its last epoch is finished)."""
    completed = int(state["completed_epochs"])
    if state.get("finished") and completed >= epochs:
        raise RunError(
            f"the run in {folder} already finished its {counted(completed, 'epoch')}; pass --epochs N with N above "
            f"{completed} to train it further."
        )
    if completed > epochs:
        raise RunError(
            f"the run in {folder} has {counted(completed, 'epoch')} done; pass --epochs N with N of at least "
            f"{completed} to continue it."
        )


def resume_point(folder: Path, state: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Bring the folder back to the epoch ``checkpoint.json`` commits; returns the state and the epoch to start at.

    See the module docstring for what a kill at each point of the epoch's end leaves and how it is
    repaired. Without ``last.keras`` the run starts again from its first epoch.
    """
    state, last = dict(state), folder / LAST_MODEL
    completed = int(state.get("completed_epochs", 0))
    if completed and staged_model(folder, completed).is_file():
        os.replace(staged_model(folder, completed), last)  # committed, not yet renamed: a kill between steps 3 and 4
    remove_leftovers(folder)  # other staged models (never committed), temporary files of interrupted writes
    start = completed if last.exists() else 0
    best = state.get("best")
    if start and best and best.get("epoch") == start:  # a kill between steps 4 and 5 leaves the previous best
        write_atomic(folder / BEST_MODEL, lambda temporary: shutil.copyfile(last, temporary))
    state["completed_epochs"] = start
    if not start:
        for key in ("best", "optimizer_step", "patience"):
            state.pop(key, None)
    truncate_history(folder / HISTORY, start)
    return state, start


def staged_model(folder: Path, epoch: int) -> Path:
    """Where the model after ``epoch`` waits for its commit (see
    :func:`~archbuilder.training.epoch_saving.save_epoch`)."""
    return folder / f".last.epoch-{epoch:04d}.keras"


def check_optimizer_step(folder: Path, state: dict[str, Any], step: int) -> None:
    """Raise unless ``step`` (last.keras's optimizer iterations) is the one checkpoint.json recorded."""
    recorded = state.get("optimizer_step")
    if recorded is not None and int(recorded) != step:
        raise RunError(
            f"{folder / LAST_MODEL}: its optimizer is at step {step}, but {CHECKPOINT_STATE} records step "
            f"{recorded} after epoch {state.get('completed_epochs')}: the two files are not from the same "
            f"epoch. Put the run's own files back, or pass --overwrite to start the run over in {folder} "
            "(--output DIR to train elsewhere)."
        )


__all__ = [
    "BEST_MODEL",
    "BLUEPRINT",
    "CHECKPOINT_STATE",
    "CLASSES",
    "CURVES",
    "HISTORY",
    "LAST_MODEL",
    "LOGS",
    "METRICS",
    "RUN_FILES",
    "Settings",
    "check_epochs",
    "check_optimizer_step",
    "existing_outputs",
    "open_for_resume",
    "prepare_new_run",
    "read_json_file",
    "read_state",
    "remove_leftovers",
    "remove_outputs",
    "resume_point",
    "settings_of",
    "staged_model",
    "start_over_advice",
    "write_run_files",
    "write_state",
]

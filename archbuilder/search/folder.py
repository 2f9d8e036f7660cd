"""The search's output folder: its files, its state (``search.json``: the settings the search runs
with, the space's fingerprint, its history), the folder prepared for a new, resumed or overwritten
search, and the settings a resumed search runs with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archbuilder.artifacts import ArtifactError, describe_os_error, write_json_atomic
from archbuilder.search.errors import SearchError
from archbuilder.search.options import SPACE_SETTINGS
from archbuilder.search.settings import format_duration, settings_from_record
from archbuilder.search.space import SearchSpace
from archbuilder.search.tuners import tuner_name
from archbuilder.training.run_folder import existing_outputs, read_json_file, remove_leftovers, remove_outputs

SEARCH_STATE = "search.json"
TUNER_DIR = "tuner"
TENSORBOARD_DIR = "tensorboard"
OUTPUTS = (
    "trials.csv",
    "best.keras",
    "best.yaml",
    "top",
    "pareto",
    "pareto.svg",
    "pareto.png",
    "trials.png",
    "summary.json",
    TUNER_DIR,
    TENSORBOARD_DIR,
)


def effective_space(
    space: SearchSpace, overrides: dict[str, Any], state: dict[str, Any] | None, folder: Path
) -> SearchSpace:
    """The space with the settings the search runs with: the file's with the arguments given, or, when
    resuming, the settings recorded in ``search.json``: a resumed search keeps its word (an edited space
    file changes nothing; only an argument of this call may raise ``max_trials`` or change ``max_time``,
    and the message says how).

    Raises:
        SearchError: an argument conflicts with the recorded settings of the search being resumed.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    if state is None or not isinstance(state.get("settings"), dict):
        return space.with_settings(**given)
    recorded = settings_from_record(state["settings"])
    for key, value in given.items():
        was = recorded.get(key)
        if key == "max_trials" and isinstance(was, int) and value >= was:
            continue
        if key == "max_time":  # a time budget does not change what is searched
            continue
        if key == "tuner":  # by name: the recorded tuner keeps its recorded settings
            value, was = tuner_name(value), tuner_name(was)
        if value != was:
            flag = "--" + key.replace("_", "-")
            advice = (
                "a search cannot plan fewer trials than it was started with; interrupt it to stop early"
                if key == "max_trials"
                else f"resume without {flag} (the search keeps its settings)"
            )
            asked, recorded_value = _shown(value, key), _shown(was, key)
            raise SearchError(
                f"{flag} {asked} conflicts with the search in {folder}, which runs with {key} {recorded_value}: "
                f"{advice}, or pass --overwrite to start over with {flag} {asked}."
            )
    resumed = space.with_settings(**{**recorded, **{key: value for key, value in given.items() if key != "tuner"}})
    differing = [
        f"{key} {_shown(recorded[key], key)} (the space says {_shown(getattr(space.settings, key), key)})"
        for key in SPACE_SETTINGS
        if key != "tuner"  # another tuner is another search: prepare_folder refuses it by its fingerprint
        and key in recorded
        and key not in given
        and recorded[key] != getattr(space.settings, key)
    ]
    if differing:
        more = space.settings.max_trials > resumed.settings.max_trials and "max_trials" not in given
        advice = f"; pass --max-trials {space.settings.max_trials} to plan more trials" if more else ""
        print(f"resuming with the search's own settings: {', '.join(differing)}{advice}")
    return resumed


def _shown(value: Any, key: str = "") -> str:
    """A setting as a message shows it: ``none`` for unset, ``max_time`` as a duration (``1m30s``)."""
    if value is None:
        return "none"
    if key == "max_time":
        return format_duration(float(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def start_over_advice(folder: Path) -> str:
    """The sentence that tells how to start over in ``folder`` or search elsewhere."""
    return f"Pass --overwrite to start the search over in {folder}, or --output DIR to search elsewhere."


def read_search_state(folder: Path) -> dict[str, Any] | None:
    """``search.json`` of a search folder; ``None`` when there is none.

    Raises:
        SearchError: the file is damaged (one line naming it and what to do).
    """
    path = folder / SEARCH_STATE
    state = read_json_file(path, SearchError, start_over_advice(folder))
    if state is not None and not (isinstance(state, dict) and isinstance(state.get("fingerprint"), str)):
        raise SearchError(f"{path}: damaged (not the state of a search: no 'fingerprint'). {start_over_advice(folder)}")
    return state


def write_search_state(
    folder: Path,
    space: SearchSpace,
    *,
    finished: bool,
    event: str | None = None,
    elapsed: float | None = None,
    stopped: str | None = None,
) -> None:
    """``search.json``: the space, its fingerprint, the settings the search runs with, whether it finished,
    the seconds it has run (all sessions), and its history (started, resumed with which ``max_trials``,
    finished, and why it stopped early).

    Args:
        folder: the search's folder.
        space: the space with the settings the search runs with.
        finished: whether the search finished (its outputs are written).
        event: ``"started"`` or ``"resumed"`` to add to the history (``finished`` adds ``"finished"``).
        elapsed: the seconds the search has run so far; ``None`` keeps the recorded figure.
        stopped: why a finished search stopped before ``max_trials`` (``"max_time"``), for the history.
    """
    previous = read_search_state(folder) if (folder / SEARCH_STATE).exists() else None
    history = list(previous.get("history", [])) if previous and isinstance(previous.get("history"), list) else []
    if event is not None or finished:
        entry = {"event": event or "finished", "max_trials": space.settings.max_trials, "epochs": space.settings.epochs}
        history.append(entry | ({"stopped": stopped} if stopped else {}))
    state = {
        "space": space.name,
        "source": space.source_name,
        "fingerprint": space.fingerprint(),
        "finished": finished,
        "settings": space.settings.model_dump(mode="json"),
        "parameters": [parameter.name for parameter in space.parameters],
        "elapsed": round(recorded_elapsed(previous) if elapsed is None else elapsed, 1),
        "history": history,
    }
    write_json_atomic(folder / SEARCH_STATE, state)


def recorded_elapsed(state: dict[str, Any] | None) -> float:
    """The seconds a search has run by its ``search.json`` (0 without one, or before this was recorded)."""
    value = state.get("elapsed") if isinstance(state, dict) else None
    return float(value) if isinstance(value, (int, float)) and value >= 0 else 0.0


def prepare_folder(folder: Path, space: SearchSpace, resume: bool, overwrite: bool = False) -> bool:
    """Check the output folder for a new or resumed search; returns whether to resume.

    Raises:
        SearchError: the folder holds a search (or a search's files) and neither ``resume`` nor
            ``overwrite`` says what to do with it, holds a search of another space, or is damaged.
    """
    if resume and overwrite:
        raise SearchError(
            f"resume and overwrite exclude each other: pass --resume to continue the search in {folder}, "
            "or --overwrite to start it over."
        )
    state = None if overwrite else read_search_state(folder)
    if resume and state is None:
        print(f"nothing to resume in {folder}; starting a new search")
        resume = False
    if resume and state is not None:
        if state.get("fingerprint") != space.fingerprint():
            raise SearchError(
                f"{folder} holds a search of a different space ('{state.get('space')}': its markers, "
                "variables, constraints, budgets, tuner or objective differ). Resume with the same space and "
                "tuner, or pass --output DIR for a new search."
            )
        for path in sorted((folder / TUNER_DIR).rglob("*.json")):  # KerasTuner's state: checked before it reads it
            read_json_file(path, SearchError, f"The search cannot resume from it. {start_over_advice(folder)}")
    existing = existing_outputs(folder, (*OUTPUTS, SEARCH_STATE))
    if not resume and not overwrite:
        if state is None and existing:
            raise SearchError(
                f"{folder} holds {', '.join(existing)} but no {SEARCH_STATE}, so it is not a search folder; "
                "a search would replace them. Pass --output DIR to search into a new folder, or --overwrite "
                "to replace them."
            )
        if state is not None and not state.get("finished"):
            raise SearchError(
                f"{folder} holds an interrupted search of '{state.get('space')}'. Pass --resume to continue "
                "it, --overwrite to start it over, or --output DIR to search elsewhere."
            )
        if state is not None:
            history = state.get("history")
            last = history[-1] if isinstance(history, list) and history else None
            by_time = isinstance(last, dict) and last.get("stopped") == "max_time"
            raise SearchError(
                f"{folder} holds a finished search of '{state.get('space')}'. Pass --overwrite to replace "
                f"it, --resume with a larger {'--max-time' if by_time else '--max-trials'} to continue it, or "
                "--output DIR to search elsewhere."
            )
    if overwrite and existing:
        print(f"starting over in {folder}: replacing {', '.join(existing)}")
        remove_outputs(folder, (*OUTPUTS, SEARCH_STATE))
    for leftover in [folder, *(folder / TUNER_DIR).rglob("*")]:  # temporary files of writes a kill interrupted
        if leftover.is_dir():
            remove_leftovers(leftover)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ArtifactError(describe_os_error(error, folder, "create the folder")) from None
    write_search_state(folder, space, finished=False, event="resumed" if resume else "started")
    return resume


__all__ = [
    "OUTPUTS",
    "SEARCH_STATE",
    "TENSORBOARD_DIR",
    "TUNER_DIR",
    "effective_space",
    "prepare_folder",
    "read_search_state",
    "recorded_elapsed",
    "start_over_advice",
    "write_search_state",
]

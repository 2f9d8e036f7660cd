"""``run(space, data=...)``: check the space, search it with KerasTuner, collect and write the results.

The output folder (default ``searches/<space name>``)::

    best.keras     the winner, trained (the weights of its best epoch; --final-epochs: retrained), test-evaluated
    best.yaml      the winning blueprint, resolved, with its training recipe and scores in a header
    top/           the top-k blueprints;  pareto/  the Pareto front's blueprints
    trials.csv     every trial: active values, status, metrics, params, MACs, time
    pareto.png     the front plotted (matplotlib; pareto.svg the same figure), trials.png the objective per trial
    summary.json   counts (trials by status, rejected candidates by reason, duplicates), best, front
    search.json    the settings the search runs with (what --resume uses), the space's fingerprint, its history
    tuner/         KerasTuner's project (oracle state, one folder per trial; the top trials' model.keras)
    tensorboard/   one log folder per trial, with its hyperparameters for TensorBoard's HParams dashboard
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from archbuilder.artifacts import ArtifactError, describe_os_error, write_json_atomic
from archbuilder.blueprint.errors import BlueprintError
from archbuilder.search.loading import load_space
from archbuilder.search.results import (
    SearchResult,
    SearchWarning,
    TrialRecord,
    near_chance,
    write_outputs,
    write_progress,
)
from archbuilder.search.screening import SpaceCheck, validate_space
from archbuilder.search.space import CandidateError, SearchSpace
from archbuilder.training.environment import prepare_backend_environment
from archbuilder.training.errors import RunError
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


def distributed_role() -> str:
    """``single``, or KerasTuner's ``chief``/``worker`` (KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP/PORT)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


def run(
    space: Any,
    *,
    data: Any = None,
    max_trials: int | None = None,
    epochs: int | None = None,
    tuner: str | None = None,
    seed: int | None = None,
    executions_per_trial: int | None = None,
    batch_size: int | None = None,
    final_epochs: int | None = None,
    output: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    save_top: bool = False,
    tensorboard: bool = True,
) -> SearchResult:
    """Search a space (a path, YAML text, a dict, a shipped space name or a SearchSpace) and keep the
    trained winner.

    Arguments left ``None`` come from the space's ``search:`` section; the settings the search runs
    with are recorded in ``search.json``, and ``resume`` continues with them (an argument that
    conflicts with them is an error; ``max_trials`` may be raised). The winner's model (the weights
    of its best epoch) is written as ``best.keras`` and evaluated once on the test split. Under
    KerasTuner's distributed mode the chief returns the whole result and a worker the trials it
    ran; only the chief writes the output folder.

    Args:
        space: a path to a space's YAML file, a shipped space name (``"pattern"``), YAML text, a
            dict or a :class:`SearchSpace` (see :func:`load_space`).
        data: a dataset name (``digits``, ``shapes:500``, ``mnist``, ...) or a loaded
            :class:`archbuilder.training.data.Dataset`; ``None`` takes ``search.data``, else the
            template's ``training.data``.
        max_trials: trained trials at most (rejected candidates do not count).
        epochs: epochs per trial (hyperband: the most epochs of a trial).
        tuner: ``"random"``, ``"grid"``, ``"bayesian"`` (needs scikit-learn), ``"hyperband"`` or
            ``"evolution"``.
        seed: seed of the sampling and of the trainings.
        executions_per_trial: trainings per trial, their metrics averaged.
        batch_size: batch size of every trial (default: each candidate's ``training.batch_size``).
        final_epochs: retrain the ``top_k`` trials for that many epochs with their full recipe and
            keep the best of them (default: keep the best trial's own model).
        output: the output folder; ``None`` uses ``searches/<space name>``.
        resume: continue the search in ``output`` with its recorded settings (a new search starts
            when there is nothing to resume).
        overwrite: start over in a folder that holds a search, replacing its outputs (without it, a
            search never replaces what another one wrote). Excludes ``resume``.
        progress: print the header, a line per epoch and per trial, and the summary.
        save_top: also write the models of the top trials as ``top/*.keras``.
        tensorboard: log each trial for TensorBoard's HParams dashboard under ``tensorboard/``
            (TensorFlow backend only).

    Returns:
        A :class:`SearchResult`: every trial's record, the rejection and duplicate counts, the
        best trial (``result.best``), the top trials and the Pareto front, the winner's model
        path and test metrics (``result.model``, ``result.test``), and the output folder. A
        :class:`SearchWarning` is issued when every trial scored near chance.

    Raises:
        BlueprintError: the space is invalid or empty under its budgets (checked before any trial),
            or an argument is not a valid setting.
        DataError: the data cannot be loaded or does not fit the candidates.
        RunError: no data, the output folder holds another search, or an argument conflicts with the
            settings of the search being resumed.
        ArtifactError: the output folder or one of its files cannot be written (a full disk, no permission).
    """
    overrides = {
        "max_trials": max_trials,
        "epochs": epochs,
        "tuner": tuner,
        "seed": seed,
        "executions_per_trial": executions_per_trial,
        "batch_size": batch_size,
        "final_epochs": final_epochs,
        "data": data if isinstance(data, str) else None,
    }
    space = load_space(space)
    role = distributed_role()
    folder = Path(output) if output is not None else Path("searches") / space.name
    state = read_search_state(folder) if resume and not overwrite and role != "worker" else None
    space = effective_space(space, overrides, state, folder)
    check = validate_space(space) if role != "worker" else None
    source = data if data is not None and not isinstance(data, str) else data_name(space)
    if role != "worker":
        resume = prepare_folder(folder, space, resume, overwrite)

    prepare_backend_environment()  # before Keras is imported: the modules below import it
    from archbuilder.search.hypermodel import BlueprintHyperModel
    from archbuilder.search.oracle_factory import create_oracle
    from archbuilder.search.trial import DataCache
    from archbuilder.search.tuner import BlueprintTuner
    from archbuilder.search.winner import keep_winner, save_top_models
    from archbuilder.training import accelerator

    settings = space.settings
    hypermodel = BlueprintHyperModel(space, DataCache(source, resize=settings.resize))
    oracle = create_oracle(space)

    def record_progress() -> None:  # trials.csv and summary.json follow a running search (search show reads them)
        write_progress(collect_results(space, oracle, hypermodel, folder, role), folder)

    search_tuner = BlueprintTuner(
        oracle,
        hypermodel,
        settings=settings,
        progress=progress,
        tensorboard=folder / TENSORBOARD_DIR if tensorboard else None,
        on_trial_done=record_progress if role != "worker" else None,
        directory=str(folder),
        project_name=TUNER_DIR,
        overwrite=not resume and role != "worker",
        executions_per_trial=settings.executions_per_trial,
    )
    if progress and check is not None:
        print(_header(space, check, source, role), flush=True)
    with accelerator.precision_policy(accelerator.choose_precision(None)):
        search_tuner.search(verbose=0)
        if role == "worker":
            return _worker_result(space, search_tuner)
        result = collect_results(space, oracle, hypermodel, folder, role)
        keep_winner(result, search_tuner, folder, final_epochs=settings.final_epochs, progress=progress)
    write_outputs(result, folder)
    if save_top:
        save_top_models(result, search_tuner, folder)
    _write_state(folder, space, finished=True)
    classes = min((output.classes for output in _heads(result)), default=0)
    warning = near_chance(result, classes)
    if warning:
        warnings.warn(warning, SearchWarning, stacklevel=2)
    if progress:
        print(result.summary())
        print(
            f"wrote {folder}: "
            + ("best.keras, " if result.model is not None else "")
            + f"best.yaml, top/, pareto/, trials.csv, pareto.png, pareto.svg, trials.png, summary.json, {TUNER_DIR}/"
            + (f", {TENSORBOARD_DIR}/" if search_tuner.tensorboard else "")
        )
    return result


def _heads(result: SearchResult) -> list[Any]:
    from archbuilder.training.recipe import head_outputs

    best = result.best
    return head_outputs(best.blueprint) if best is not None and best.blueprint is not None else []


def effective_space(
    space: SearchSpace, overrides: dict[str, Any], state: dict[str, Any] | None, folder: Path
) -> SearchSpace:
    """The space with the settings the search runs with: the file's with the arguments given, or, when
    resuming, the settings recorded in ``search.json`` (an argument may only raise ``max_trials``).

    Raises:
        RunError: an argument conflicts with the recorded settings of the search being resumed.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    if state is None or not isinstance(state.get("settings"), dict):
        return space.with_settings(**given)
    recorded = state["settings"]
    if "max_trials" not in given and space.settings.max_trials > recorded.get("max_trials", 0):
        given["max_trials"] = space.settings.max_trials  # raised in the file: as if raised by --max-trials
    for key, value in given.items():
        was = recorded.get(key)
        if key == "max_trials" and isinstance(was, int) and value >= was:
            continue
        if value != was:
            flag = "--" + key.replace("_", "-")
            advice = (
                "a search cannot plan fewer trials than it was started with; interrupt it to stop early"
                if key == "max_trials"
                else f"resume without {flag} (the search keeps its settings)"
            )
            raise RunError(
                f"{flag} {value} conflicts with the search in {folder}, which runs with {key} {was}: "
                f"{advice}, or pass --overwrite to start over with {flag} {value}."
            )
    resumed = space.with_settings(**{**recorded, **given})
    differing = [
        f"{key} {recorded[key]} (the space says {getattr(space.settings, key)})"
        for key in ("epochs", "max_trials", "seed", "batch_size", "executions_per_trial", "final_epochs", "data")
        if key in recorded and key not in given and recorded[key] != getattr(space.settings, key)
    ]
    if differing:
        print(f"resuming with the search's own settings: {', '.join(differing)}")
    return resumed


def data_name(space: SearchSpace) -> str:
    """``search.data``, else the template's ``training.data``.

    Raises:
        RunError: neither is set.
    """
    if space.settings.data:
        return space.settings.data
    training = space.raw.get("training")
    if isinstance(training, dict) and isinstance(training.get("data"), str):
        return training["data"]
    raise RunError(
        "no data to search on: set search.data (or training.data) in the space, pass --data "
        "(digits, shapes, mnist, ...), or data=... in Python."
    )


def _header(space: SearchSpace, check: SpaceCheck, source: Any, role: str) -> str:
    settings = space.settings
    data = source if isinstance(source, str) else source.name
    where = " (distributed chief)" if role == "chief" else ""
    return (
        f"searching '{space.name}'{where}: {settings.tuner} tuner, up to {settings.max_trials} trials x "
        f"{settings.epochs} epoch{'s' if settings.epochs != 1 else ''} on {data}, objective "
        f"{settings.score_name} ({settings.objective_spec.direction}); {len(space.parameters)} hyperparameters, "
        f"{check.valid} of {check.sampled} sampled candidates valid and within budget"
    )


# -- the output folder ---------------------------------------------------------------------------


def start_over_advice(folder: Path) -> str:
    """The sentence that tells how to start over in ``folder`` or search elsewhere."""
    return f"Pass --overwrite to start the search over in {folder}, or --output DIR to search elsewhere."


def read_search_state(folder: Path) -> dict[str, Any] | None:
    """``search.json`` of a search folder; ``None`` when there is none.

    Raises:
        RunError: the file is damaged (one line naming it and what to do).
    """
    path = folder / SEARCH_STATE
    state = read_json_file(path, RunError, start_over_advice(folder))
    if state is not None and not (isinstance(state, dict) and isinstance(state.get("fingerprint"), str)):
        raise RunError(f"{path}: damaged (not the state of a search: no 'fingerprint'). {start_over_advice(folder)}")
    return state


def _write_state(folder: Path, space: SearchSpace, *, finished: bool, event: str | None = None) -> None:
    """``search.json``: the space, its fingerprint, the settings the search runs with, whether it finished,
    and its history (started, resumed with which ``max_trials``, finished)."""
    previous = read_search_state(folder) if (folder / SEARCH_STATE).exists() else None
    history = list(previous.get("history", [])) if previous and isinstance(previous.get("history"), list) else []
    if event is not None or finished:
        history.append(
            {"event": event or "finished", "max_trials": space.settings.max_trials, "epochs": space.settings.epochs}
        )
    state = {
        "space": space.name,
        "source": space.source_name,
        "fingerprint": space.fingerprint(),
        "finished": finished,
        "settings": space.settings.model_dump(mode="json"),
        "parameters": [parameter.name for parameter in space.parameters],
        "history": history,
    }
    write_json_atomic(folder / SEARCH_STATE, state)


def prepare_folder(folder: Path, space: SearchSpace, resume: bool, overwrite: bool = False) -> bool:
    """Check the output folder for a new or resumed search; returns whether to resume.

    Raises:
        RunError: the folder holds a search (or a search's files) and neither ``resume`` nor
            ``overwrite`` says what to do with it, holds a search of another space, or is damaged.
    """
    if resume and overwrite:
        raise RunError(
            f"resume and overwrite exclude each other: pass --resume to continue the search in {folder}, "
            "or --overwrite to start it over."
        )
    state = None if overwrite else read_search_state(folder)
    if resume and state is None:
        print(f"nothing to resume in {folder}; starting a new search")
        resume = False
    if resume and state is not None:
        if state.get("fingerprint") != space.fingerprint():
            raise RunError(
                f"{folder} holds a search of a different space ('{state.get('space')}': its markers, "
                "variables, constraints, budgets, tuner or objective differ). Resume with the same space and "
                "tuner, or pass --output DIR for a new search."
            )
        for path in sorted((folder / TUNER_DIR).rglob("*.json")):  # KerasTuner's state: checked before it reads it
            read_json_file(path, RunError, f"The search cannot resume from it. {start_over_advice(folder)}")
    existing = existing_outputs(folder, (*OUTPUTS, SEARCH_STATE))
    if not resume and not overwrite:
        if state is None and existing:
            raise RunError(
                f"{folder} holds {', '.join(existing)} but no {SEARCH_STATE}, so it is not a search folder; "
                "a search would replace them. Pass --output DIR to search into a new folder, or --overwrite "
                "to replace them."
            )
        if state is not None and not state.get("finished"):
            raise RunError(
                f"{folder} holds an interrupted search of '{state.get('space')}'. Pass --resume to continue "
                "it, --overwrite to start it over, or --output DIR to search elsewhere."
            )
        if state is not None:
            raise RunError(
                f"{folder} holds a finished search of '{state.get('space')}'. Pass --overwrite to replace "
                "it, --resume with a larger --max-trials to continue it, or --output DIR to search elsewhere."
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
    _write_state(folder, space, finished=False, event="resumed" if resume else "started")
    return resume


# -- results -------------------------------------------------------------------------------------


def collect_results(
    space: SearchSpace, oracle: Any, hypermodel: Any, folder: Path | None, role: str = "single"
) -> SearchResult:
    """One record per KerasTuner trial (the oracle's, so resumed trials are included), in trial order."""
    from archbuilder.search.oracles import space_values
    from archbuilder.search.tuner import EXTRA_METRICS, parse_failure

    records = []
    for trial_id in sorted(oracle.trials, key=lambda text: int(text) if text.isdigit() else 0):
        trial = oracle.trials[trial_id]
        values = space_values(trial.hyperparameters.values)
        blueprint, costs, active = None, {}, values
        try:
            candidate = hypermodel.candidate(values)
            blueprint, costs, active = hypermodel.trial_blueprint(candidate), dict(candidate.costs), candidate.values
        except (CandidateError, BlueprintError):
            pass
        logged = {name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics}
        extra = {name: logged.pop(name) for name in EXTRA_METRICS if name in logged}
        epochs = extra.get("epochs")
        if trial.status == "COMPLETED":
            status, seconds, batch, message = "completed", extra.get("seconds"), extra.get("batch_size"), ""
        elif trial.status in ("FAILED", "INVALID"):
            status, seconds, batch, message = parse_failure(trial.message)
            logged = {}
        else:
            status, seconds, batch, message = "running", None, None, "interrupted; --resume runs it again"
        records.append(
            TrialRecord(
                trial_id,
                status,
                active,
                {k: float(v) for k, v in logged.items()},
                costs,
                None if seconds is None else float(seconds),
                None if batch is None else int(batch),
                message,
                blueprint,
                None if epochs is None or status != "completed" else int(epochs),
            )
        )
    screen = oracle.screen
    return SearchResult(
        space.name,
        space.settings,
        records,
        dict(screen.rejected),
        dict(screen.examples),
        screen.duplicates,
        [p.name for p in space.parameters],
        folder,
        role,
    )


def _worker_result(space: SearchSpace, tuner: Any) -> SearchResult:
    records = [
        TrialRecord(
            trial_id,
            report["status"],
            report.get("values", {}),
            {k: v for k, v in report.get("metrics", {}).items()},
            {},
            report.get("seconds"),
            report.get("batch_size"),
            report.get("message", ""),
        )
        for trial_id, report in tuner.reports.items()
    ]
    return SearchResult(
        space.name, space.settings, records, {}, {}, 0, [p.name for p in space.parameters], None, "worker"
    )


__all__ = [
    "SEARCH_STATE",
    "TENSORBOARD_DIR",
    "TUNER_DIR",
    "collect_results",
    "data_name",
    "distributed_role",
    "effective_space",
    "prepare_folder",
    "read_search_state",
    "run",
]

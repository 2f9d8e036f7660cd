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
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from archbuilder.artifacts import hold_folder
from archbuilder.blueprint.errors import BlueprintError
from archbuilder.runtime.environment import load_backend
from archbuilder.search.errors import SearchError
from archbuilder.search.folder import (
    TENSORBOARD_DIR,
    TUNER_DIR,
    effective_space,
    prepare_folder,
    read_search_state,
    recorded_elapsed,
    write_search_state,
)
from archbuilder.search.loading import load_space
from archbuilder.search.options import SearchOptions
from archbuilder.search.outputs import write_outputs, write_progress
from archbuilder.search.results import (
    SearchResult,
    SearchWarning,
    TrialRecord,
    near_chance,
)
from archbuilder.search.screening import space_values, values_that_matter
from archbuilder.search.settings import format_duration
from archbuilder.search.space import CandidateError, SearchSpace
from archbuilder.search.space_check import SpaceCheck, validate_space
from archbuilder.wording import counted


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
    max_time: float | str | None = None,
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
    conflicts with them is an error; ``max_trials`` may be raised and ``max_time`` changed). The
    winner's model (the weights of its best epoch) is written as ``best.keras`` and evaluated once
    on the test split. Under
    KerasTuner's distributed mode the chief returns the whole result and a worker the trials it
    ran; only the chief writes the output folder.

    Args:
        space: a path to a space's YAML file, a shipped space name (``"pattern"``), YAML text, a
            dict or a :class:`SearchSpace` (see :func:`load_space`).
        data: a dataset name (``digits``, ``shapes:500``, ``mnist``, ...) or a loaded
            :class:`archbuilder.training.data.Dataset`; ``None`` takes ``search.data``, else the
            template's ``training.data``.
        max_trials: trained trials at most (rejected candidates do not count).
        max_time: start no trial once the search has run this long, over all its sessions: seconds,
            or a duration text (``"90s"``, ``"30m"``, ``"1.5h"``); the trial running then finishes, and
            the winner is kept as usual. ``None``: no time limit.
        epochs: epochs per trial (hyperband: the most epochs of a trial).
        tuner: a tuner's name (:data:`archbuilder.search.tuners.TUNER_NAMES`: ``"random"``, ``"grid"``,
            ``"bayesian"`` (needs scikit-learn), ``"hyperband"``, ``"evolution"``), with its settings from
            the space when it is the space's tuner, else with its defaults.
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
        SearchError: no data, the output folder holds another search, or an argument conflicts with the
            settings of the search being resumed.
        ArtifactError: the output folder or one of its files cannot be written (a full disk, no permission).
    """
    options = SearchOptions(
        data=data,
        max_trials=max_trials,
        max_time=max_time,
        epochs=epochs,
        tuner=tuner,
        seed=seed,
        executions_per_trial=executions_per_trial,
        batch_size=batch_size,
        final_epochs=final_epochs,
        output=output,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
        save_top=save_top,
        tensorboard=tensorboard,
    )
    return run_search(space, options)


def run_search(space: Any, options: SearchOptions) -> SearchResult:
    """:func:`run` with its options typed: what the command line calls."""
    space = load_space(space)
    folder = options.folder(space.name)
    role = distributed_role()
    if role == "worker":
        return _run_worker(space, options, folder)
    with hold_folder(folder, "searching", SearchError):  # a second search into it is refused
        return _run_chief(space, options, folder, role)


def _run_chief(space: SearchSpace, options: SearchOptions, folder: Path, role: str) -> SearchResult:
    """The search itself (single, or the chief of KerasTuner's distributed mode), holding its folder."""
    state = read_search_state(folder) if options.resume and not options.overwrite else None
    space = effective_space(space, options.settings(), state, folder)
    check = validate_space(space)
    source = _data_source(space, options)
    resume = prepare_folder(folder, space, options.resume, options.overwrite)
    spent_before = recorded_elapsed(read_search_state(folder)) if resume else 0.0

    load_backend()  # before Keras is imported: the modules below import it
    from archbuilder.runtime import accelerator
    from archbuilder.search.winner import keep_winner, save_top_models

    settings = space.settings
    finished: dict[str, TrialRecord] = {}  # the rows of ended trials, collected once

    def record_progress() -> None:  # trials.csv and summary.json follow a running search (search show reads them)
        progress_result = collect_results(space, oracle, hypermodel, folder, role, finished)
        progress_result.elapsed = elapsed()
        write_progress(progress_result, folder)
        write_search_state(folder, space, finished=False, elapsed=progress_result.elapsed)

    oracle, hypermodel, search_tuner = _tuner(
        space, options, folder, source, on_trial_done=record_progress, overwrite=not resume
    )
    # The search's clock (max_time, elapsed) runs from here: importing Keras does not count.
    session_started = time.monotonic()
    oracle.set_time_left(None if settings.max_time is None else settings.max_time - spent_before)

    def elapsed() -> float:
        return spent_before + time.monotonic() - session_started

    if options.progress:
        print(_header(space, check, source, role), flush=True)
    with accelerator.precision_policy(accelerator.choose_precision(None)):
        try:
            search_tuner.search(verbose=0)
        except BaseException:  # Ctrl-C, a kill's signal, a fatal error: the time spent still counts on --resume
            write_search_state(folder, space, finished=False, elapsed=elapsed())
            raise
        result = collect_results(space, oracle, hypermodel, folder, role, finished)
        result.stopped = "max_time" if oracle.out_of_time and len(result.trials) < settings.max_trials else None
        keep_winner(result, search_tuner, folder, final_epochs=settings.final_epochs, progress=options.progress)
    result.elapsed = elapsed()
    write_outputs(result, folder)  # replaces top/, where save_top_models then adds the models
    if options.save_top:
        save_top_models(result, search_tuner, folder)
    write_search_state(folder, space, finished=True, elapsed=result.elapsed, stopped=result.stopped)
    classes = min((output.classes for output in _heads(result)), default=0)
    warning = near_chance(result, classes)
    if warning:
        warnings.warn(warning, SearchWarning, stacklevel=3)
    if options.progress:
        print(result.summary())
        print(
            f"wrote {folder}: "
            + ("best.keras, " if result.model is not None else "")
            + f"best.yaml, top/, pareto/, trials.csv, pareto.png, pareto.svg, trials.png, summary.json, {TUNER_DIR}/"
            + (f", {TENSORBOARD_DIR}/" if search_tuner.tensorboard else "")
        )
    return result


def _run_worker(space: SearchSpace, options: SearchOptions, folder: Path) -> SearchResult:
    """A worker of KerasTuner's distributed mode: runs the trials the chief's oracle hands it and returns
    what it ran; the chief checks the space, owns the folder and writes every output."""
    space = effective_space(space, options.settings(), None, folder)
    load_backend()
    from archbuilder.runtime import accelerator

    source = _data_source(space, options)
    _, _, search_tuner = _tuner(space, options, folder, source, on_trial_done=None, overwrite=False)
    with accelerator.precision_policy(accelerator.choose_precision(None)):
        search_tuner.search(verbose=0)
    return _worker_result(space, search_tuner)


def _tuner(
    space: SearchSpace,
    options: SearchOptions,
    folder: Path,
    source: Any,
    *,
    on_trial_done: Callable[[], None] | None,
    overwrite: bool,
) -> tuple[Any, Any, Any]:
    """The oracle, the hypermodel (reading each trial's candidate from the oracle's screen, which measured it
    when it admitted the trial) and the tuner that runs them (Keras imported)."""
    from archbuilder.search.hypermodel import BlueprintHyperModel
    from archbuilder.search.oracle_factory import create_oracle
    from archbuilder.search.trial import DataCache
    from archbuilder.search.tuner import BlueprintTuner

    settings = space.settings
    oracle = create_oracle(space)
    hypermodel = BlueprintHyperModel(space, DataCache(source, resize=settings.resize), screen=oracle.screen)
    search_tuner = BlueprintTuner(
        oracle,
        hypermodel,
        settings=settings,
        progress=options.progress,
        tensorboard=folder / TENSORBOARD_DIR if options.tensorboard else None,
        on_trial_done=on_trial_done,
        directory=str(folder),
        project_name=TUNER_DIR,
        overwrite=overwrite,
        executions_per_trial=settings.executions_per_trial,
    )
    return oracle, hypermodel, search_tuner


def _data_source(space: SearchSpace, options: SearchOptions) -> Any:
    """The dataset given as an object, else the name the space's settings (with ``--data``) give."""
    return options.loaded_data if options.loaded_data is not None else data_name(space)


def _heads(result: SearchResult) -> list[Any]:
    from archbuilder.training.recipe import head_outputs

    best = result.best
    return head_outputs(best.blueprint) if best is not None and best.blueprint is not None else []


def data_name(space: SearchSpace) -> str:
    """``search.data``, else the template's ``training.data``.

    Raises:
        SearchError: neither is set.
    """
    if space.settings.data:
        return space.settings.data
    training = space.raw.get("training")
    if isinstance(training, dict) and isinstance(training.get("data"), str):
        return training["data"]
    raise SearchError(
        "no data to search on: set search.data (or training.data) in the space, pass --data "
        "(digits, shapes, mnist, ...), or data=... in Python."
    )


def _header(space: SearchSpace, check: SpaceCheck, source: Any, role: str) -> str:
    settings = space.settings
    data = source if isinstance(source, str) else source.name
    where = " (distributed chief)" if role == "chief" else ""
    return (
        f"searching '{space.name}'{where}: {settings.tuner.type} tuner, "
        f"up to {counted(settings.max_trials, 'trial')} x {counted(settings.epochs, 'epoch')}"
        + (f" or {format_duration(settings.max_time)}" if settings.max_time is not None else "")
        + f" on {data}, objective "
        f"{settings.score_name} ({settings.objective_spec.direction}); {len(space.parameters)} hyperparameters, "
        f"{check.valid} of {check.sampled} sampled candidates valid and within budget"
    )


# -- results -------------------------------------------------------------------------------------


def collect_results(
    space: SearchSpace,
    oracle: Any,
    hypermodel: Any,
    folder: Path | None,
    role: str = "single",
    finished: dict[str, TrialRecord] | None = None,
) -> SearchResult:
    """One record per KerasTuner trial (the oracle's, so resumed trials are included), in trial order; a record's
    values are those that shaped its network (:func:`~archbuilder.search.screening.values_that_matter`).

    ``finished`` keeps the records of trials that ended (completed, failed, invalid) between calls: a
    running search collects after every trial, and re-deriving every earlier trial's candidate each time
    would make the search quadratic in its trials; each call then adds the rows of the new trials only.
    """
    from archbuilder.search.tuner import EXTRA_METRICS, parse_failure

    finished = {} if finished is None else finished
    records = []
    for trial_id in sorted(oracle.trials, key=lambda text: int(text) if text.isdigit() else 0):
        if trial_id in finished:
            records.append(finished[trial_id])
            continue
        trial = oracle.trials[trial_id]
        values = space_values(trial.hyperparameters.values)
        blueprint, costs, active = None, {}, values
        try:
            candidate = hypermodel.candidate(values)
            blueprint, costs = hypermodel.trial_blueprint(candidate), dict(candidate.costs)
            active = values_that_matter(space, candidate)  # what shaped the network: no value without effect
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
        record = TrialRecord(
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
        if status != "running":
            finished[trial_id] = record
        records.append(record)
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
    "collect_results",
    "data_name",
    "distributed_role",
    "run",
    "run_search",
]

"""KerasTuner glue, with its three roles kept apart:

* :class:`BlueprintHyperModel` builds: KerasTuner values -> concrete blueprint -> compiled ``keras.Model``;
* the oracles decide: KerasTuner's random, Bayesian and Hyperband oracles with a screen in front
  (:class:`ScreeningMixin`), and :class:`GridOracle`; every candidate is analyzed before it becomes
  a trial, so an invalid, over-budget or duplicate network never becomes a trial;
* :class:`BlueprintTuner` runs trials: trains with the recipe, contains NaN, out-of-memory and other
  failures (recorded, the search goes on), clears the Keras session between trials.

The space maps onto ``kt.HyperParameters`` with conditional scopes, so KerasTuner sees exactly the
active values of each trial.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import math
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt

from archbuilder.analysis.report import human
from archbuilder.artifacts import ArtifactError, write_atomic, write_json_atomic
from archbuilder.blueprint.model import Blueprint
from archbuilder.search.markers import BoolParameter, ChoiceParameter, FloatParameter, IntParameter, Parameter
from archbuilder.search.screening import Candidate, Screen, measure
from archbuilder.search.settings import SearchSettings
from archbuilder.search.space import SearchSpace
from archbuilder.search.trial import (
    DataCache,
    TrialFailure,
    best_epoch,
    build_candidate,
    fit_candidate,
    steps_per_epoch,
)
from archbuilder.train import accelerator
from archbuilder.train.errors import RunError
from archbuilder.train.recipe import effective_recipe

RUNNING, IDLE, STOPPED = "RUNNING", "IDLE", "STOPPED"
#: How a failed trial's message starts: ``archbuilder-trial:STATUS:SECONDS:BATCH:text``.
FAILURE_PREFIX = "archbuilder-trial"
_FAILURE = re.compile(FAILURE_PREFIX + r":(\w+):([0-9.]+|-):([0-9]+|-):(.*)", re.S)
#: Metrics a trial reports besides the recipe's: its costs and how it ran.
EXTRA_METRICS = ("params", "macs", "activation_memory", "seconds", "batch_size")


# -- the space as KerasTuner hyperparameters -----------------------------------------------------

def declare_hyperparameters(space: SearchSpace, hp: kt.HyperParameters) -> None:
    """Register every parameter of ``space`` on ``hp``, each under the conditional scopes that make it active."""
    for parameter in space.parameters:
        with contextlib.ExitStack() as stack:
            for condition in parameter.conditions:
                stack.enter_context(hp.conditional_scope(condition.parent, list(condition.values)))
            _declare(hp, parameter)


def _declare(hp: kt.HyperParameters, parameter: Parameter) -> None:
    if isinstance(parameter, ChoiceParameter):
        hp.Choice(parameter.name, list(parameter.labels), default=parameter.default_label)
    elif isinstance(parameter, IntParameter):
        hp.Int(parameter.name, parameter.low, parameter.high, step=parameter.step,
               sampling="log" if parameter.log else "linear", default=parameter.default)
    elif isinstance(parameter, FloatParameter):
        hp.Float(parameter.name, parameter.low, parameter.high, step=parameter.step,
                 sampling="log" if parameter.log else "linear", default=parameter.default)
    elif isinstance(parameter, BoolParameter):
        hp.Boolean(parameter.name, default=parameter.default)
    else:  # pragma: no cover - the marker kinds are closed
        raise TypeError(f"unknown parameter kind {type(parameter).__name__}")


def space_values(values: dict[str, Any]) -> dict[str, Any]:
    """KerasTuner's values without its own bookkeeping (``tuner/epochs``, ...)."""
    return {key: value for key, value in values.items() if not key.startswith("tuner/")}


# -- the hypermodel: builds ----------------------------------------------------------------------

class BlueprintHyperModel(kt.HyperModel):
    """Turns a trial's values into the candidate's blueprint (resolved, with the trial recipe) and model."""

    def __init__(self, space: SearchSpace, data: DataCache | None) -> None:
        super().__init__(name=space.name)
        self.space = space
        self.data = data
        self.batch_size: int | None = None

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        declare_hyperparameters(self.space, hp)

    def candidate(self, values: dict[str, Any]) -> Candidate:
        """The analyzed candidate with the recipe every trial uses (search epochs, data, seed)."""
        candidate, _ = measure(self.space, space_values(values))
        return candidate

    def trial_blueprint(self, candidate: Candidate) -> Blueprint:
        settings = self.space.settings
        data = self.data.spec if self.data is not None else settings.data
        data_name = data if isinstance(data, str) or data is None else data.name
        recipe = effective_recipe(candidate.blueprint.training, epochs=settings.epochs, batch_size=settings.batch_size,
                                  seed=settings.seed, data=data_name)
        return candidate.blueprint.model_copy(update={"training": recipe})

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        blueprint = self.trial_blueprint(self.candidate(hp.values))
        assert self.data is not None and blueprint.training is not None
        dataset = self.data.get(blueprint, blueprint.training)
        batch_size = self.batch_size or blueprint.training.batch_size
        return build_candidate(blueprint, steps_per_epoch(dataset, batch_size),
                               jit_compile=accelerator.choose_jit_compile(None))

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, epochs: int = 1, initial_epoch: int = 0,
            batch_size: int | None = None, seed: int = 0, **kwargs: Any) -> dict[str, list[float]]:
        blueprint = self.trial_blueprint(self.candidate(hp.values))
        assert self.data is not None and blueprint.training is not None
        dataset = self.data.get(blueprint, blueprint.training)
        return fit_candidate(model, blueprint, dataset, epochs=epochs, initial_epoch=initial_epoch,
                             batch_size=batch_size or blueprint.training.batch_size, seed=seed)


# -- the oracles: decide -------------------------------------------------------------------------

class ScreeningMixin:
    """Put a :class:`~archbuilder.search.screening.Screen` in front of a KerasTuner oracle.

    Random values are drawn from the space itself (exact conditional activity) until one passes
    the screen; a value proposed by the wrapped algorithm (a Bayesian optimum) that fails it is
    replaced by a screened random draw. Rejected and duplicate candidates create no trial, so they
    neither count as failed trials nor use up ``max_trials``.
    """

    space: SearchSpace
    screen: Screen
    trials: dict[str, Any]
    ongoing_trials: dict[str, Any]
    _seed_state: int

    def _setup_screen(self, space: SearchSpace) -> None:
        self.space = space
        self.screen = Screen(space)
        self._pending: str | None = None
        self._admitted: dict[str, Any] | None = None
        self.exhausted = False

    def _random_values(self) -> dict[str, Any] | None:
        for _ in range(self.space.settings.max_attempts):
            rng = random.Random(f"{self.space.settings.seed}:{self._seed_state}")
            self._seed_state += 1
            values = self.space.sample_values(rng)
            if isinstance(self.screen.admit(values, self._pending), Candidate):
                self._admitted = values
                return values
        self.exhausted = True
        print(f"the space is exhausted: {self.space.settings.max_attempts} candidates in a row were rejected or "
              f"duplicates ({self.screen.report()})", file=sys.stderr)
        return None

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        self._pending, self._admitted = trial_id, None
        response = super().populate_space(trial_id)  # type: ignore[misc]
        values = response.get("values")
        if response.get("status") != RUNNING or not values or "tuner/trial_id" in values or values is self._admitted:
            return response  # stopped, a Hyperband promotion, or a value the screen already passed
        if isinstance(self.screen.admit(space_values(values), trial_id), Candidate):
            return response
        fallback = self._random_values()
        if fallback is None:
            return {"status": IDLE if self.ongoing_trials else STOPPED, "values": None}
        bookkeeping = {key: value for key, value in values.items() if key.startswith("tuner/")}
        return {"status": RUNNING, "values": {**fallback, **bookkeeping}}

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()  # type: ignore[misc]
        state["archbuilder"] = self.screen.get_state()
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)  # type: ignore[misc]
        self.screen.set_state(state.get("archbuilder", {}))

    # KerasTuner writes its state files in place; a kill mid-write would leave a file --resume cannot read.
    def save(self) -> None:
        write_search_json(self._get_oracle_fname(), self.get_state())  # type: ignore[attr-defined]

    def _save_trial(self, trial: Any) -> None:
        trial_dir = self._get_trial_dir(trial.trial_id)  # type: ignore[attr-defined]
        write_search_json(os.path.join(trial_dir, "trial.json"), trial.get_state())

    def reload(self) -> None:
        super().reload()  # type: ignore[misc]
        for trial_id, trial in self.trials.items():
            self.screen.remember(space_values(trial.hyperparameters.values), trial_id)


class RandomOracle(ScreeningMixin, kt.oracles.RandomSearchOracle):
    def __init__(self, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._setup_screen(space)


class BayesianOracle(ScreeningMixin, kt.oracles.BayesianOptimizationOracle):
    def __init__(self, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._setup_screen(space)


class HyperbandOracle(ScreeningMixin, kt.oracles.HyperbandOracle):
    def __init__(self, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._setup_screen(space)


class GridOracle(ScreeningMixin, kt.Oracle):
    """Every combination of active values in order, skipping rejected and duplicate candidates."""

    def __init__(self, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._setup_screen(space)
        self._cursor = 0
        self._iterator: Any = None

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        if self._iterator is None:
            self._iterator = itertools.islice(self.space.grid(), self._cursor, None)
        for values in self._iterator:
            self._cursor += 1
            if isinstance(self.screen.admit(values, trial_id), Candidate):
                return {"status": RUNNING, "values": values}
        return {"status": STOPPED, "values": None}

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "grid_cursor": self._cursor}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._cursor, self._iterator = int(state.get("grid_cursor", 0)), None


def create_oracle(space: SearchSpace) -> kt.Oracle:
    """The oracle ``search.tuner`` names, screening every candidate.

    Raises:
        RunError: ``bayesian`` without scikit-learn (KerasTuner's Gaussian process needs it).
    """
    settings = space.settings
    common: dict[str, Any] = {
        "objective": kt.Objective(settings.score_name, settings.objective_spec.direction),
        "seed": settings.seed + 1,  # KerasTuner draws a random seed for 0
        "max_consecutive_failed_trials": None,  # a failed trial is recorded; the search goes on
    }
    if settings.tuner == "random":
        return RandomOracle(space, max_trials=settings.max_trials, **common)
    if settings.tuner == "grid":
        return GridOracle(space, max_trials=settings.max_trials, **common)
    if settings.tuner == "bayesian":
        if importlib.util.find_spec("sklearn") is None:
            raise RunError("search.tuner 'bayesian' needs scikit-learn (KerasTuner's Gaussian process): "
                           "pip install scikit-learn, or use tuner: random, grid or hyperband.")
        return BayesianOracle(space, max_trials=settings.max_trials, **common)
    oracle = HyperbandOracle(space, max_epochs=settings.epochs, factor=settings.hyperband_factor,
                             hyperband_iterations=1, **common)
    oracle.max_trials = settings.max_trials
    return oracle


# -- the tuner: runs -----------------------------------------------------------------------------

class BlueprintTuner(kt.Tuner):
    """Runs trials: trains each candidate, contains what only training reveals, reports costs and time."""

    def __init__(self, oracle: kt.Oracle, hypermodel: BlueprintHyperModel, *, settings: SearchSettings,
                 progress: bool = True, **kwargs: Any) -> None:
        self.settings = settings
        self.progress = progress
        self.reports: dict[str, dict[str, Any]] = {}
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)

    def save(self) -> None:
        if not self._is_worker():
            self.oracle.save()
        write_search_json(self._get_tuner_fname(), self.get_state())

    def _populate_initial_space(self) -> None:
        # Declare the space; never build models to discover it (KerasTuner builds with default values).
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        started = time.perf_counter()
        values = trial.hyperparameters.values
        hypermodel: BlueprintHyperModel = self.hypermodel
        candidate = hypermodel.candidate(values)
        blueprint = hypermodel.trial_blueprint(candidate)
        assert blueprint.training is not None
        batch_size = blueprint.training.batch_size
        epochs = int(values.get("tuner/epochs", self.settings.epochs))
        initial_epoch = int(values.get("tuner/initial_epoch", 0))
        spec = self.settings.objective_spec
        runs = []
        try:
            for execution in range(self.executions_per_trial):
                history, batch_size = self._execute(trial, batch_size, epochs, initial_epoch, execution)
                runs.append(best_epoch(history, spec.metric, spec.direction))
        except TrialFailure as failure:
            self._fail(trial, failure.status, started, batch_size, failure.message, candidate)
        except Exception as error:  # contained: recorded, and the search goes on
            if isinstance(error, kt.errors.FatalError):
                raise
            if isinstance(error, ArtifactError):  # a full disk stops the search, not only this trial
                raise SearchWriteError(str(error)) from error
            self._fail(trial, "error", started, batch_size, f"{type(error).__name__}: {error}", candidate)
        finally:
            keras.backend.clear_session()  # Keras's graph and layer state of this trial go (gc included)
        metrics = {name: sum(run[name] for run in runs) / len(runs) for name in runs[0] if all(name in r for r in runs)}
        if spec.metric not in metrics:
            self._fail(trial, "error", started, batch_size,
                       f"the objective '{spec.metric}' was not logged (logged: {', '.join(metrics)})", candidate)
        metrics.update({name: float(value) for name, value in candidate.costs.items()})
        metrics["seconds"] = time.perf_counter() - started
        metrics["batch_size"] = float(batch_size)
        if spec.penalize:
            metrics["score"] = penalized_score(metrics[spec.metric], candidate.costs[spec.penalize],
                                               penalty_target(self.settings), spec.weight, spec.direction)
        self.reports[trial.trial_id] = {"status": "completed", "metrics": metrics, "values": candidate.values}
        return metrics

    def _execute(self, trial: Any, batch_size: int, epochs: int, initial_epoch: int,
                 execution: int) -> tuple[dict[str, list[float]], int]:
        """One training; on out-of-memory, halve the batch once, then the trial is infeasible."""
        hp = trial.hyperparameters
        for attempt in (0, 1):
            if attempt or execution:
                keras.backend.clear_session()
            keras.utils.set_random_seed(self.settings.seed + execution)
            self.hypermodel.batch_size = batch_size
            try:
                model = self.hypermodel.build(hp)
                if "tuner/trial_id" in hp.values:  # a Hyperband promotion continues its earlier trial
                    model.load_weights(self._get_checkpoint_fname(hp.values["tuner/trial_id"]))
                history = self.hypermodel.fit(hp, model, epochs=epochs, initial_epoch=initial_epoch,
                                              batch_size=batch_size, seed=self.settings.seed + execution)
                if self.settings.tuner == "hyperband":
                    save_weights(model, self._get_checkpoint_fname(trial.trial_id))
                return history, batch_size
            except (TrialFailure, ArtifactError):
                raise
            except Exception as error:
                if not accelerator.is_out_of_memory(error):
                    raise
                if attempt == 1 or batch_size < 2:
                    raise TrialFailure("oom", f"out of memory at batch size {batch_size} "
                                              f"({type(error).__name__}); marked infeasible") from None
                print(f"trial {trial.trial_id}: out of memory at batch size {batch_size}; retrying once with "
                      f"batch size {batch_size // 2}", file=sys.stderr)
                batch_size //= 2
            finally:
                model = None  # noqa: F841 - release the model before the next attempt
        raise AssertionError("unreachable")  # pragma: no cover

    def _fail(self, trial: Any, status: str, started: float, batch_size: int, message: str, candidate: Candidate) -> None:
        seconds = time.perf_counter() - started
        self.reports[trial.trial_id] = {"status": status, "message": message, "seconds": seconds,
                                        "batch_size": batch_size, "values": candidate.values}
        text = message.replace("\n", " ")
        raise kt.errors.FailedTrialError(f"{FAILURE_PREFIX}:{status}:{seconds:.3f}:{batch_size}:{text}")

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)
        if self.progress:
            print(self._progress_line(trial), flush=True)

    def _progress_line(self, trial: Any) -> str:
        report = self.reports.get(trial.trial_id, {"status": "error", "message": "no report"})
        name = self.settings.score_name
        text = f"[{int(trial.trial_id) + 1}/{self.settings.max_trials}] trial {trial.trial_id} {report['status']}: "
        if report["status"] == "completed":
            metrics = report["metrics"]
            text += (f"{name} {metrics[name]:.4f} ({int(metrics['params']):,} params, {human(int(metrics['macs']))} MACs, "
                     f"{metrics['seconds']:.1f} s)")
        else:
            text += report["message"]
        best = [t for t in self.oracle.get_best_trials(1) if t.status == "COMPLETED" and t.score is not None]
        if best:
            text += f"; best so far: trial {best[0].trial_id}, {name} {best[0].score:.4f}"
        return text


class SearchWriteError(ArtifactError, kt.errors.FatalError):
    """A search file could not be written (a full disk): the search stops with this one-line message.

    A KerasTuner ``FatalError``, because KerasTuner records any other error raised while a trial
    runs or reports as a failed trial, and the search would go on failing.
    """


def write_search_json(path: str, data: Any) -> None:
    """Write KerasTuner's JSON state atomically (a kill leaves the old file or the new one)."""
    try:
        write_json_atomic(path, data, indent=None)
    except ArtifactError as error:
        raise SearchWriteError(f"{error} The search is saved up to its last finished trial: continue it with "
                               "--resume.") from error


def save_weights(model: keras.Model, path: str) -> None:
    """``model.save_weights`` atomically (Keras wants the name to end in ``.weights.h5``; the temporary one does)."""

    def write(temporary: Path) -> None:
        staging = temporary.with_name(temporary.name + ".weights.h5")
        try:
            model.save_weights(staging)
            os.replace(staging, temporary)
        finally:
            staging.unlink(missing_ok=True)

    try:
        write_atomic(path, write)
    except ArtifactError as error:
        raise SearchWriteError(str(error)) from error


def penalty_target(settings: SearchSettings) -> float:
    spec = settings.objective_spec
    if spec.target is not None:
        return spec.target
    budget = getattr(settings.budgets, f"max_{spec.penalize}")
    assert budget is not None, "validated when the space is loaded"
    return float(budget)


def penalized_score(metric: float, cost: float, target: float, weight: float, direction: str) -> float:
    """MnasNet's soft constraint: metric * (cost / target) ** -weight (maximizing), ** +weight (minimizing)."""
    factor = (max(cost, 1.0) / target) ** weight
    return metric / factor if direction == "max" else metric * factor


def parse_failure(message: str | None) -> tuple[str, float | None, int | None, str]:
    """(status, seconds, batch size, text) of a failed trial's message; ``error`` for foreign messages."""
    if message:
        found = _FAILURE.search(message)
        if found:
            status, seconds, batch, text = found.groups()
            return (status, None if seconds == "-" else float(seconds), None if batch == "-" else int(batch),
                    text.strip().splitlines()[0] if text.strip() else "")
        lines = [line for line in message.strip().splitlines() if line.strip()]
        return "error", None, None, lines[-1] if lines else ""
    return "error", None, None, ""


def is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


__all__ = ["BayesianOracle", "BlueprintHyperModel", "BlueprintTuner", "GridOracle", "HyperbandOracle", "RandomOracle",
           "ScreeningMixin", "SearchWriteError", "create_oracle", "declare_hyperparameters", "parse_failure", "penalized_score",
           "penalty_target", "space_values"]

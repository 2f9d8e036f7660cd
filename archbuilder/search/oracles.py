"""The oracles that decide which candidate becomes a trial, and the space as KerasTuner hyperparameters.

KerasTuner's random, Bayesian and Hyperband oracles get a screen in front (:class:`ScreeningMixin`);
:class:`GridOracle` walks every combination and :class:`EvolutionOracle` (in
:mod:`archbuilder.search.evolution`) evolves a population. Each tuner's oracle builder is registered
under its tag (:func:`~archbuilder.search.oracle_registry.builds_oracle`); ``create_oracle`` (in
:mod:`archbuilder.search.oracle_factory`, above both) looks up the one ``search.tuner`` names. Every
candidate is analyzed before it becomes a trial, so an invalid, over-budget or duplicate network
never becomes a trial. The space maps onto ``kt.HyperParameters`` with conditional scopes, so
KerasTuner sees exactly the active values of each trial.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
import random
import sys
import time
from typing import TYPE_CHECKING, Any

import keras_tuner as kt

from archbuilder.artifacts import ArtifactError, write_json_atomic
from archbuilder.search.errors import SearchError
from archbuilder.search.oracle_registry import builds_oracle, oracle_arguments
from archbuilder.search.parameters import BoolParameter, ChoiceParameter, FloatParameter, IntParameter, Parameter
from archbuilder.search.screening import Candidate, Screen, space_values
from archbuilder.search.space import SearchSpace
from archbuilder.search.tuners import TUNER_NAMES, BayesianTuner, GridTuner, HyperbandTuner, RandomTuner, listed

RUNNING, IDLE, STOPPED = "RUNNING", "IDLE", "STOPPED"
#: Hyperband's iterations: enough that ``max_trials`` (or ``max_time``) ends the search, not Hyperband.
HYPERBAND_ITERATIONS = 1_000_000


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
    elif isinstance(parameter, (IntParameter, FloatParameter)):
        declare_range = hp.Int if isinstance(parameter, IntParameter) else hp.Float
        declare_range(
            parameter.name,
            parameter.low,
            parameter.high,
            step=parameter.step,
            sampling="log" if parameter.log else "linear",
            default=parameter.default,
        )
    elif isinstance(parameter, BoolParameter):
        hp.Boolean(parameter.name, default=parameter.default)
    else:  # pragma: no cover - the marker kinds are closed
        raise TypeError(f"unknown parameter kind {type(parameter).__name__}")


# -- the oracles: decide -------------------------------------------------------------------------

if TYPE_CHECKING:  # the mixin always comes before a KerasTuner oracle, which its super() calls reach
    from keras_tuner import Oracle as _OracleBase
else:
    _OracleBase = object


class ScreeningMixin(_OracleBase):
    """Put a :class:`~archbuilder.search.screening.Screen` in front of a KerasTuner oracle.

    Random values are drawn from the space itself (exact conditional activity) until one passes
    the screen; a value proposed by the wrapped algorithm (a Bayesian optimum) that fails it is
    replaced by a screened random draw. Rejected and duplicate candidates create no trial, so they
    neither count as failed trials nor use up ``max_trials``. With a time budget
    (:meth:`set_time_left`), no trial starts once it is spent.
    """

    #: ``time.monotonic()`` after which no trial starts (``search.max_time``); ``None``: no limit.
    deadline: float | None = None
    #: Whether a trial was refused because the time budget was spent.
    out_of_time = False

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
        print(
            f"the space is exhausted: {self.space.settings.max_attempts} candidates in a row were rejected or "
            f"duplicates ({self.screen.report()})",
            file=sys.stderr,
        )
        return None

    def set_time_left(self, seconds: float | None) -> None:
        """Start no trial after ``seconds`` from now (``None``: no limit; 0 or less: none at all)."""
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.out_of_time = False

    def time_is_up(self) -> bool:
        """Whether the time budget is spent (then :attr:`out_of_time` is set and no trial should start)."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.out_of_time = True
        return self.out_of_time

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """The wrapped oracle's proposal if the screen admits it, else a screened random draw (none: idle or stop)."""
        if self.time_is_up():
            return {"status": STOPPED, "values": None}
        self._pending, self._admitted = trial_id, None
        response = super().populate_space(trial_id)
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
        """The oracle's state with the screen's (under ``archbuilder``)."""
        state = super().get_state()
        state["archbuilder"] = self.screen.get_state()
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore the oracle's state and the screen's."""
        super().set_state(state)
        self.screen.set_state(state.get("archbuilder", {}))

    # KerasTuner writes its state files in place; a kill mid-write would leave a file --resume cannot read.
    def save(self) -> None:
        """Write the oracle's state file atomically."""
        write_search_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial: Any) -> None:
        trial_dir = self._get_trial_dir(trial.trial_id)
        write_search_json(os.path.join(trial_dir, "trial.json"), trial.get_state())

    def reload(self) -> None:
        """Reload the oracle's state and let the screen remember every trial's values (no duplicates on resume)."""
        super().reload()
        for trial_id, trial in self.trials.items():
            self.screen.remember(space_values(trial.hyperparameters.values), trial_id)


class RandomOracle(ScreeningMixin, kt.oracles.RandomSearchOracle):
    """KerasTuner's random search, drawing from the space behind a screen (see :class:`ScreeningMixin`)."""

    def __init__(self, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._setup_screen(space)


class BayesianOracle(ScreeningMixin, kt.oracles.BayesianOptimizationOracle):
    """KerasTuner's Bayesian optimization, behind a screen (see :class:`ScreeningMixin`)."""

    def __init__(self, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._setup_screen(space)


class HyperbandOracle(ScreeningMixin, kt.oracles.HyperbandOracle):
    """KerasTuner's Hyperband, behind a screen (see :class:`ScreeningMixin`)."""

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
        """The next combination the screen admits; stops when the grid is walked or the time is up."""
        if self.time_is_up():
            return {"status": STOPPED, "values": None}
        if self._iterator is None:
            self._iterator = itertools.islice(self.space.grid(), self._cursor, None)
        for values in self._iterator:
            self._cursor += 1
            if isinstance(self.screen.admit(values, trial_id), Candidate):
                return {"status": RUNNING, "values": values}
        return {"status": STOPPED, "values": None}

    def get_state(self) -> dict[str, Any]:
        """The oracle's state with the grid's position (``grid_cursor``)."""
        return {**super().get_state(), "grid_cursor": self._cursor}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore the oracle's state and the grid's position."""
        super().set_state(state)
        self._cursor, self._iterator = int(state.get("grid_cursor", 0)), None


# -- the oracle of each tuner ------------------------------------------------------------------------


@builds_oracle(RandomTuner.tag())
def random_oracle(space: SearchSpace, tuner: RandomTuner) -> RandomOracle:
    """KerasTuner's random search behind the screen.

    Args:
        space: the search space.
        tuner: the tuner's settings (random search has none of its own).

    Returns:
        The oracle, stopping after ``search.max_trials`` trials.
    """
    return RandomOracle(space, max_trials=space.settings.max_trials, **oracle_arguments(space))


@builds_oracle(GridTuner.tag())
def grid_oracle(space: SearchSpace, tuner: GridTuner) -> GridOracle:
    """The grid: every combination of active values in order, behind the screen.

    Args:
        space: the search space.
        tuner: the tuner's settings (the grid has none of its own).

    Returns:
        The oracle, stopping after ``search.max_trials`` trials or at the grid's end.
    """
    return GridOracle(space, max_trials=space.settings.max_trials, **oracle_arguments(space))


@builds_oracle(BayesianTuner.tag())
def bayesian_oracle(space: SearchSpace, tuner: BayesianTuner) -> BayesianOracle:
    """KerasTuner's Bayesian optimization behind the screen.

    Args:
        space: the search space.
        tuner: the tuner's settings (none of its own).

    Returns:
        The oracle, stopping after ``search.max_trials`` trials.

    Raises:
        SearchError: scikit-learn is not installed (KerasTuner's Gaussian process needs it).
    """
    if importlib.util.find_spec("sklearn") is None:
        others = listed([name for name in TUNER_NAMES if name != tuner.type]).replace("'", "")
        raise SearchError(
            f"search.tuner '{tuner.type}' needs scikit-learn (KerasTuner's Gaussian process): "
            f"pip install scikit-learn, or use tuner: {others}."
        )
    return BayesianOracle(space, max_trials=space.settings.max_trials, **oracle_arguments(space))


@builds_oracle(HyperbandTuner.tag())
def hyperband_oracle(space: SearchSpace, tuner: HyperbandTuner) -> HyperbandOracle:
    """KerasTuner's Hyperband behind the screen, with as many iterations as ``max_trials`` allows.

    Args:
        space: the search space; ``search.epochs`` is the most epochs of a trial.
        tuner: the tuner's settings (its reduction ``factor``).

    Returns:
        The oracle, stopping after ``search.max_trials`` trials.
    """
    # KerasTuner's default of one iteration ended a search after a few dozen trials, whatever max_trials said.
    oracle = HyperbandOracle(
        space,
        max_epochs=space.settings.epochs,
        factor=tuner.factor,
        hyperband_iterations=HYPERBAND_ITERATIONS,
        **oracle_arguments(space),
    )
    oracle.max_trials = space.settings.max_trials
    return oracle


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
        raise SearchWriteError(
            f"{error} The search is saved up to its last finished trial: continue it with --resume."
        ) from error


__all__ = [
    "HYPERBAND_ITERATIONS",
    "BayesianOracle",
    "GridOracle",
    "HyperbandOracle",
    "RandomOracle",
    "ScreeningMixin",
    "SearchWriteError",
    "bayesian_oracle",
    "declare_hyperparameters",
    "grid_oracle",
    "hyperband_oracle",
    "random_oracle",
    "write_search_json",
]

"""Regularized (aging) evolution as a KerasTuner oracle: ``search: {tuner: {type: evolution, population: 20}}``.

Real et al., 2019, "Regularized Evolution for Image Classifier Architecture Search". The first
``population`` trials are screened random samples. After that each new trial is a child: draw
``sample_size`` members of the population uniformly, take the best of them by the objective as
the parent, and change ONE of the parent's active values (:func:`mutate`); values that the change
activates are sampled, values it deactivates are dropped, as the space's conditions say. A child
passes the same screen as any candidate: an invalid, over-budget or duplicate child costs no trial,
another one is drawn (``max_attempts`` times, then a screened random sample). When a trial
completes with a score it joins the population and the OLDEST member leaves (aging, not the
worst); failed trials (NaN, out of memory) never join.

The population is the last ``population`` scored trials in the order they ended, so it is rebuilt
exactly from KerasTuner's ``end_order`` and trial files on ``--resume``; the draws are seeded by
``search.seed`` and a counter KerasTuner saves, so a search is deterministic and a resumed one
continues as if never stopped.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import keras_tuner as kt

from archbuilder.search.oracle_registry import builds_oracle, oracle_arguments
from archbuilder.search.oracles import IDLE, RUNNING, STOPPED, ScreeningMixin
from archbuilder.search.screening import Candidate, space_values
from archbuilder.search.settings import SearchSettings
from archbuilder.search.space import SearchSpace
from archbuilder.search.tuners import EvolutionTuner

COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class Mutation:
    """A child's active values and the parameter that was changed."""

    values: dict[str, Any]
    parameter: str


def mutate(space: SearchSpace, values: dict[str, Any], rng: random.Random) -> Mutation | None:
    """``values`` with one active parameter given another value of its domain (``None``: nothing can change).

    The parameter is drawn uniformly among the active ones that have another value; parameters that
    the change makes active are sampled, ones it makes inactive are dropped.
    """
    names = [parameter.name for parameter in space.parameters if parameter.name in values]
    rng.shuffle(names)
    for name in names:
        value = space.by_name[name].other_value(values[name], rng)
        if value is not None:
            return Mutation(space.sample_values(rng, given={**values, name: value}), name)
    return None


def population_sizes(settings: SearchSettings) -> tuple[int, int]:
    """The population (at most half of ``max_trials``, so that half the trials at least are children)
    and the sample size (at most the population).

    Args:
        settings: the search's settings; its tuner's ``population`` and ``sample_size`` (evolution's
            defaults when the tuner is another one).

    Returns:
        ``(population, sample_size)``.
    """
    tuner = settings.tuner if isinstance(settings.tuner, EvolutionTuner) else EvolutionTuner()
    population = min(tuner.population, max(1, settings.max_trials // 2))
    return population, min(tuner.sample_size, population)


class EvolutionOracle(ScreeningMixin, kt.Oracle):
    """Regularized evolution over the active values of a space, every candidate screened.

    ``lineage`` maps each child's trial id to its parent's and the mutated parameter.

    Args:
        space: the search space; its settings give ``max_attempts`` and ``seed``, its tuner's
            settings ``population`` and ``sample_size``.
        **kwargs: ``kt.Oracle`` arguments (``objective``, ``max_trials``, ``seed``, ...), as
            :func:`archbuilder.search.oracle_factory.create_oracle` passes them.
    """

    def __init__(self, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._setup_screen(space)
        self.population_size, self.sample_size = population_sizes(space.settings)
        self.lineage: dict[str, dict[str, str]] = {}

    @property
    def population(self) -> list[str]:
        """Trial ids of the population, oldest first: the last ``population_size`` trials that ended with a score."""
        members = [trial_id for trial_id in self.end_order if _scored(self.trials[trial_id])]
        return members[-self.population_size :]

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """Proposes a screened child of the population once it is full, else a screened random sample;
        ``IDLE`` (or ``STOPPED`` with no trial running) when neither passes the screen, ``STOPPED``
        when the time is up."""
        if self.time_is_up():
            return {"status": STOPPED, "values": None}
        self._pending, self._admitted = trial_id, None
        population = self.population
        values = self._child(trial_id, population) if len(population) >= self.population_size else None
        if values is None:
            values = self._random_values()
        if values is None:
            return {"status": IDLE if self.ongoing_trials else STOPPED, "values": None}
        return {"status": RUNNING, "values": values}

    def _child(self, trial_id: str, population: list[str]) -> dict[str, Any] | None:
        """A screened child of a tournament's winner, or ``None`` after ``max_attempts`` rejected children."""
        settings = self.space.settings
        for _ in range(settings.max_attempts):
            rng = random.Random(f"{settings.seed}:evolution:{self._seed_state}")
            self._seed_state += 1
            parent = self._best(rng.sample(population, self.sample_size))
            mutation = mutate(self.space, space_values(self.trials[parent].hyperparameters.values), rng)
            if mutation is not None and isinstance(self.screen.admit(mutation.values, trial_id), Candidate):
                self.lineage[trial_id] = {"parent": parent, "mutated": mutation.parameter}
                return mutation.values
        return None

    def _best(self, contenders: list[str]) -> str:
        best = contenders[0]
        for trial_id in contenders[1:]:
            if self.objective.better_than(self.trials[trial_id].score, self.trials[best].score):
                best = trial_id
        return best

    def get_state(self) -> dict[str, Any]:
        """Adds the population and sample sizes, the population and the lineage under ``"evolution"``."""
        state = super().get_state()
        # `population` is for readers of oracle.json; set_state rebuilds it from end_order.
        state["evolution"] = {
            "population_size": self.population_size,
            "sample_size": self.sample_size,
            "population": self.population,
            "lineage": self.lineage,
        }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores the sizes the search started with and the lineage; the population follows from ``end_order``."""
        super().set_state(state)
        # The sizes the search started with stay, even when --resume raises max_trials.
        saved = state.get("evolution", {})
        self.population_size = int(saved.get("population_size", self.population_size))
        self.sample_size = int(saved.get("sample_size", self.sample_size))
        self.lineage = {str(child): dict(origin) for child, origin in saved.get("lineage", {}).items()}


@builds_oracle(EvolutionTuner.tag())
def evolution_oracle(space: SearchSpace, tuner: EvolutionTuner) -> EvolutionOracle:
    """Regularized evolution behind the screen.

    Args:
        space: the search space.
        tuner: the tuner's settings (``population`` and ``sample_size``, read from the space's settings).

    Returns:
        The oracle, stopping after ``search.max_trials`` trials.
    """
    return EvolutionOracle(space, max_trials=space.settings.max_trials, **oracle_arguments(space))


def _scored(trial: Any) -> bool:
    return trial.status == COMPLETED and isinstance(trial.score, (int, float)) and math.isfinite(trial.score)


__all__ = ["EvolutionOracle", "Mutation", "evolution_oracle", "mutate", "population_sizes"]

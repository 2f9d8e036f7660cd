"""The oracle a search uses: ``search.tuner`` names it, every candidate is screened.

This module sits above the oracles: :mod:`archbuilder.search.oracles` holds the screen and the
random, grid, Bayesian and Hyperband oracles; :mod:`archbuilder.search.evolution` builds its
oracle on that screen; choosing between them here keeps the imports one way (no cycle).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import keras_tuner as kt

from archbuilder.search.evolution import EvolutionOracle
from archbuilder.search.oracles import BayesianOracle, GridOracle, HyperbandOracle, RandomOracle
from archbuilder.search.space import SearchSpace
from archbuilder.training.errors import RunError

#: Hyperband's iterations: enough that ``max_trials`` (or ``max_time``) ends the search, not Hyperband.
HYPERBAND_ITERATIONS = 1_000_000


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
    if settings.tuner == "evolution":
        return EvolutionOracle(space, max_trials=settings.max_trials, **common)
    if settings.tuner == "bayesian":
        if importlib.util.find_spec("sklearn") is None:
            raise RunError(
                "search.tuner 'bayesian' needs scikit-learn (KerasTuner's Gaussian process): "
                "pip install scikit-learn, or use tuner: random, grid, hyperband or evolution."
            )
        return BayesianOracle(space, max_trials=settings.max_trials, **common)
    # As many Hyperband iterations as max_trials allows (KerasTuner's default of one iteration ended a
    # search after a few dozen trials, whatever max_trials said).
    oracle = HyperbandOracle(
        space,
        max_epochs=settings.epochs,
        factor=settings.hyperband_factor,
        hyperband_iterations=HYPERBAND_ITERATIONS,
        **common,
    )
    oracle.max_trials = settings.max_trials
    return oracle


__all__ = ["create_oracle"]

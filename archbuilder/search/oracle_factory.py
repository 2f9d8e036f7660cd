"""The oracle a search uses: ``search.tuner`` names it, every candidate is screened.

This module sits above the oracles: each oracle module (:mod:`archbuilder.search.oracles` for the
random, grid, Bayesian and Hyperband oracles, :mod:`archbuilder.search.evolution` for evolution)
registers its tuner's oracle builder in :data:`~archbuilder.search.oracle_registry.ORACLE_BUILDERS`;
importing them here fills the registry, and :func:`create_oracle` looks the tuner up in it.
"""

from __future__ import annotations

import keras_tuner as kt

from archbuilder.search import evolution, oracles
from archbuilder.search.oracle_registry import ORACLE_BUILDERS
from archbuilder.search.space import SearchSpace

#: The modules that register an oracle builder (imported for that).
ORACLE_MODULES = (oracles, evolution)


def create_oracle(space: SearchSpace) -> kt.Oracle:
    """The oracle ``search.tuner`` names, screening every candidate.

    Args:
        space: the search space; its ``search.tuner`` settings choose and configure the oracle.

    Returns:
        The KerasTuner oracle, built by the builder registered for the tuner's ``type``.

    Raises:
        SearchError: the tuner cannot run here (``bayesian`` without scikit-learn).
    """
    tuner = space.settings.tuner
    return ORACLE_BUILDERS[tuner.type](space, tuner)


__all__ = ["ORACLE_MODULES", "create_oracle"]

"""The oracle of each tuner, keyed by the tuner's ``type`` tag (the tags of :mod:`archbuilder.search.tuners`).

Each oracle module registers the function that builds its oracle with :func:`builds_oracle`;
:func:`archbuilder.search.oracle_factory.create_oracle` imports those modules and looks the space's
tuner up in :data:`ORACLE_BUILDERS`. A test checks that its keys are the tuners' tags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import keras_tuner as kt

from archbuilder.search.space import SearchSpace

#: ``(space, tuner settings) -> oracle``: builds the oracle of one tuner, screening every candidate.
OracleBuilder = Callable[[SearchSpace, Any], kt.Oracle]
ORACLE_BUILDERS: dict[str, OracleBuilder] = {}

_Builder = TypeVar("_Builder", bound=OracleBuilder)


def builds_oracle(tag: str) -> Callable[[_Builder], _Builder]:
    """Register the decorated function as the oracle builder of the tuner ``tag``.

    The function is called as ``builder(space, tuner)`` with the search space and its tuner's
    settings (an instance of the tuner's class in :mod:`archbuilder.search.tuners`), and returns the
    KerasTuner oracle; :data:`ORACLE_BUILDERS` maps the tag to it.

    Args:
        tag: the tuner's ``type`` tag (``"evolution"``).

    Returns:
        A decorator that registers a builder and returns it unchanged.
    """

    def register(function: _Builder) -> _Builder:
        ORACLE_BUILDERS[tag] = function
        return function

    return register


def oracle_arguments(space: SearchSpace) -> dict[str, Any]:
    """The ``kt.Oracle`` arguments every tuner's oracle takes from the space's settings.

    Args:
        space: the search space.

    Returns:
        ``objective`` (the score and its direction), ``seed`` and ``max_consecutive_failed_trials``
        (none: a failed trial is recorded and the search goes on).
    """
    settings = space.settings
    return {
        "objective": kt.Objective(settings.score_name, settings.objective_spec.direction),
        "seed": settings.seed + 1,  # KerasTuner draws a random seed for 0
        "max_consecutive_failed_trials": None,
    }


__all__ = ["ORACLE_BUILDERS", "OracleBuilder", "builds_oracle", "oracle_arguments"]

"""Scoring a penalized objective: MnasNet's soft constraint, the metric scaled by one cost against its target.

The tuner scores each trial with it and the winner its retrained models. Nothing here imports Keras.
"""

from __future__ import annotations

from archbuilder.search.settings import SearchSettings


def penalty_target(settings: SearchSettings) -> float:
    """The cost at which a penalized objective's penalty is neutral: its ``target``, else the cost's budget.

    Only meaningful for an objective with ``penalize`` (loading the space checks that the budget is set).
    """
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


__all__ = ["penalized_score", "penalty_target"]

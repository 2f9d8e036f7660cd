"""A search's pictures: ``pareto.png``/``.svg`` (the metric against the cost) and ``trials.png`` (the
objective per trial, the best so far).

They draw the data they are handed (:class:`ParetoData`, :class:`TrialsData`); the search's results are
turned into it by :mod:`archbuilder.search.outputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from archbuilder.plots.figures import FRONT_COLOR, TRAIN_COLOR, TRIAL_COLOR, integer_epochs, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ParetoData:
    """What ``pareto.png`` shows.

    ``space``: the search space's name; ``metric`` and ``cost``: the names on the axes; ``trials``: every
    completed trial as ``(cost, metric value, trial id)``; ``front``: the Pareto front's trials, in the
    same form and in order along the front.
    """

    space: str
    metric: str
    cost: str
    trials: Sequence[tuple[float, float, str]]
    front: Sequence[tuple[float, float, str]]


@dataclass(frozen=True)
class TrialsData:
    """What ``trials.png`` shows.

    ``space``: the search space's name; ``objective``: the name ranked by; ``maximize``: higher is better;
    ``scored``: ``(trial number, objective)`` of each scored trial, by number (as in trials.csv);
    ``failed``: the numbers of the trials that failed (diverged, out of memory, error).
    """

    space: str
    objective: str
    maximize: bool
    scored: Sequence[tuple[int, float]]
    failed: Sequence[int]


def pareto_figure(data: ParetoData) -> Figure:
    """Every completed trial (grey) and the Pareto front (red): the objective's metric against the cost (log scale).

    Args:
        data: The trials and the front (:class:`ParetoData`).

    Returns:
        The figure, one panel.
    """
    metric, cost, every, front = data.metric, data.cost, data.trials, data.front
    figure = new_figure(6.4, 4.4)
    axes = figure.subplots()
    axes.set_title(f"{data.space}: {metric} vs {cost}")
    axes.set_xlabel(f"{cost} (log scale)")
    axes.set_ylabel(metric)
    if every:
        axes.scatter(
            [x for x, _, _ in every],
            [y for _, y, _ in every],
            s=22,
            color=TRIAL_COLOR,
            label="trials",
            gid="trials",
            zorder=2,
        )
        axes.plot(
            [x for x, _, _ in front],
            [y for _, y, _ in front],
            "o-",
            color=FRONT_COLOR,
            label="Pareto front (#trial)",
            gid="front",
            zorder=3,
        )
        for x, y, trial in front:
            axes.annotate(f"#{trial}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7, color=FRONT_COLOR)
        axes.set_xscale("log")
        figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    else:
        axes.text(0.5, 0.5, "no completed trial", transform=axes.transAxes, ha="center", va="center")
    axes.grid(alpha=0.3)
    return figure


def trials_figure(data: TrialsData) -> Figure:
    """The objective of each trial by trial number (as in trials.csv), the best so far as a step line, and
    the trials that failed (diverged, out of memory, error) as crosses along the bottom.

    Args:
        data: The scored and the failed trials (:class:`TrialsData`).

    Returns:
        The figure, one panel.
    """
    objective, maximize, scored, failed = data.objective, data.maximize, list(data.scored), list(data.failed)
    figure = new_figure(6.4, 4.2)
    axes = figure.subplots()
    axes.set_title(f"{data.space}: {objective} per trial ({'higher' if maximize else 'lower'} is better)")
    axes.set_xlabel("trial")
    axes.set_ylabel(objective)
    if scored:
        axes.plot([n for n, _ in scored], [v for _, v in scored], "o", color=TRAIN_COLOR, label="trial", gid="trials")
        best: list[float] = []
        for _, value in scored:
            best.append(value if not best else (max if maximize else min)(best[-1], value))
        axes.step([n for n, _ in scored], best, where="post", color=FRONT_COLOR, label="best so far", gid="best")
    if failed:
        axes.plot(
            failed,
            [0.03] * len(failed),
            "x",
            color="#555555",
            markersize=8,
            transform=axes.get_xaxis_transform(),
            label=f"failed ({len(failed)}: nan, out of memory or error)",
            gid="failed",
        )
    if not scored and not failed:
        axes.text(0.5, 0.5, "no trial", transform=axes.transAxes, ha="center", va="center")
    else:
        figure.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    integer_epochs(axes)
    axes.grid(alpha=0.3)
    return figure


__all__ = ["ParetoData", "TrialsData", "pareto_figure", "trials_figure"]

"""A search's pictures: ``pareto.png``/``.svg`` (the metric against the cost) and ``trials.png`` (the
objective per trial, the best so far)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archbuilder.plots.figures import FRONT_COLOR, TRAIN_COLOR, TRIAL_COLOR, integer_epochs, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from archbuilder.search.results import SearchResult  # search.outputs draws with this module


def pareto_figure(result: SearchResult) -> Figure:
    """Every completed trial (grey) and the Pareto front (red): the objective's metric against the cost (log scale)."""
    metric, cost = result.settings.objective_spec.metric, result.settings.pareto
    every = [
        (float(t.costs[cost]), float(t.metric(metric) or 0.0), t.trial_id)
        for t in result.trials
        if t.completed and t.metric(metric) is not None and cost in t.costs
    ]
    front = [(float(t.costs[cost]), float(t.metric(metric) or 0.0), t.trial_id) for t in result.pareto]
    figure = new_figure(6.4, 4.4)
    axes = figure.subplots()
    axes.set_title(f"{result.space_name}: {metric} vs {cost}")
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


def trials_figure(result: SearchResult) -> Figure:
    """The objective of each trial by trial number (as in trials.csv), the best so far as a step line, and
    the trials that failed (diverged, out of memory, error) as crosses along the bottom."""
    objective, maximize = result.objective, result.direction == "max"
    trials = [(int(t.trial_id) if t.trial_id.isdigit() else index, t) for index, t in enumerate(result.trials)]
    trials.sort(key=lambda pair: pair[0])
    scored = [
        (n, float(t.metric(objective) or 0.0)) for n, t in trials if t.completed and t.metric(objective) is not None
    ]
    failed = [n for n, t in trials if not t.completed and t.status != "running"]
    figure = new_figure(6.4, 4.2)
    axes = figure.subplots()
    axes.set_title(f"{result.space_name}: {objective} per trial ({'higher' if maximize else 'lower'} is better)")
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


__all__ = ["pareto_figure", "trials_figure"]

"""The files a search writes from its results: ``trials.csv``, ``best.yaml``, ``top/``, ``pareto/``,
``pareto.png`` and ``.svg``, ``trials.png`` and ``summary.json`` (the pictures are drawn by
:mod:`archbuilder.plots`). Nothing here imports Keras.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path
from typing import Any

from archbuilder import plots
from archbuilder.artifacts import write_json_atomic, write_text_atomic
from archbuilder.search.results import COST_COLUMNS, SearchResult, TrialRecord


def write_outputs(result: SearchResult, folder: Path) -> list[Path]:
    """Write trials.csv, best.yaml, top/, pareto/, pareto.png and .svg, trials.png, summary.json."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_trials_csv(result, folder / "trials.csv")]
    best = result.best
    for name in ("top", "pareto"):
        shutil.rmtree(folder / name, ignore_errors=True)
    if best is not None:
        written.append(_write_blueprint(result, best, folder / "best.yaml", "Best"))
    for rank, trial in enumerate(result.top, start=1):
        written.append(
            _write_blueprint(result, trial, folder / "top" / f"{rank:02d}_trial_{trial.trial_id}.yaml", f"Top {rank}")
        )
    front = result.pareto
    for rank, trial in enumerate(front, start=1):
        written.append(
            _write_blueprint(
                result,
                trial,
                folder / "pareto" / f"{rank:02d}_trial_{trial.trial_id}.yaml",
                f"Pareto front point {rank} of {len(front)}",
            )
        )
    written += write_pareto_plots(result, folder)
    written.append(write_trials_plot(result, folder / "trials.png"))
    written.append(write_json_atomic(folder / "summary.json", summary_data(result)))
    return written


def write_progress(result: SearchResult, folder: Path) -> list[Path]:
    """trials.csv and summary.json of a running search (after each trial), so ``search show`` can read them."""
    return [
        write_trials_csv(result, folder / "trials.csv"),
        write_json_atomic(folder / "summary.json", {**summary_data(result), "running": True}),
    ]


def summary_data(result: SearchResult) -> dict[str, Any]:
    """The content of ``summary.json``: counts, rejections, the best trial, the tested model and the front.

    Args:
        result: The search result (finished or running).

    Returns:
        A JSON-ready mapping: ``space``, ``objective``, ``settings``, ``trials`` (counts by status),
        ``rejected`` and ``rejection_examples`` (by reason), ``duplicates``, ``best`` (the winner; None when
        no trial ranks), ``model`` and ``test`` (None without a kept model), ``final`` (the final retrainings),
        ``elapsed`` (seconds, all sessions), ``stopped`` (``"max_time"`` when the time budget ended the
        search, else None) and ``pareto`` (the front).
    """
    best = result.best
    return {
        "space": result.space_name,
        "objective": {
            "name": result.objective,
            "metric": result.settings.objective_spec.metric,
            "direction": result.direction,
        },
        "settings": result.settings.model_dump(mode="json"),
        "trials": result.counts,
        "rejected": result.rejected,
        "rejection_examples": result.rejection_examples,
        "duplicates": result.duplicates,
        "best": None
        if best is None
        else {
            "trial": best.trial_id,
            "values": best.values,
            "metrics": best.metrics,
            **best.costs,
            "epochs": best.epochs,
        },
        "model": None if result.model is None else result.model.name,
        "test": None
        if result.model is None
        else {"metrics": result.test, "images": result.test_images, "model": result.model.name},
        "final": result.final,
        "elapsed": None if result.elapsed is None else round(result.elapsed, 1),
        "stopped": result.stopped,
        "pareto": [
            {
                "trial": t.trial_id,
                result.settings.objective_spec.metric: t.metric(result.settings.objective_spec.metric),
                result.settings.pareto: t.costs[result.settings.pareto],
            }
            for t in result.pareto
        ],
    }


def trial_columns(result: SearchResult) -> list[str]:
    metrics: list[str] = []
    for trial in result.trials:
        for name in trial.metrics:
            if name not in metrics:
                metrics.append(name)
    first = [m for m in (result.objective, result.settings.objective_spec.metric) if m in metrics]
    metrics = list(dict.fromkeys(first + sorted(metrics)))
    return (
        ["trial", "status"]
        + result.parameters
        + metrics
        + list(COST_COLUMNS)
        + ["epochs", "seconds", "batch_size", "message"]
    )


def write_trials_csv(result: SearchResult, path: Path) -> Path:
    """One row per trial: the values that shaped its network (inactive ones and those without effect left empty),
    status, metrics, costs, time."""
    columns = trial_columns(result)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for trial in result.trials:
        row: dict[str, Any] = {
            "trial": trial.trial_id,
            "status": trial.status,
            "message": trial.message,
            "seconds": "" if trial.seconds is None else f"{trial.seconds:.2f}",
            "batch_size": trial.batch_size or "",
            "epochs": "" if trial.epochs is None else trial.epochs,
        }
        row.update({name: _cell(value) for name, value in trial.values.items() if name in columns})
        row.update({name: _cell(value) for name, value in trial.metrics.items()})
        row.update(trial.costs)
        writer.writerow(row)
    return write_text_atomic(path, buffer.getvalue())


def read_trials_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a ``trials.csv`` as written by :func:`write_trials_csv`, each a mapping of column to text."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _write_blueprint(result: SearchResult, trial: TrialRecord, path: Path, title: str) -> Path:
    assert trial.blueprint is not None
    metrics = ", ".join(
        f"{name} {value:.4f}"
        for name, value in trial.metrics.items()
        if name not in COST_COLUMNS and name not in ("seconds", "batch_size") and math.isfinite(value)
    )
    values = ", ".join(f"{name}={value}" for name, value in trial.values.items())
    recipe = trial.blueprint.training
    retrain = f"archbuilder train {path.name}" + (
        f" --data {recipe.data}" if recipe is not None and recipe.data else ""
    )
    header = [
        f"# {title} of search '{result.space_name}' (archbuilder search): trial {trial.trial_id} of "
        f"{len(result.trials)}.",
        f"# Scores: {metrics}",
        f"# Costs: {trial.costs.get('params', 0):,} params, {trial.costs.get('macs', 0):,} MACs, "
        f"{trial.costs.get('activation_memory', 0):,} bytes of activations per example.",
        f"# Values: {values}",
        "# The blueprint is resolved and carries the recipe the trial trained with; rebuild or retrain it with",
        f"#   archbuilder build {path.name} -o model.keras   |   {retrain}",
    ]
    return write_text_atomic(path, "\n".join(_wrap_comment(line) for line in header) + "\n" + trial.blueprint.to_yaml())


def _wrap_comment(line: str, width: int = 118) -> str:
    if len(line) <= width:
        return line
    words, lines, current = line[2:].split(" "), [], "#"
    for word in words:
        if len(current) + len(word) + 1 > width:
            lines.append(current)
            current = "#  "
        current += " " + word
    return "\n".join(lines + [current])


# -- the pictures ------------------------------------------------------------------------------


def pareto_data(result: SearchResult) -> plots.ParetoData:
    """What ``pareto.png`` draws (:func:`archbuilder.plots.pareto_figure`): the objective's metric against the cost.

    Args:
        result: The search result.

    Returns:
        Every completed trial with the metric and the cost, and the Pareto front, as ``(cost, metric, trial id)``.
    """
    metric, cost = result.settings.objective_spec.metric, result.settings.pareto
    every = [
        (float(t.costs[cost]), float(t.metric(metric) or 0.0), t.trial_id)
        for t in result.trials
        if t.completed and t.metric(metric) is not None and cost in t.costs
    ]
    front = [(float(t.costs[cost]), float(t.metric(metric) or 0.0), t.trial_id) for t in result.pareto]
    return plots.ParetoData(result.space_name, metric, cost, every, front)


def trials_data(result: SearchResult) -> plots.TrialsData:
    """What ``trials.png`` draws (:func:`archbuilder.plots.trials_figure`): the objective per trial.

    Args:
        result: The search result.

    Returns:
        The scored trials (number, objective) and the failed ones, numbered by trial id as in trials.csv.
    """
    objective = result.objective
    trials = [(int(t.trial_id) if t.trial_id.isdigit() else index, t) for index, t in enumerate(result.trials)]
    trials.sort(key=lambda pair: pair[0])
    scored = [
        (n, float(t.metric(objective) or 0.0)) for n, t in trials if t.completed and t.metric(objective) is not None
    ]
    failed = [n for n, t in trials if not t.completed and t.status != "running"]
    return plots.TrialsData(result.space_name, objective, result.direction == "max", scored, failed)


def write_pareto_plots(result: SearchResult, folder: Path) -> list[Path]:
    """``pareto.png`` and ``pareto.svg``: the same figure (:func:`archbuilder.plots.pareto_figure`) in two formats."""
    figure = plots.pareto_figure(pareto_data(result))
    return [plots.save_figure(figure, folder / "pareto.png"), plots.save_figure(figure, folder / "pareto.svg")]


def write_trials_plot(result: SearchResult, path: Path) -> Path:
    """``trials.png``: the objective per trial and the best so far (:func:`archbuilder.plots.trials_figure`)."""
    return plots.save_figure(plots.trials_figure(trials_data(result)), path)


__all__ = [
    "pareto_data",
    "read_trials_csv",
    "summary_data",
    "trials_data",
    "write_outputs",
    "write_pareto_plots",
    "write_progress",
    "write_trials_csv",
    "write_trials_plot",
]

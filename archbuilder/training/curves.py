"""A run's ``curves.png``, drawn from its folder's ``history.csv`` and ``blueprint.yaml`` alone, so a
resumed run draws the same picture as an uninterrupted one.

The run folder is read here; the picture is :func:`archbuilder.plots.curves_figure`, which draws only
the data it is handed. Nothing here imports Keras.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from archbuilder.blueprint.errors import BlueprintError
from archbuilder.blueprint.io import load_blueprint
from archbuilder.plots.curves import curves_figure, run_phases
from archbuilder.plots.figures import save_figure
from archbuilder.training.history_file import read_history
from archbuilder.training.run_folder import BLUEPRINT, CURVES, HISTORY

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def run_curves_figure(folder: str | os.PathLike[str]) -> Figure | None:
    """The curves of the run in ``folder`` (from ``history.csv``, phases from ``blueprint.yaml``).

    Args:
        folder: The run folder.

    Returns:
        The figure (:func:`archbuilder.plots.curves_figure`); ``None`` before the run's first epoch.
    """
    folder = Path(folder)
    history = read_history(folder / HISTORY)
    if not history.get("epoch"):
        return None
    name, recipe = folder.name, None
    try:
        blueprint = load_blueprint(folder / BLUEPRINT)
        name, recipe = blueprint.name, blueprint.training
    except (BlueprintError, OSError):
        pass  # no phases to mark: the curves alone
    data = f" on {recipe.data}" if recipe is not None and recipe.data else ""
    return curves_figure(history, phases=run_phases(recipe), title=f"{name}{data}: {len(history['epoch'])} epochs")


def write_curves(folder: str | os.PathLike[str]) -> Path | None:
    """Write ``curves.png`` in the run folder (see :func:`run_curves_figure`).

    Args:
        folder: The run folder.

    Returns:
        The path written; ``None`` when there is no epoch yet (nothing is written).
    """
    figure = run_curves_figure(folder)
    return None if figure is None else save_figure(figure, Path(folder) / CURVES)


__all__ = ["run_curves_figure", "write_curves"]

"""A training run's ``curves.png``: loss and metrics per epoch, training and validation, phases marked.

Drawn from the data handed in: the history as columns and the phases. The run folder is read by
:mod:`archbuilder.training.curves` (``history.csv`` and ``blueprint.yaml`` alone, so a resumed run draws
the same picture as an uninterrupted one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archbuilder.plots.figures import FRONT_COLOR, TRAIN_COLOR, VALIDATION_COLOR, integer_epochs, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Phase:
    """A phase of a phased recipe: its epochs as history.csv numbers them, from 1 (``first`` to ``end - 1``)."""

    first: int
    end: int
    label: str


def curve_panels(history: dict[str, list[float]]) -> list[str]:
    """The metrics that get a panel: the loss, the other losses, the other metrics, the learning rate last.

    Each panel holds the metric and its ``val_`` twin; a metric with no finite value is left out.
    """

    def drawn(key: str) -> bool:
        return any(math.isfinite(v) for v in history.get(key, ())) or any(
            math.isfinite(v) for v in history.get(f"val_{key}", ())
        )

    keys = [key for key in history if key != "epoch" and not key.startswith("val_") and drawn(key)]
    keys += [key[4:] for key in history if key.startswith("val_") and key[4:] not in history and drawn(key[4:])]
    order = {"loss": 0}
    return sorted(keys, key=lambda k: (order.get(k, 3 if k == "learning_rate" else 1 if k.endswith("loss") else 2), k))


def curves_figure(
    history: dict[str, list[float]], *, phases: Sequence[Phase] = (), title: str = "training curves"
) -> Figure:
    """One panel per metric (:func:`curve_panels`): training (solid) and validation (dashed) per epoch.

    ``history`` is ``history.csv`` as columns (``{'epoch': [1, 2, ...], 'loss': [...], ...}``); the
    epochs are numbered as there (from 1, as everywhere in a run). ``phases`` are marked in the panels
    and listed under the title; the best epoch (lowest validation loss, else training loss) is starred
    on the loss panel.
    """
    epochs = [int(e) for e in history.get("epoch", [])]
    panels = curve_panels(history)
    columns = 2 if len(panels) == 4 else min(3, max(1, len(panels)))
    rows = max(1, math.ceil(len(panels) / columns))
    described = phases_text(phases)
    figure = new_figure(4.2 * columns, 3.0 * rows + 0.4 + 0.2 * (described.count("\n") + 1 if described else 0))
    figure.suptitle(title + (f"\n{described}" if described else ""), fontsize=11 if not described else 9.5)
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= len(panels):
            axes.set_visible(False)
            continue
        key = panels[index]
        for name, label, color, style in (
            (key, "train", TRAIN_COLOR, "-"),
            (f"val_{key}", "validation", VALIDATION_COLOR, "--"),
        ):
            values = history.get(name)
            if values is None or not any(math.isfinite(v) for v in values):
                continue
            if key == "learning_rate" and name == key:
                label = "learning rate"
            axes.plot(epochs, values, style, marker="o", markersize=3.5, color=color, label=label, gid=f"curve:{name}")
        axes.set_title(key.replace("_", " "))
        axes.set_xlabel("epoch")
        axes.set_ylabel(key)
        axes.grid(alpha=0.3)
        integer_epochs(axes)
        if epochs:
            axes.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        _mark_phases(axes, phases, epochs)
        if key == "loss":
            _mark_best(axes, history, epochs)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8)
    return figure


def _mark_phases(axes: Axes, phases: Sequence[Phase], epochs: list[int]) -> None:
    """A dotted line where each phase starts, every second phase shaded."""
    if len(phases) < 2 or not epochs:
        return
    last = max(epochs)
    for number, phase in enumerate(phases):
        if phase.first > last:
            break
        if number % 2:
            axes.axvspan(
                phase.first - 0.5,
                min(phase.end, last + 1) - 0.5,
                color="#000000",
                alpha=0.06,
                linewidth=0,
                gid=f"phase:{number + 1}",
            )
        if phase.first > min(epochs):
            axes.axvline(
                phase.first - 0.5, color="#555555", linestyle=":", linewidth=1, gid=f"phase_start:{number + 1}"
            )


def phases_text(phases: Sequence[Phase], width: int = 120) -> str:
    """``phases (dotted lines, every second shaded): 1) epochs 1-2: lr 0.001, frozen stem; 2) ...``, wrapped."""
    if len(phases) < 2:
        return ""
    import textwrap

    parts = [
        f"{number}) epochs {phase.first}-{phase.end - 1}: {phase.label}" for number, phase in enumerate(phases, start=1)
    ]
    return "\n".join(textwrap.wrap("phases (dotted lines, every second shaded): " + "; ".join(parts), width))


def _mark_best(axes: Axes, history: dict[str, list[float]], epochs: list[int]) -> None:
    monitor = "val_loss" if any(math.isfinite(v) for v in history.get("val_loss", ())) else "loss"
    values = history.get(monitor, [])
    finite = [(value, epoch) for epoch, value in zip(epochs, values) if math.isfinite(value)]
    if not finite:
        return
    value, epoch = min(finite, key=lambda pair: pair[0])  # the first of equal values, as the checkpoint keeps it
    axes.plot(
        [epoch],
        [value],
        marker="*",
        markersize=13,
        color=FRONT_COLOR,
        linestyle="none",
        label=f"best {monitor}",
        gid="best",
    )


def run_phases(recipe: Any) -> list[Phase]:
    """The phases of a recipe (:class:`~archbuilder.blueprint.training.TrainingRecipe`).

    As :func:`curves_figure` marks them.
    """
    if recipe is None or not recipe.phases:
        return []
    phases, first = [], 1  # epochs counted from 1, as in history.csv
    for phase in recipe.phases:
        rate = phase.learning_rate if phase.learning_rate is not None else recipe.optimizer.learning_rate
        frozen = list(recipe.freeze if phase.freeze is None else phase.freeze)
        text = f"lr {rate:g}" + (f", frozen {', '.join(frozen)}" if frozen else "")
        phases.append(Phase(first, first + phase.epochs, text if len(text) <= 60 else text[:59] + "…"))
        first += phase.epochs
    return phases


__all__ = ["Phase", "curve_panels", "curves_figure", "phases_text", "run_phases"]

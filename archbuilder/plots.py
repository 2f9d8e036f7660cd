"""Every picture archbuilder draws, with matplotlib's Agg renderer (no display, no pyplot state).

- :func:`curves_figure` / :func:`write_curves`: a run's ``curves.png`` (loss and metrics per epoch,
  training and validation, phases marked), drawn from ``history.csv`` and ``blueprint.yaml`` alone, so
  a resumed run draws the same picture as an uninterrupted one;
- :func:`pareto_figure` and :func:`trials_figure`: a search's ``pareto.png``/``.svg`` and ``trials.png``;
- :func:`confusion_figure`: ``archbuilder evaluate``'s ``confusion.png``;
- :func:`architecture_figure`: ``archbuilder plot``'s drawing of a network from its analysis (no Keras,
  no Graphviz).

Each ``*_figure`` function returns the :class:`matplotlib.figure.Figure`; the boxes and arrows of an
architecture carry ``gid`` ``layer:NAME`` and ``edge:SOURCE->TARGET``. :func:`save_figure` writes a
figure atomically (:mod:`archbuilder.artifacts`), its format from the file's suffix. matplotlib is
imported inside the functions: importing this module costs nothing, and the commands that draw
nothing (``summary``, ``validate``) never load it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archbuilder.analysis.analyzer import Analysis
from archbuilder.analysis.report import human, layer_rows, shape_text
from archbuilder.artifacts import write_atomic
from archbuilder.blueprint.errors import BlueprintError
from archbuilder.blueprint.fields import ACTIVATIONS
from archbuilder.blueprint.io import load_blueprint
from archbuilder.training.history_file import read_history
from archbuilder.training.run_folder import BLUEPRINT, CURVES, HISTORY

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from archbuilder.search.results import SearchResult  # search.outputs draws with this module

#: The suffixes :func:`save_figure` writes, and their formats.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
TRAIN_COLOR, VALIDATION_COLOR, FRONT_COLOR, TRIAL_COLOR = "#1f77b4", "#ff7f0e", "#d62728", "#8c8c8c"


# -- figures and files -----------------------------------------------------------------------------


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches on an Agg canvas (no pyplot, so nothing is kept alive)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: str | os.PathLike[str], *, dpi: float = 100) -> Path:
    """Write ``figure`` to ``path`` atomically as PNG, SVG or PDF (from the suffix).

    The same figure gives the same bytes.

    Raises:
        ValueError: the suffix is not one of :data:`FORMATS`.
        ArtifactError: the file cannot be written (a full disk, no permission).
    """
    import matplotlib

    target = Path(path)
    kind = FORMATS.get(target.suffix.lower())
    if kind is None:
        raise ValueError(f"{target}: cannot draw a {target.suffix or 'suffix-less'} file; use {', '.join(FORMATS)}")
    metadata: dict[str, dict[str, Any]] = {
        "png": {"Software": "archbuilder"},
        "svg": {"Date": None, "Creator": "archbuilder"},
        "pdf": {"CreationDate": None, "Creator": "archbuilder"},
    }
    # Text stays text in an SVG (small, searchable); the salt makes its ids the same on every run.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "archbuilder"}):
        return write_atomic(
            target, lambda temporary: figure.savefig(temporary, format=kind, dpi=dpi, metadata=metadata[kind])
        )


def _integer_epochs(axes: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


# -- training curves ---------------------------------------------------------------------------------


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

    ``history`` is ``history.csv`` as columns (:func:`archbuilder.training.history_file.read_history`); the
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
        _integer_epochs(axes)
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


def run_curves_figure(folder: str | os.PathLike[str]) -> Figure | None:
    """The curves of the run in ``folder`` (from ``history.csv``, phases from ``blueprint.yaml``).

    ``None`` before its first epoch.
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
    """Write ``curves.png`` in the run folder (see :func:`run_curves_figure`); ``None`` when there is no epoch yet."""
    figure = run_curves_figure(folder)
    return None if figure is None else save_figure(figure, Path(folder) / CURVES)


# -- search --------------------------------------------------------------------------------------------


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
    _integer_epochs(axes)
    axes.grid(alpha=0.3)
    return figure


# -- evaluate --------------------------------------------------------------------------------------------


def confusion_figure(matrix: Any, classes: Sequence[str], *, title: str = "confusion matrix") -> Figure:
    """Counts (``matrix``, nested lists or an array) of true class (rows) against predicted class (columns),
    shaded by the share of each true class.

    Counts are written in the cells up to 30 classes, class names on the axes up to 60.
    """
    import numpy as np

    counts = np.asarray(matrix, dtype=np.int64).reshape(len(classes), len(classes))
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    size = min(12.0, max(4.8, 0.42 * len(classes) + 2.4))
    figure = new_figure(size + 1.0, size)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest", gid="confusion")
    figure.colorbar(image, ax=axes, shrink=0.8, label="share of the true class")
    axes.set_title(title)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if len(classes) <= 60:
        ticks = range(len(classes))
        axes.set_xticks(
            ticks,
            [str(c) for c in classes],
            rotation=90 if max(map(len, map(str, classes)), default=0) > 3 else 0,
            fontsize=8,
        )
        axes.set_yticks(ticks, [str(c) for c in classes], fontsize=8)
    if len(classes) <= 30:
        for (row, column), count in np.ndenumerate(counts):
            if count:
                axes.text(
                    column,
                    row,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shares[row, column] > 0.5 else "black",
                )
    return figure


# -- architecture ----------------------------------------------------------------------------------------

#: Box colours by layer kind.
_COLORS = {
    "input": "#d9d9d9",
    **dict.fromkeys(("conv", "separable_conv", "depthwise_conv"), "#cfe2f3"),
    **dict.fromkeys(("max_pool", "avg_pool", "global_avg_pool", "global_max_pool"), "#d9ead3"),
    "dense": "#fce5cd",
    **dict.fromkeys(
        ("batch_norm", "layer_norm", "lrn", "normalization", "rescaling", "imagenet_preprocessing"), "#eeeeee"
    ),
    **dict.fromkeys(ACTIVATIONS, "#fff2cc"),
    **dict.fromkeys(("add", "multiply", "concatenate"), "#e4d2f0"),
    "keras_application": "#f4cccc",
}
_BOX_WIDTH, _BOX_HEIGHT, _SLOT, _ROW, _LANE, _GAP = 2.5, 0.46, 2.8, 0.62, 0.09, 0.5  # inches
_MAX_PIXELS = 10000  # the longer side of a drawing, at most (very deep networks get a lower resolution)


@dataclass(frozen=True)
class Layout:
    """Where :func:`architecture_figure` puts each layer.

    ``rank``: the longest path from the input (a layer sits below all its inputs); ``slot``: its place
    across (a branch keeps the slot of its first input, side by side with the others); ``column`` and
    ``row``: the ranks wrapped into columns of about the same height.
    """

    rank: dict[str, int]
    slot: dict[str, int]
    column: dict[str, int]
    row: dict[str, int]
    columns: int
    rows: int


def architecture_layout(
    names: Sequence[str], inputs: Mapping[str, Sequence[str]], rows_per_column: int | None = None
) -> Layout:
    """Layers by rank top to bottom, branches side by side, wrapped into columns.

    A long network is cut where as few edges as possible cross from one column to the next
    (between two blocks rather than inside one).
    """
    rank: dict[str, int] = {}
    for name in names:  # build order is a topological order
        rank[name] = 1 + max((rank[source] for source in inputs[name]), default=-1)
    slot: dict[str, int] = {}
    used: dict[int, set[int]] = {}
    for name in names:
        taken = used.setdefault(rank[name], set())
        want = slot[inputs[name][0]] if inputs[name] else 0
        place = next(
            candidate
            for step in range(2 * len(names) + 2)
            for candidate in (want + (step + 1) // 2 * (1 if step % 2 else -1),)
            if candidate >= 0 and candidate not in taken
        )
        taken.add(place)
        slot[name] = place
    ranks = max(rank.values(), default=-1) + 1
    if rows_per_column is None:  # about as wide as high, each column at least 24 layers long
        across = (max(slot.values(), default=0) + 1) * _SLOT + _GAP
        rows_per_column = ranks if ranks <= 30 else max(24, math.ceil(math.sqrt(ranks * across / _ROW)))
    crossing = [0] * (ranks + 1)  # edges crossing the cut above rank i
    for name in names:
        for source in inputs[name]:
            for cut in range(rank[source] + 1, rank[name] + 1):
                crossing[cut] += 1
    cuts, start = [], 0
    while ranks - start > rows_per_column:
        window = range(start + max(1, rows_per_column * 2 // 3), start + rows_per_column + 1)
        cut = min(window, key=lambda c: (crossing[c], -c))
        cuts.append(cut)
        start = cut
    bounds = [0, *cuts, ranks]
    column = {name: sum(rank[name] >= cut for cut in cuts) for name in names}
    row = {name: rank[name] - bounds[column[name]] for name in names}
    return Layout(rank, slot, column, row, len(bounds) - 1, max((b - a for a, b in zip(bounds, bounds[1:])), default=0))


def architecture_figure(analysis: Analysis) -> Figure:
    """The network as Keras will build it: a box per layer (kind and size, output shape, blueprint path)
    and an arrow from each of its inputs.

    Branches stand side by side and join at their merge; an arrow that would cross other boxes runs
    along a rail right of them (skip connections); outputs have a bold frame, auxiliary heads are
    marked; a long network is drawn in several columns, with dashed arrows from one to the next.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as Polyline

    layers = analysis.layers
    labels = [row[0] for row in layer_rows(analysis)]
    inputs = {layer.name: layer.inputs for layer in layers}
    layout = architecture_layout([layer.name for layer in layers], inputs)
    edges = [(source, layer.name) for layer in layers for source in layer.inputs]
    outputs = list(analysis.outputs)
    slots = [
        1 + max((layout.slot[n] for n in layout.slot if layout.column[n] == c), default=0)
        for c in range(layout.columns)
    ]
    occupied = {(layout.column[n], layout.row[n], layout.slot[n]) for n in layout.slot}

    def clear(source: str, target: str) -> bool:
        """Whether the straight arrow from ``source`` down to ``target`` (same column) misses every other box."""
        (s_row, s_slot), (t_row, t_slot) = (
            (layout.row[source], layout.slot[source]),
            (layout.row[target], layout.slot[target]),
        )
        x0, y0 = s_slot * _SLOT + _BOX_WIDTH / 2, s_row * _ROW + _BOX_HEIGHT
        x1, y1 = t_slot * _SLOT + _BOX_WIDTH / 2, t_row * _ROW
        for row in range(s_row + 1, t_row):
            xs = [x0 + (x1 - x0) * (y - y0) / (y1 - y0) for y in (row * _ROW, row * _ROW + _BOX_HEIGHT)]
            for slot in range(slots[layout.column[source]]):
                if (
                    (layout.column[source], row, slot) in occupied
                    and min(xs) < slot * _SLOT + _BOX_WIDTH + 0.05
                    and max(xs) > slot * _SLOT - 0.05
                ):
                    return False
        return True

    # Which arrows run along a rail, and in which lane: a rail runs in the gap right of the rightmost of its two
    # layers' slots (the last one right of the column), rails in one gap whose rows overlap get lanes of their own.
    routes: dict[tuple[str, str], str | tuple[int, int]] = {}
    lanes: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for source, target in edges:
        if layout.column[source] != layout.column[target]:
            routes[source, target] = "across"
        elif layout.rank[target] - layout.rank[source] == 1 or clear(source, target):
            routes[source, target] = "straight"
        else:
            gap = max(layout.slot[source], layout.slot[target])
            first, last = layout.row[source], layout.row[target]
            taken = lanes.setdefault((layout.column[source], gap), [])
            lane = 0
            while any(at == lane and first < b and a < last for a, b, at in taken):
                lane += 1
            taken.append((first, last, lane))
            routes[source, target] = (gap, lane)
    gaps = [
        0.2 + _LANE * max((1 + at for (c, _), taken in lanes.items() if c == column for _, _, at in taken), default=1)
        for column in range(layout.columns)
    ]
    widths = [count * (_BOX_WIDTH + gap) + _GAP for count, gap in zip(slots, gaps)]
    left = [0.3 + sum(widths[:column]) for column in range(layout.columns)]
    top = 1.0
    width = max(6.0, 0.3 + sum(widths))
    height = top + layout.rows * _ROW + 0.3
    figure = new_figure(width, height)
    figure.set_layout_engine("none")
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)  # rows go down
    axes.axis("off")
    blueprint = analysis.blueprint
    axes.text(0.3, 0.35, blueprint.name, fontsize=12, fontweight="bold", va="center", gid="title")
    axes.text(
        0.3,
        0.68,
        f"input {shape_text(blueprint.input.shape)} -> output {shape_text(analysis.output_shape)}; "
        f"{len(layers) - 1} layers, {analysis.params:,} params, {human(analysis.macs)} MACs",
        fontsize=9,
        va="center",
    )

    def corner(name: str) -> tuple[float, float]:
        column = layout.column[name]
        return left[column] + layout.slot[name] * (_BOX_WIDTH + gaps[column]), top + layout.row[name] * _ROW

    for layer, label in zip(layers, labels):
        x, y = corner(layer.name)
        head = layer.name in outputs
        axes.add_patch(
            FancyBboxPatch(
                (x, y),
                _BOX_WIDTH,
                _BOX_HEIGHT,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor=_COLORS.get(layer.type, "#ffffff"),
                edgecolor="#333333",
                linewidth=2.0 if head else 0.7,
                gid=f"layer:{layer.name}",
                zorder=2,
            )
        )
        axes.text(x + 0.08, y + 0.16, label, fontsize=7.5, fontweight="bold", va="center", ha="left", zorder=3)
        axes.text(
            x + _BOX_WIDTH - 0.08,
            y + 0.16,
            shape_text(layer.output_shape),
            fontsize=7.5,
            va="center",
            ha="right",
            zorder=3,
        )
        path = layer.path or layer.name
        axes.text(
            x + 0.08,
            y + 0.34,
            path if len(path) <= 34 else "…" + path[-33:],
            fontsize=6,
            color="#666666",
            va="center",
            ha="left",
            zorder=3,
        )
        if head:
            axes.text(
                x + _BOX_WIDTH - 0.08,
                y + 0.34,
                "output" if layer.name == outputs[0] else "aux head",
                fontsize=6.5,
                color=FRONT_COLOR,
                va="center",
                ha="right",
                fontweight="bold",
                zorder=3,
            )

    for source, target in edges:
        (sx, sy), (tx, ty) = corner(source), corner(target)
        route = routes[source, target]
        style: dict[str, Any] = dict(
            arrowstyle="-|>",
            mutation_scale=8,
            color="#444444",
            linewidth=0.8,
            shrinkA=0,
            shrinkB=0,
            gid=f"edge:{source}->{target}",
            zorder=1,
        )
        if route == "straight":
            arrow = FancyArrowPatch((sx + _BOX_WIDTH / 2, sy + _BOX_HEIGHT), (tx + _BOX_WIDTH / 2, ty), **style)
        elif route == "across":
            arrow = FancyArrowPatch(
                (sx + _BOX_WIDTH, sy + _BOX_HEIGHT / 2),
                (tx, ty + _BOX_HEIGHT / 2),
                connectionstyle="arc3,rad=-0.05",
                **{**style, "color": "#999999", "linestyle": "--"},
            )
        else:  # along a rail in the gap right of the boxes
            assert isinstance(route, tuple)
            column, (gap, lane) = layout.column[source], route
            rail = left[column] + gap * (_BOX_WIDTH + gaps[column]) + _BOX_WIDTH + 0.12 + _LANE * lane
            start, end = (sx + _BOX_WIDTH, sy + _BOX_HEIGHT * 0.35), (tx + _BOX_WIDTH, ty + _BOX_HEIGHT * 0.65)
            arrow = FancyArrowPatch(
                path=Polyline([start, (rail, start[1]), (rail, end[1]), end]), **{**style, "color": "#7a5aa6"}
            )
        axes.add_patch(arrow)
    return figure


def architecture_dpi(figure: Figure, dpi: float = 100) -> float:
    """``dpi``, lowered so that the longer side of ``figure`` stays within :data:`_MAX_PIXELS`."""
    return min(dpi, _MAX_PIXELS / max(figure.get_size_inches()))


__all__ = [
    "FORMATS",
    "Layout",
    "Phase",
    "architecture_dpi",
    "architecture_figure",
    "architecture_layout",
    "confusion_figure",
    "curve_panels",
    "curves_figure",
    "new_figure",
    "pareto_figure",
    "phases_text",
    "run_curves_figure",
    "run_phases",
    "save_figure",
    "trials_figure",
    "write_curves",
]

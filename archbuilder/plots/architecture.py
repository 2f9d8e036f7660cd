"""``archbuilder plot``'s drawing of a network, from its analysis (no Keras, no Graphviz).

The boxes and arrows carry ``gid`` ``layer:NAME`` and ``edge:SOURCE->TARGET``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archbuilder.analysis.analyzer import Analysis
from archbuilder.analysis.report import human, layer_rows, shape_text
from archbuilder.blueprint.fields import ACTIVATIONS
from archbuilder.plots.figures import FRONT_COLOR, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


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


__all__ = ["Layout", "architecture_dpi", "architecture_figure", "architecture_layout"]

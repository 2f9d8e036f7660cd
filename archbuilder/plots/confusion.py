"""``archbuilder evaluate``'s ``confusion.png``: true class against predicted class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archbuilder.plots.figures import new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

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


__all__ = ["confusion_figure"]

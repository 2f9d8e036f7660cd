"""The canvas every picture is drawn on, and the file it is written to.

:func:`new_figure` makes a figure on matplotlib's Agg canvas (no display, no pyplot state);
:func:`save_figure` writes one atomically (:mod:`archbuilder.artifacts`), its format from the file's
suffix (:data:`FORMATS`). The colours shared by the pictures are here too. matplotlib is imported
inside the functions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archbuilder.artifacts import write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The suffixes :func:`save_figure` writes, and their formats.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
TRAIN_COLOR, VALIDATION_COLOR, FRONT_COLOR, TRIAL_COLOR = "#1f77b4", "#ff7f0e", "#d62728", "#8c8c8c"


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


def integer_epochs(axes: Axes) -> None:
    """Ticks on whole numbers only along the x axis of ``axes`` (epochs, trials)."""
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


__all__ = [
    "FORMATS",
    "FRONT_COLOR",
    "TRAIN_COLOR",
    "TRIAL_COLOR",
    "VALIDATION_COLOR",
    "integer_epochs",
    "new_figure",
    "save_figure",
]

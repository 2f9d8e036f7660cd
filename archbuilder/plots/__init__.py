"""Every picture archbuilder draws, with matplotlib's Agg renderer (no display, no pyplot state).

- :func:`curves_figure` (:mod:`~archbuilder.plots.curves`): a run's ``curves.png`` (loss and metrics per
  epoch, training and validation, phases marked), from the history as columns; the run folder is read
  by :mod:`archbuilder.training.curves`;
- :func:`pareto_figure` and :func:`trials_figure` (:mod:`~archbuilder.plots.search`): a search's
  ``pareto.png``/``.svg`` and ``trials.png``, from :class:`ParetoData` and :class:`TrialsData` (made from
  a search's results by :mod:`archbuilder.search.outputs`);
- :func:`confusion_figure` (:mod:`~archbuilder.plots.confusion`): ``archbuilder evaluate``'s ``confusion.png``;
- :func:`architecture_figure` (:mod:`~archbuilder.plots.architecture`): ``archbuilder plot``'s drawing of
  a network from its analysis (no Keras, no Graphviz).

The pictures draw only the data they are handed: nothing here imports :mod:`archbuilder.training` or
:mod:`archbuilder.search`, nor reads a run or search folder. Each ``*_figure`` function returns the
:class:`matplotlib.figure.Figure`; the boxes and arrows of an architecture carry ``gid`` ``layer:NAME``
and ``edge:SOURCE->TARGET``. :func:`save_figure` (:mod:`~archbuilder.plots.figures`, with
:func:`new_figure`) writes a figure atomically (:mod:`archbuilder.artifacts`), its format from the
file's suffix. matplotlib is imported inside the functions: importing this package costs nothing, and
the commands that draw nothing (``summary``, ``validate``) never load it.
"""

from __future__ import annotations

from archbuilder.plots.architecture import Layout, architecture_dpi, architecture_figure, architecture_layout
from archbuilder.plots.confusion import confusion_figure
from archbuilder.plots.curves import Phase, curve_panels, curves_figure, phases_text, run_phases
from archbuilder.plots.figures import FORMATS, new_figure, save_figure
from archbuilder.plots.search import ParetoData, TrialsData, pareto_figure, trials_figure

__all__ = [
    "FORMATS",
    "Layout",
    "ParetoData",
    "Phase",
    "TrialsData",
    "architecture_dpi",
    "architecture_figure",
    "architecture_layout",
    "confusion_figure",
    "curve_panels",
    "curves_figure",
    "new_figure",
    "pareto_figure",
    "phases_text",
    "run_phases",
    "save_figure",
    "trials_figure",
]

"""The pictures: each one is a valid file, and its figure holds what it should (titles, labels, points)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

from archbuilder import plots, zoo
from archbuilder.analysis import analyze
from archbuilder.search.outputs import pareto_data, trials_data, write_pareto_plots, write_trials_plot
from tests.plots.conftest import HISTORY, read_png, search_result


def gids(axes) -> dict[str, object]:
    return {artist.get_gid(): artist for artist in axes.get_children() if artist.get_gid()}


# -- training curves ---------------------------------------------------------------------------------


def test_curves_have_a_panel_per_metric_with_train_and_validation_per_epoch() -> None:
    phases = [plots.Phase(0, 2, "lr 0.01, frozen stem"), plots.Phase(2, 5, "lr 0.001")]
    figure = plots.curves_figure(HISTORY, phases=phases, title="tiny on digits: 5 epochs")
    panels = [axes for axes in figure.axes if axes.get_visible()]
    assert [axes.get_title() for axes in panels] == ["loss", "accuracy", "learning rate"]
    for axes, key in zip(panels, ("loss", "accuracy", "learning_rate")):
        assert axes.get_xlabel() == "epoch" and axes.get_ylabel() == key
        drawn = gids(axes)
        assert list(drawn[f"curve:{key}"].get_xdata()) == [0, 1, 2, 3, 4]  # numbered as history.csv numbers them
        assert list(drawn[f"curve:{key}"].get_ydata()) == HISTORY[key]
        if key != "learning_rate":
            assert list(drawn[f"curve:val_{key}"].get_ydata()) == HISTORY[f"val_{key}"]
        assert drawn["phase_start:2"].get_xdata()[0] == 1.5 and "phase:2" in drawn  # phase 2 starts at epoch 2
    best = gids(panels[0])["best"]
    assert list(best.get_xdata()) == [3] and list(best.get_ydata()) == [0.82]  # the lowest val_loss
    title = figure.get_suptitle()
    assert title.startswith("tiny on digits: 5 epochs\n")
    assert "1) epochs 0-1: lr 0.01, frozen stem; 2) epochs 2-4: lr 0.001" in title


def test_curves_of_one_epoch_without_validation() -> None:
    history = {"epoch": [0.0], "loss": [2.0], "accuracy": [0.3], "val_loss": [math.nan], "val_accuracy": [math.nan]}
    figure = plots.curves_figure(history)
    panels = [axes for axes in figure.axes if axes.get_visible()]
    assert [axes.get_title() for axes in panels] == ["loss", "accuracy"]
    loss = gids(panels[0])
    assert "curve:val_loss" not in loss and list(loss["curve:loss"].get_xdata()) == [0]
    assert loss["curve:loss"].get_marker() == "o"  # a single epoch is a visible point
    assert list(loss["best"].get_xdata()) == [0]


# -- search --------------------------------------------------------------------------------------------


def test_pareto_figure_shows_the_trials_and_the_front(result) -> None:
    figure = plots.pareto_figure(pareto_data(result))
    (axes,) = figure.axes
    assert axes.get_title() == "made_up: val_accuracy vs macs"
    assert (
        axes.get_xlabel() == "macs (log scale)" and axes.get_ylabel() == "val_accuracy" and axes.get_xscale() == "log"
    )
    drawn = gids(axes)
    assert len(drawn["trials"].get_offsets()) == 6  # the completed trials
    assert list(drawn["front"].get_xdata()) == [float(t.costs["macs"]) for t in result.pareto]
    assert [t.trial_id for t in result.pareto] == ["0", "1", "4", "7"]


def test_trials_figure_shows_each_trial_and_the_best_so_far(result) -> None:
    figure = plots.trials_figure(trials_data(result))
    (axes,) = figure.axes
    assert axes.get_title() == "made_up: val_accuracy per trial (higher is better)"
    assert axes.get_xlabel() == "trial" and axes.get_ylabel() == "val_accuracy"
    drawn = gids(axes)
    assert list(drawn["trials"].get_xdata()) == [0, 1, 3, 4, 6, 7]  # trial ids, as in trials.csv
    assert list(drawn["best"].get_ydata()) == [0.52, 0.71, 0.71, 0.83, 0.83, 0.90]
    assert list(drawn["failed"].get_xdata()) == [2, 5]
    lower = search_result("min")
    best = gids(plots.trials_figure(trials_data(lower)).axes[0])["best"]
    assert list(best.get_ydata()) == pytest.approx([0.48, 0.29, 0.29, 0.17, 0.17, 0.10])


def test_search_pictures_are_written_as_png_and_svg(result, tmp_path: Path) -> None:
    png, svg = write_pareto_plots(result, tmp_path)
    trials = write_trials_plot(result, tmp_path / "trials.png")
    assert (png.name, svg.name, trials.name) == ("pareto.png", "pareto.svg", "trials.png")
    assert read_png(png) == (640, 440) and read_png(trials) == (640, 420)
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "made_up: val_accuracy vs macs" in "".join(root.itertext())  # text stays text
    again = tmp_path / "again"
    write_pareto_plots(result, again)
    assert (again / "pareto.svg").read_bytes() == svg.read_bytes() and (
        again / "pareto.png"
    ).read_bytes() == png.read_bytes()


# -- evaluate ----------------------------------------------------------------------------------------------


def test_confusion_figure_shades_by_share_and_writes_the_counts(tmp_path: Path) -> None:
    matrix = [[5, 1, 0], [0, 3, 3], [0, 0, 0]]
    figure = plots.confusion_figure(matrix, ["cat", "dog", "emu"], title="m.keras on pets")
    axes = figure.axes[0]
    assert axes.get_title() == "m.keras on pets"
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("predicted class", "true class")
    assert [label.get_text() for label in axes.get_xticklabels()] == ["cat", "dog", "emu"]
    shares = gids(axes)["confusion"].get_array()
    np.testing.assert_allclose(shares, [[5 / 6, 1 / 6, 0], [0, 0.5, 0.5], [0, 0, 0]])
    assert sorted(text.get_text() for text in axes.texts) == ["1", "3", "3", "5"]  # the non-zero counts
    path = plots.save_figure(figure, tmp_path / "confusion.png")
    assert read_png(path)[0] > 400


def test_save_figure_refuses_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="use .png, .svg, .pdf"):
        plots.save_figure(plots.new_figure(2, 2), tmp_path / "x.jpg")


# -- architecture ------------------------------------------------------------------------------------------


def drawing(name: str):
    analysis = analyze(zoo.blueprint_path(name))
    figure = plots.architecture_figure(analysis)
    drawn = gids(figure.axes[0])
    boxes = {gid.removeprefix("layer:") for gid in drawn if gid.startswith("layer:")}
    edges = {gid.removeprefix("edge:") for gid in drawn if gid.startswith("edge:")}
    return analysis, figure, boxes, edges


def test_architecture_has_a_box_per_layer_and_an_arrow_per_input() -> None:
    analysis, figure, boxes, edges = drawing("lenet5")
    assert boxes == {layer.name for layer in analysis.layers}
    assert edges == {f"{source}->{layer.name}" for layer in analysis.layers for source in layer.inputs}
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts[0] == "lenet5" and "61,706 params" in texts[1]
    assert {"CONV5-6", "[28x28x6]", "FC-10", "[10]", "output"} <= set(texts)
    layout = plots.architecture_layout(
        [layer.name for layer in analysis.layers], {layer.name: layer.inputs for layer in analysis.layers}
    )
    assert layout.columns == 1 and set(layout.slot.values()) == {0}  # a chain: one column, one slot


def test_architecture_draws_merges_and_aux_heads() -> None:
    analysis, figure, boxes, edges = drawing("googlenet")
    assert len(boxes) == len(analysis.layers)
    assert len(edges) == sum(len(layer.inputs) for layer in analysis.layers)
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts.count("aux head") == 2 and texts.count("output") == 1
    layout = plots.architecture_layout(
        [layer.name for layer in analysis.layers], {layer.name: layer.inputs for layer in analysis.layers}
    )
    for layer in analysis.layers:  # every layer below its inputs; an inception block's branches side by side
        assert all(layout.rank[source] < layout.rank[layer.name] for source in layer.inputs)
    assert max(layout.slot.values()) >= 3


def test_a_deep_network_is_drawn_in_columns_cut_between_blocks() -> None:
    analysis = analyze(zoo.blueprint_path("resnet50"))
    names = [layer.name for layer in analysis.layers]
    layout = plots.architecture_layout(names, {layer.name: layer.inputs for layer in analysis.layers})
    assert layout.columns > 1 and layout.rows < len(names)
    crossing = [
        (source, layer.name)
        for layer in analysis.layers
        for source in layer.inputs
        if layout.column[source] != layout.column[layer.name]
    ]
    assert len(crossing) == layout.columns - 1  # one arrow from each column to the next: cut between blocks
    figure = plots.architecture_figure(analysis)
    assert max(figure.get_size_inches()) * plots.architecture_dpi(figure) <= 10000

"""A run's curves.png: drawn from the run folder's history.csv and blueprint.yaml alone."""

from __future__ import annotations

from pathlib import Path

from matplotlib.image import imread

from archbuilder.training.curves import run_curves_figure, write_curves
from archbuilder.training.history_file import HistoryLog
from tests.plots.conftest import HISTORY, read_png

PHASED = """\
name: phased
input: {shape: [8, 8, 1]}
stem: [{type: conv, filters: 4, kernel_size: 3}]
head: {pool: global_avg, classes: 10}
training:
  data: digits
  optimizer: {learning_rate: 0.01}
  phases: [{epochs: 2, freeze: [stem]}, {epochs: 1, learning_rate: 0.001}]
"""


def write_run(folder: Path, epochs: int, *, torn: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(PHASED)
    log = HistoryLog()
    for epoch in range(epochs):
        log.add(epoch + 1, {key: values[epoch] for key, values in HISTORY.items() if key != "epoch"})  # from 1
    log.write(folder / "history.csv")
    if torn:  # a kill in the middle of a row (an older writer): the row is not drawn
        with (folder / "history.csv").open("a") as handle:
            handle.write("9,0.1,0.2")


def test_run_curves_come_from_history_csv_and_blueprint_yaml_alone(tmp_path: Path) -> None:
    assert write_curves(tmp_path) is None  # no epoch yet: nothing to draw
    write_run(tmp_path / "a", 3)
    write_run(tmp_path / "b", 3, torn=True)
    first, second = write_curves(tmp_path / "a"), write_curves(tmp_path / "b")
    assert first == tmp_path / "a" / "curves.png"
    assert read_png(first) == read_png(second)
    assert first.read_bytes() == second.read_bytes()  # the same history draws the same picture, byte for byte
    assert imread(first).ndim == 3
    figure = run_curves_figure(tmp_path / "a")
    assert figure.get_suptitle().splitlines()[0] == "phased on digits: 3 epochs"
    assert "1) epochs 1-2: lr 0.01, frozen stem; 2) epochs 3-3: lr 0.001" in figure.get_suptitle()
    assert [int(x) for x in figure.axes[0].get_lines()[0].get_xdata()] == [1, 2, 3]  # epochs counted from 1
    assert not [p for p in (tmp_path / "a").iterdir() if ".partial" in p.name]

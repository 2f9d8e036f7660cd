"""Synthetic inputs for the pictures: a search result, a run's history."""

from __future__ import annotations

import math

import pytest
from PIL import Image

from archbuilder.search.results import SearchResult, TrialRecord
from archbuilder.search.settings import SearchSettings


def search_result(direction: str = "max") -> SearchResult:
    """Eight trials of a made-up search: six completed, one diverged, one out of memory."""
    objective = "val_accuracy" if direction == "max" else {"minimize": "val_loss"}
    settings = SearchSettings(objective=objective, max_trials=8)
    metric = "val_accuracy" if direction == "max" else "val_loss"
    scores = [0.52, 0.71, None, 0.64, 0.83, None, 0.79, 0.90]
    macs = [2e5, 8e5, 1e6, 9e5, 4e6, 5e7, 6e6, 2e7]  # trials 3 and 6 are dominated
    trials = []
    for number, (score, cost) in enumerate(zip(scores, macs)):
        status = "completed" if score is not None else ("nan" if number == 2 else "oom")
        value = score if direction == "max" or score is None else 1.0 - score
        metrics = {metric: value if value is not None else math.nan}
        trials.append(
            TrialRecord(
                str(number),
                status,
                {"width": 8 * (number + 1)},
                metrics,
                {"params": int(cost / 10), "macs": int(cost), "activation_memory": 1000},
            )
        )
    return SearchResult("made_up", settings, trials, {"geometry": 3}, {}, 0, ["width"])


@pytest.fixture
def result() -> SearchResult:
    return search_result()


def read_png(path) -> tuple[int, int]:
    """The size of a PNG file, read back whole (a truncated or invalid file raises)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


#: A run's history as history.csv holds it (shared by the curves tests).
HISTORY = {
    "epoch": [0.0, 1.0, 2.0, 3.0, 4.0],
    "accuracy": [0.5, 0.6, 0.7, 0.75, 0.8],
    "learning_rate": [0.01, 0.01, 0.001, 0.001, 0.001],
    "loss": [1.5, 1.2, 0.9, 0.8, 0.7],
    "val_accuracy": [0.55, 0.62, 0.72, 0.71, 0.74],
    "val_loss": [1.4, 1.1, 0.85, 0.82, 0.88],
}

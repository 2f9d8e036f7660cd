"""The shipped search spaces find good networks in a short search, on their own data.

A short search is what a user runs first (a few trials of a few epochs); the spaces were once
near chance in it: BatchNorm's moving statistics (momentum 0.99) were not trained in ~60 steps, and
every inception candidate was rejected because its stage had `strides: 1`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import archbuilder
from archbuilder.blueprint import BlueprintError
from archbuilder.search.loading import SPACES_DIR, list_spaces

#: Per shipped space: (max_trials, epochs) of its short search and the val_accuracy its best trial
#: must beat (10 classes: chance is 0.1). Measured best val_accuracy on 2 CPU cores, seeds 0-4:
#: blocks (3 x 3) 0.99 0.93 0.97 0.97 0.99; pattern (3 x 2) 0.93 0.92 0.88 0.97 0.83;
#: compound_scaling (2 x 3) 0.82 0.73 0.85 0.88 0.84 (single trials 0.64-0.88). Before BatchNorm
#: momentum 0.8 in the spaces, blocks (4 x 3) was 0.22 / 0.18 and compound_scaling (4 x 3) 0.13 / 0.13.
SHORT_SEARCHES: dict[str, tuple[int, int, float]] = {
    "blocks": (3, 3, 0.7),
    "pattern": (3, 2, 0.6),
    "compound_scaling": (2, 3, 0.5),
}

INCEPTION_ERROR = (
    "the stage's strides=2 cannot be applied: 'inception' takes no strides; start the stage with a block or "
    "layer that does (e.g. conv, bottleneck), or add a pooling layer"
)


def space_data(name: str) -> dict[str, Any]:
    return yaml.safe_load((SPACES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def test_every_shipped_space_has_a_short_search() -> None:
    assert sorted(SHORT_SEARCHES) == list_spaces(), "give a new shipped space its short search in SHORT_SEARCHES"


@pytest.mark.parametrize("name", list_spaces())
def test_spaces_with_batch_norm_set_a_momentum_for_short_trials(name: str) -> None:
    """Keras's 0.99 leaves the moving statistics untrained in a trial of a few dozen steps."""
    defaults = space_data(name).get("defaults") or {}
    if defaults.get("batch_norm"):
        assert defaults.get("batch_norm_momentum", 0.99) <= 0.8, name


#: Real searches of every shipped space, up to minutes of CPU each: the slow lane (make test-all). The quick
#: lane's searches run small spaces (test_run.py, test_winner.py) and the README's search transcript.
@pytest.mark.slow
@pytest.mark.parametrize("name", list_spaces())
def test_a_short_search_finds_a_network_well_above_chance(name: str, tmp_path: Path) -> None:
    pytest.importorskip("keras_tuner")
    from archbuilder.search.runner import run

    max_trials, epochs, threshold = SHORT_SEARCHES[name]
    result = run(name, max_trials=max_trials, epochs=epochs, output=tmp_path / name, progress=False)
    completed = [t for t in result.trials if t.completed and t.metric("val_accuracy") is not None]
    scores = {t.trial_id: round(t.metric("val_accuracy") or 0.0, 4) for t in completed}
    assert len(completed) == max_trials, [(t.trial_id, t.status, t.message) for t in result.trials]
    assert max(scores.values()) > threshold, f"{name}: val_accuracy per trial {scores} (chance 0.1)"


def inception_network(strides: int, repeat: int = 1) -> dict[str, Any]:
    """The blocks space's inception option in a stage of its own, with the space's defaults and input."""
    space = space_data("blocks")
    [option] = [o for o in space["stages"]["list"]["block"]["choice"] if o["type"] == "inception"]
    return {
        "name": "inception_stage",
        "input": space["input"],
        "defaults": space["defaults"],
        "stem": [{"type": "conv", "filters": 16, "kernel_size": 3, "padding": "same"}],
        "stages": [{"block": option, "repeat": repeat, "strides": strides}],
        "head": {"classes": 10},
    }


@pytest.mark.parametrize("repeat", [1, 2])
def test_an_inception_stage_with_strides_1_validates_and_builds(repeat: int) -> None:
    from archbuilder.compile import build_model
    from tests.compile.support import assert_analysis_equals_model

    blueprint = inception_network(strides=1, repeat=repeat)
    analysis = archbuilder.analyze(blueprint)
    assert [b.type for b in analysis.blueprint.stages[0].blocks] == ["inception"] * repeat
    model = build_model(blueprint)
    assert model.count_params() == analysis.params
    assert_analysis_equals_model(analysis, model)  # and every layer's shape and params
    assert tuple(model.get_layer("stages_0_blocks_0_concat").output.shape[1:]) == (8, 8, 16 + 24 + 8 + 8)


def test_an_inception_stage_with_strides_2_is_a_clear_error() -> None:
    with pytest.raises(BlueprintError) as info:
        archbuilder.analyze(inception_network(strides=2))
    assert [(p.path, p.message) for p in info.value.problems] == [("stages[0].strides", INCEPTION_ERROR)]

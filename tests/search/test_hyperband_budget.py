"""Hyperband spends max_trials: it runs iteration after iteration until the trial budget is used.

KerasTuner's default of one Hyperband iteration ended a search after a few dozen trials whatever
``max_trials`` said; the oracle is driven here without training (scores are made up), as a
search drives it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

kt = pytest.importorskip("keras_tuner")

from archbuilder.search import load_space  # noqa: E402
from archbuilder.search.oracle_factory import create_oracle  # noqa: E402
from archbuilder.search.oracles import declare_hyperparameters  # noqa: E402

SPACE = """\
name: hyperband_budget
input: {shape: [8, 8, 1]}
stem:
  - {type: conv, filters: {int: [1, 256]}, kernel_size: 3, padding: same}
head: {classes: 10}
search: {tuner: {type: hyperband, factor: 3}, max_trials: 60, epochs: 9, data: digits}
"""


def test_hyperband_runs_iterations_until_max_trials(tmp_path: Path) -> None:
    space = load_space(SPACE)
    oracle = create_oracle(space)
    oracle._set_project_dir(str(tmp_path), "search")
    hp = kt.HyperParameters()
    declare_hyperparameters(space, hp)
    oracle.update_space(hp)
    epochs = []
    while True:
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        values = trial.hyperparameters.values
        epochs.append(values["tuner/epochs"])
        oracle.update_trial(trial.trial_id, {"val_accuracy": values["stem[0].filters"] / 256}, step=1)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert len(oracle.trials) == 60  # one iteration (max_epochs 9, factor 3) has about 22 trials
    assert sorted(set(epochs)) == [1, 3, 9]

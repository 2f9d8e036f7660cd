"""The KerasTuner glue without training: hyperparameters with conditional scopes, and oracles that
never turn an invalid, over-budget or duplicate candidate into a trial."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

kt = pytest.importorskip("keras_tuner")

from archbuilder.search import load_space  # noqa: E402
from archbuilder.search.errors import SearchError  # noqa: E402
from archbuilder.search.oracle_factory import create_oracle  # noqa: E402
from archbuilder.search.oracles import declare_hyperparameters  # noqa: E402
from archbuilder.search.screening import Candidate, Screen, examine  # noqa: E402

FINITE = """\
name: finite
input: {shape: [8, 8, 1]}
stem:
  - {type: conv, filters: {choice: [4, 8, 64]}, kernel_size: {choice: [3, 9]}, padding: valid}
stages:
  - block:
      choice:
        - {type: residual, filters: {choice: [4, 8]}}
        - {type: depthwise, filters: 8}
head: {classes: 10}
search: {budgets: {max_params: 3000}, max_trials: 20, max_attempts: 300, seed: 3}
"""


def finite_space(**overrides: Any) -> Any:
    return load_space(FINITE, **overrides)


def valid_blueprints(space: Any) -> set[str]:
    keys = set()
    for values in space.grid():
        verdict = examine(space, values)
        if isinstance(verdict, Candidate):
            keys.add(verdict.key)
    return keys


def drive(oracle: Any, tmp_path: Path, limit: int = 50) -> list[Any]:
    """Create and complete trials until the oracle stops (no training: a fixed score)."""
    oracle._set_project_dir(str(tmp_path), "project")
    space = oracle.space
    hp = oracle.get_space()
    declare_hyperparameters(space, hp)
    oracle.update_space(hp)
    trials = []
    for _ in range(limit):
        trial = oracle.create_trial("tuner0")
        if trial.status == "STOPPED":
            break
        oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        oracle.save()  # as the tuner does after each trial
        trials.append(trial)
    return trials


def test_hyperparameters_carry_the_conditions_of_the_space() -> None:
    space = finite_space()
    hp = kt.HyperParameters()
    declare_hyperparameters(space, hp)
    assert [p.name for p in hp.space] == [p.name for p in space.parameters]
    by_name = {p.name: p for p in hp.space}
    [condition] = by_name["stages[0].block(residual).filters"].conditions
    assert (condition.name, list(condition.values)) == ("stages[0].block", ["residual"])
    hp.values.update({"stages[0].block": "depthwise"})
    assert not hp.is_active(by_name["stages[0].block(residual).filters"])


@pytest.mark.parametrize("tuner", ["random", "grid"])
def test_oracle_creates_only_valid_unique_trials(tuner: str, tmp_path: Path) -> None:
    space = finite_space(tuner=tuner)
    expected = valid_blueprints(space)
    oracle = create_oracle(space)
    trials = drive(oracle, tmp_path)
    keys = []
    for trial in trials:
        values = trial.hyperparameters.values
        verdict = examine(space, values)
        assert isinstance(verdict, Candidate)
        assert set(values) == set(verdict.values)  # active values only
        keys.append(verdict.key)
    assert len(keys) == len(set(keys)) == len(expected) == 7
    assert all(t.status == "COMPLETED" for t in oracle.trials.values())  # nothing counted as failed
    assert oracle.screen.rejected["geometry"] > 0 and oracle.screen.rejected["max_params"] > 0
    if tuner == "grid":
        assert oracle.screen.duplicates == 0 and [t.trial_id for t in trials] == [str(i).zfill(2) for i in range(7)]
    else:
        assert oracle.screen.duplicates > 0


def test_a_trial_carries_the_candidate_its_screen_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Building, training and collecting a trial read the candidate the oracle's screen measured when it admitted
    the trial: no second analysis, however often the hypermodel asks for it."""
    from archbuilder.search import screening
    from archbuilder.search.hypermodel import BlueprintHyperModel

    space = finite_space(max_trials=3)
    oracle = create_oracle(space)
    trials = drive(oracle, tmp_path)
    analyzed: list[dict[str, Any]] = []
    measure = screening.measure
    monkeypatch.setattr(screening, "measure", lambda space, values: analyzed.append(values) or measure(space, values))
    hypermodel = BlueprintHyperModel(space, None, screen=oracle.screen)
    for trial in trials:
        values = {**trial.hyperparameters.values, "tuner/epochs": 2}  # KerasTuner's own entries are not the space's
        first, again = hypermodel.candidate(values), hypermodel.candidate(trial.hyperparameters.values)
        assert first is again and first.values == trial.hyperparameters.values
    assert len(trials) == 3 and analyzed == []
    own = BlueprintHyperModel(space, None, Screen(space)).candidate(trials[0].hyperparameters.values)
    assert own.key == hypermodel.candidate(trials[0].hyperparameters.values).key
    assert len(analyzed) == 1  # another screen measures for itself


def test_oracle_state_survives_a_reload(tmp_path: Path) -> None:
    space = finite_space(max_trials=3)
    first = create_oracle(space)
    drive(first, tmp_path)
    rejected = dict(first.screen.rejected)
    again = create_oracle(finite_space(max_trials=6))
    again._set_project_dir(str(tmp_path), "project")
    again.reload()
    assert dict(again.screen.rejected) == rejected and len(again.screen.seen) == 3
    trials = drive(again, tmp_path)
    assert len(again.trials) == 6 and len(trials) == 3
    keys = {examine(space, t.hyperparameters.values).key for t in again.trials.values()}
    assert len(keys) == 6


def test_bayesian_needs_scikit_learn(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    with pytest.raises(SearchError, match=r"search.tuner 'bayesian' needs scikit-learn"):
        create_oracle(finite_space(tuner="bayesian"))


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="scikit-learn is not installed")
def test_bayesian_oracle_proposals_are_screened(tmp_path: Path) -> None:
    space = finite_space(tuner="bayesian", max_trials=6)
    trials = drive(create_oracle(space), tmp_path)
    keys = [examine(space, t.hyperparameters.values).key for t in trials]
    assert len(keys) == len(set(keys)) == 6

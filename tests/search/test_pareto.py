"""The Pareto front of a search, on hand-made trial records (no Keras)."""

from __future__ import annotations

from archbuilder.search.results import TrialRecord, pareto_front


def trial(trial_id: str, accuracy: float | None, macs: int, status: str = "completed") -> TrialRecord:
    metrics = {} if accuracy is None else {"val_accuracy": accuracy}
    return TrialRecord(trial_id, status, {}, metrics, {"macs": macs})


def test_front_keeps_the_non_dominated_trials_by_increasing_cost() -> None:
    trials = [
        trial("0", 0.90, 100),
        trial("1", 0.80, 50),
        trial("2", 0.85, 120),  # 2 is beaten by 0
        trial("3", 0.95, 400),
        trial("4", 0.90, 100),  # 4 ties 0 exactly: the first is kept
        trial("5", 0.99, 10, status="nan"),
        trial("6", None, 5),
    ]  # not completed, or no score
    assert [t.trial_id for t in pareto_front(trials, "val_accuracy", "macs", "max")] == ["1", "0", "3"]


def test_front_when_minimizing() -> None:
    trials = [trial("0", 0.30, 100), trial("1", 0.20, 200), trial("2", 0.40, 150)]
    assert [t.trial_id for t in pareto_front(trials, "val_accuracy", "macs", "min")] == ["0", "1"]

"""Sampling the example spaces, and the screen's accounting, in a process that never imports Keras."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from archbuilder.search import Screen, load_space
from archbuilder.search.screening import Candidate, Duplicate, Rejection, examine

SAMPLES = 2000

PROGRAM = """
import json, random, sys
from archbuilder.analysis import analyze
from archbuilder.blueprint.io import load_blueprint
from archbuilder.search import list_spaces, load_space
from archbuilder.search.screening import REASONS, Candidate, Screen

report = {}
for name in list_spaces():
    space = load_space(name)
    screen = Screen(space)
    accepted = 0
    rng = random.Random(7)
    for _ in range(int(sys.argv[1])):
        verdict = screen.admit(space.sample_values(rng), None)
        if isinstance(verdict, Candidate):
            accepted += 1
            again = load_blueprint(verdict.blueprint.to_dict())      # the resolved blueprint loads back equal
            assert again == verdict.blueprint and again.resolve() == again
            assert analyze(again).params == verdict.params
            for budget, limit in space.settings.budgets.items():
                assert verdict.costs[budget.removeprefix("max_")] <= limit
    assert set(screen.rejected) <= set(REASONS)
    report[name] = {"accepted": accepted, "rejected": dict(screen.rejected), "duplicates": screen.duplicates}
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "keras_tuner", "jax", "torch"))
print(json.dumps({"report": report, "heavy": heavy}))
"""


def test_thousands_of_samples_from_each_example_space_without_keras() -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM, str(SAMPLES)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.splitlines()[-1])
    assert output["heavy"] == []
    report = output["report"]
    assert set(report) == {"blocks", "compound_scaling", "pattern"}
    for name, counts in report.items():
        total = counts["accepted"] + sum(counts["rejected"].values()) + counts["duplicates"]
        assert total == SAMPLES, name
        assert counts["accepted"] > 20, (name, counts)
    assert report["pattern"]["rejected"]["geometry"] > 0 and report["pattern"]["duplicates"] > 0
    assert report["blocks"]["rejected"]["geometry"] > 0  # a strided inception stage
    assert report["compound_scaling"]["rejected"]["constraint"] > 0


SMALL = """\
name: small
input: {shape: [8, 8, 1]}
stem:
  - {type: conv, filters: {choice: [4, 8, 64]}, kernel_size: {choice: [3, 9]}, padding: valid}
head: {classes: 10, dropout: {choice: [0.0, 0.5]}}
search: {budgets: {max_params: 1000}}
"""


def test_screen_counts_rejections_by_reason_and_duplicates() -> None:
    space = load_space(SMALL)
    screen = Screen(space)
    first = screen.admit({"stem[0].filters": 4, "stem[0].kernel_size": 3, "head.dropout": 0.0}, "0")
    assert isinstance(first, Candidate) and first.params == 4 * 9 + 4 + 4 * 10 + 10
    geometry = screen.admit({"stem[0].filters": 4, "stem[0].kernel_size": 9, "head.dropout": 0.0}, None)
    assert isinstance(geometry, Rejection) and geometry.reason == "geometry"
    assert geometry.message.startswith("<string>:4:5: stem[0]: output size would be 0x0 (input 8x8, kernel_size=9")
    over = screen.admit({"stem[0].filters": 64, "stem[0].kernel_size": 3, "head.dropout": 0.0}, None)
    assert isinstance(over, Rejection) and over.reason == "max_params"
    assert over.message == "<string>:6:32: search.budgets.max_params: 1,290 params is over max_params 1,000"
    again = screen.admit({"stem[0].filters": 4, "stem[0].kernel_size": 3, "head.dropout": 0.0}, "1")
    assert isinstance(again, Duplicate) and again.of == "0"
    assert dict(screen.rejected) == {"geometry": 1, "max_params": 1} and screen.duplicates == 1
    assert screen.report() == "2 candidates rejected before building (1 geometry, 1 max_params); 1 duplicate skipped"


def test_same_canonical_blueprint_from_different_values_is_a_duplicate() -> None:
    # K = 0 makes `fc` irrelevant: different values, one network.
    space = load_space("pattern")
    base = {"pattern.N": 1, "pattern.M": 1, "pattern.K": 0, "pattern.fc": 32}
    screen = Screen(space)
    assert isinstance(screen.admit(base, "0"), Candidate)
    assert isinstance(screen.admit({**base, "pattern.fc": 128}, "1"), Duplicate)


def test_examine_is_deterministic_for_seeded_samples() -> None:
    space = load_space("blocks")
    draws = [space.sample_values(random.Random(3)) for _ in range(2)]
    assert draws[0] == draws[1]
    verdicts = [examine(space, values) for values in draws]
    assert type(verdicts[0]) is type(verdicts[1])


@pytest.mark.parametrize("name", ["pattern", "blocks", "compound_scaling"])
def test_example_spaces_validate(name: str) -> None:
    from archbuilder.search import validate_space

    check = validate_space(load_space(name), samples=128)
    assert check.valid > 0


def test_values_without_effect_are_left_out() -> None:
    """``pattern.fc`` with no FC layer (K = 0) and the filter growth of a single stage (M = 1) change nothing."""
    from archbuilder.search.screening import measure, values_that_matter

    space = load_space("pattern")
    values = {
        "pattern.conv.kernel_size": 3,
        "pattern.conv.padding": "same",
        "pattern.N": 2,
        "pattern.M": 1,
        "pattern.K": 0,
        "pattern.fc": 64,
        "pattern.filters.start": 16,
        "pattern.filters.growth": 2.0,
        "training.optimizer.learning_rate": 0.001,
    }
    candidate, _ = measure(space, values)
    kept = values_that_matter(space, candidate)
    assert set(values) - set(kept) == {"pattern.fc", "pattern.filters.growth"}
    assert all(kept[name] == values[name] for name in kept)  # the recipe's learning rate matters too
    wider, _ = measure(space, {**values, "pattern.K": 1, "pattern.M": 2})
    assert values_that_matter(space, wider) == wider.values

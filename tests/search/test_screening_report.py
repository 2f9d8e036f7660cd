"""`search --check` reports each problem of a space once (not once per sampled value)."""

from __future__ import annotations

import pytest

from archbuilder.blueprint.errors import BlueprintError
from archbuilder.search import load_space, validate_space

SPACE = """\
name: s
input: {shape: [8, 8, 1]}
stem:
  - {type: conv, filters: {choice: [4, 8, 16]}, kernel_size: {choice: [1, 3]}, padding: same}
head: {classes: 10, pool: flaten}
search: {max_trials: 2, data: digits}
"""


def test_a_problem_independent_of_the_markers_is_reported_once_without_them() -> None:
    with pytest.raises(BlueprintError) as caught:
        validate_space(load_space(SPACE))
    problems = [p for p in caught.value.problems if p.location[:2] == ("head", "pool")]
    assert len(problems) == 1, [str(p) for p in caught.value.problems]
    assert "with " not in problems[0].message  # no "(with stem[0].filters = 4)": it fails for every value


def test_a_problem_of_one_value_names_it() -> None:
    space = SPACE.replace("pool: flaten", "pool: flatten").replace(
        "padding: same", "padding: {choice: [same, sideways]}"
    )
    with pytest.raises(BlueprintError) as caught:
        validate_space(load_space(space))
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 1 and "sideways" in messages[0], messages

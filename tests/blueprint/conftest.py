"""Shared fixtures for the blueprint tests: load a blueprint and collect the problems it raises.

Helpers are fixtures (not importable functions) so that no test module depends on how pytest
puts conftest files on ``sys.path``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from archbuilder.blueprint.errors import BlueprintError, Problem
from archbuilder.blueprint.io import load_blueprint

#: Two lines every YAML snippet in the tables starts after (so snippets begin on line 3).
HEADER = "name: net\ninput: {shape: [32, 32, 3]}\n"


@pytest.fixture
def header() -> str:
    return HEADER


@pytest.fixture
def problems_of() -> Callable[[Any], list[Problem]]:
    """Every problem ``load_blueprint(source)`` raises (fails the test when it loads)."""

    def collect(source: Any) -> list[Problem]:
        with pytest.raises(BlueprintError) as info:
            load_blueprint(source)
        assert info.value.problems, "a BlueprintError must carry at least one problem"
        return info.value.problems

    return collect


@pytest.fixture
def only_problem(problems_of: Callable[[Any], list[Problem]]) -> Callable[[Any], Problem]:
    """The single problem ``load_blueprint(source)`` raises."""

    def single(source: Any) -> Problem:
        found = problems_of(source)
        assert len(found) == 1, [str(p) for p in found]
        return found[0]

    return single

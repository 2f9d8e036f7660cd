"""Architecture search over blueprints: declarative search spaces, screened candidates, KerasTuner.

A search space is a blueprint in which values may be markers (``{choice: [...]}``, ``{int: [a, b]}``,
``{float: [a, b], log: true}``, ``{bool: {}}``, ``{expr: ...}``, ``{list: ..., length: ...}``) plus a
``search:`` section. Importing this package (and parsing, sampling, validating spaces) does not
import Keras or KerasTuner; :func:`run` imports them when it starts training.

    from archbuilder.search import load_space, run
    space = load_space("pattern")                   # a shipped example, a path, YAML text or a dict
    result = run(space, data="digits", max_trials=4, epochs=1, output="searches/demo")
    print(result.best.blueprint.to_yaml())
"""

from __future__ import annotations

from archbuilder.search.errors import SearchError
from archbuilder.search.loading import list_spaces, load_space, locate_space
from archbuilder.search.results import SearchResult, TrialRecord
from archbuilder.search.runner import run
from archbuilder.search.screening import Candidate, Screen, examine
from archbuilder.search.settings import Budgets, Objective, SearchSettings
from archbuilder.search.space import SearchSpace
from archbuilder.search.space_check import SpaceCheck, validate_space

__all__ = [
    "Budgets",
    "Candidate",
    "Objective",
    "Screen",
    "SearchError",
    "SearchResult",
    "SearchSettings",
    "SearchSpace",
    "SpaceCheck",
    "TrialRecord",
    "examine",
    "list_spaces",
    "load_space",
    "locate_space",
    "run",
    "validate_space",
]

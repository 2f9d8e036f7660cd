"""Checking a space before any trial (:func:`validate_space`): the tuner can walk it, every option
makes a valid network on its own, and the space is not empty under its budgets. Nothing here
imports Keras.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from archbuilder.analysis.report import human
from archbuilder.blueprint.errors import BlueprintError, Problem
from archbuilder.search.parameters import BoolParameter, ChoiceParameter, FloatParameter, IntParameter
from archbuilder.search.screening import (
    COST_LABELS,
    COST_OF_BUDGET,
    REASONS,
    Candidate,
    judge,
    measure,
)
from archbuilder.search.space import COST_NAMES, CandidateError, SearchSpace


@dataclass
class SpaceCheck:
    """What validating a space found: how many sampled candidates pass, why the others fail, cost ranges."""

    sampled: int
    valid: int
    rejected: Counter[str]
    examples: dict[str, str]
    ranges: dict[str, tuple[int, int]]

    def report(self) -> str:
        """The check in a few lines: valid of sampled, each rejection reason with an example, the cost ranges."""
        lines = [f"{self.valid} of {self.sampled} sampled candidates are valid and within budget"]
        for reason in REASONS:
            if self.rejected.get(reason):
                lines.append(f"  {self.rejected[reason]} rejected for {reason}, e.g. {self.examples[reason]}")
        for cost, (low, high) in self.ranges.items():
            lines.append(f"  {COST_LABELS[cost]} of valid candidates: {human(low)} .. {human(high)}")
        return "\n".join(lines)


#: The most values one marker may give a grid search (a grid walks them all, times the other markers').
MAX_GRID_VALUES = 100_000


def validate_space(space: SearchSpace, samples: int = 256, seed: int = 0) -> SpaceCheck:
    """Check a space before any trial: the tuner can walk it, every option is valid on its own, and
    some candidate passes every check and budget.

    Args:
        space: the search space, as :func:`load_space` gives it.
        samples: random candidates to measure for the emptiness check and the cost ranges (the
            default values and the lowest values are measured too).
        seed: seed of the random draws (the other values drawn for each probed option, and the samples).

    Returns:
        A :class:`SpaceCheck`: how many of the ``samples + 2`` candidates are valid and within
        budget, the rejections by reason with an example each, and the cost ranges of the valid
        ones (:meth:`SpaceCheck.report` prints it).

    Raises:
        BlueprintError: every option that is never valid, or why the space is empty (naming the
            budget that empties it).
    """
    if space.settings.tuner.walks_grid:
        missing = [p for p in space.parameters if isinstance(p, FloatParameter) and p.step is None]
        if missing:
            raise BlueprintError(
                [space.problem("grid search needs a `step` on every float marker", p.location) for p in missing]
            )
        largest = max(space.parameters, key=lambda parameter: parameter.size(), default=None)
        if largest is not None and largest.size() > MAX_GRID_VALUES:
            raise BlueprintError(
                [
                    space.problem(
                        f"grid search would walk {largest.size():,} values of {largest.name} ({largest.describe()}); "
                        f"at most {MAX_GRID_VALUES:,} per marker: give it a larger step, or search it with another "
                        "tuner (random, bayesian, evolution)",
                        largest.location,
                    )
                ]
            )
    _check_options(space, seed)
    return _check_not_empty(space, samples, seed)


def _check_options(space: SearchSpace, seed: int, tries: int = 24) -> None:
    """Each probe value (every choice option, both ends of each range) must make a valid blueprint
    with the defaults, or with at least one of a few random draws of the other values."""
    rng = random.Random(seed)
    # Each problem once: by place and message, with the probed values that showed it. A problem seen
    # under the values of several parameters does not depend on them, and is reported without them.
    seen: dict[tuple[Any, ...], dict[str, list[str]]] = {}
    for parameter, value, values in space.probes():
        failure = _schema_failure(space, values)
        if failure is None:
            continue
        for _ in range(tries):
            drawn = _draw_with(space, parameter.name, value, values, rng)
            if drawn is not None and _schema_failure(space, drawn) is None:
                failure = None
                break
        if failure is not None:
            shown = str(value) if not isinstance(parameter, ChoiceParameter) else f"option '{value}'"
            for problem in failure:
                key = (tuple(problem.location), problem.message, problem.file, problem.line, problem.column)
                by_parameter = seen.setdefault(key, {})
                if problem.location[: len(parameter.location)] != parameter.location:  # not the value's own place
                    by_parameter.setdefault(parameter.name, [])
                    if shown not in by_parameter[parameter.name]:
                        by_parameter[parameter.name].append(shown)
    problems = []
    for (location, message, file, line, column), by_parameter in seen.items():
        note = ""
        if len(by_parameter) == 1:
            name, shown_values = next(iter(by_parameter.items()))
            note = f" (with {name} = {' or '.join(shown_values)})"
        problems.append(Problem(message + note, location, "error", file, line, column))
    if problems:
        raise BlueprintError(problems)


def _schema_failure(space: SearchSpace, values: dict[str, Any]) -> list[Problem] | None:
    try:
        concrete = space.concretize(values)
        space.blueprint(concrete)
    except CandidateError as error:
        if error.reason == "expression":
            return None  # expressions are checked per candidate
        return error.problems
    return None


def _draw_with(
    space: SearchSpace, name: str, value: Any, forced: dict[str, Any], rng: random.Random
) -> dict[str, Any] | None:
    fixed = {condition.parent: forced[condition.parent] for condition in space.by_name[name].conditions}
    fixed[name] = value
    values: dict[str, Any] = {}
    for parameter in space.parameters:
        if parameter.active(values):
            values[parameter.name] = fixed.get(parameter.name, parameter.sample(rng))
    return values if name in values else None


def _lowest_values(space: SearchSpace) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for parameter in space.parameters:
        if not parameter.active(values):
            continue
        if isinstance(parameter, (IntParameter, FloatParameter)):
            values[parameter.name] = (
                parameter.value_at(0) if parameter.step or isinstance(parameter, IntParameter) else parameter.low
            )
        elif isinstance(parameter, BoolParameter):
            values[parameter.name] = False
        else:
            values[parameter.name] = parameter.default
    return values


def _check_not_empty(space: SearchSpace, samples: int, seed: int) -> SpaceCheck:
    rng = random.Random(seed)
    pool = [space.default_values(), _lowest_values(space)] + [space.sample_values(rng) for _ in range(samples)]
    measured: list[Candidate] = []
    rejected: Counter[str] = Counter()
    examples: dict[str, str] = {}
    valid: list[Candidate] = []
    for values in pool:
        try:
            candidate, _ = measure(space, values)
        except CandidateError as error:
            rejected[error.reason] += 1
            examples.setdefault(error.reason, str(error.problems[0]) if error.problems else str(error))
            continue
        measured.append(candidate)
        try:
            judge(space, candidate)
        except CandidateError as error:
            rejected[error.reason] += 1
            examples.setdefault(error.reason, str(error.problems[0]))
            continue
        valid.append(candidate)
    ranges = (
        {cost: (min(c.costs[cost] for c in valid), max(c.costs[cost] for c in valid)) for cost in COST_NAMES}
        if valid
        else {}
    )
    check = SpaceCheck(len(pool), len(valid), rejected, examples, ranges)
    if not valid:
        raise BlueprintError(_empty_problems(space, measured, check))
    return check


def _empty_problems(space: SearchSpace, measured: list[Candidate], check: SpaceCheck) -> list[Problem]:
    if not measured:
        counts = ", ".join(f"{check.rejected[r]} {r}" for r in REASONS if check.rejected.get(r))
        first = next(check.examples[r] for r in REASONS if r in check.examples)
        return [
            space.problem(
                f"the space has no valid network: all {check.sampled} sampled candidates are rejected "
                f"({counts}). First problem: {first}",
                (),
            )
        ]
    budgets = dict(space.settings.budgets.items())
    alone = [name for name, limit in budgets.items() if all(c.costs[COST_OF_BUDGET[name]] > limit for c in measured)]
    problems = []
    for name in alone:
        cost = COST_OF_BUDGET[name]
        smallest = min(c.costs[cost] for c in measured)
        problems.append(
            space.problem(
                f"the space is empty under its budgets: {name} {budgets[name]:,} rejects every one of the "
                f"{len(measured)} valid candidates sampled (the smallest has {smallest:,} {COST_LABELS[cost]}). Raise "
                f"{name} to at least {smallest:,}, or search smaller networks",
                ("search", "budgets", name),
            )
        )
    if not problems and budgets:
        names = " and ".join(budgets)
        problems.append(
            space.problem(
                f"the space is empty under its budgets: {names} together reject every one of the {len(measured)} valid "
                f"candidates sampled; raise one of them, or search smaller networks",
                ("search", "budgets"),
            )
        )
    if not problems:  # only constraints over costs remain
        problems.append(
            space.problem(
                f"the space is empty: the constraints reject every one of the {len(measured)} "
                f"valid candidates sampled. First: {check.examples.get('constraint', '')}",
                ("search", "constraints"),
            )
        )
    return problems


__all__ = ["MAX_GRID_VALUES", "SpaceCheck", "validate_space"]

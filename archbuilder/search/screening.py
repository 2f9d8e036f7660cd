"""Screening: every candidate is resolved and analyzed before anything is built.

A candidate whose blueprint is invalid, whose geometry the analyzer rejects, that breaks a
constraint or a budget is rejected (and another is drawn); one whose canonical blueprint
(``bp.resolve().to_dict()``) was already accepted is a duplicate. :class:`Screen` keeps the count
of each. :func:`validate_space` checks a space before any trial: every option valid on its own,
and the space not empty under its budgets. Nothing here imports Keras.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from archbuilder.analysis.analyzer import analyze
from archbuilder.analysis.report import human
from archbuilder.blueprint.errors import BlueprintError, Problem, format_path
from archbuilder.blueprint.model import Blueprint
from archbuilder.search.expressions import ExpressionError
from archbuilder.search.parameters import BoolParameter, ChoiceParameter, FloatParameter, IntParameter
from archbuilder.search.space import COST_NAMES, CandidateError, Concrete, SearchSpace

#: Why a candidate was rejected, in the order the checks run.
REASONS = ("invalid", "expression", "constraint", "geometry", "max_params", "max_macs", "max_activation_memory")
COST_OF_BUDGET = {"max_params": "params", "max_macs": "macs", "max_activation_memory": "activation_memory"}
COST_LABELS = {"params": "params", "macs": "MACs", "activation_memory": "bytes of activations"}


@dataclass(frozen=True)
class Candidate:
    """An accepted point of the space: its active values, resolved blueprint, costs and canonical key."""

    values: dict[str, Any]
    blueprint: Blueprint
    named: dict[str, Any]
    costs: dict[str, int]
    key: str

    @property
    def params(self) -> int:
        """Parameters of the candidate's network, trainable or not."""
        return self.costs["params"]

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one example's forward pass."""
        return self.costs["macs"]

    @property
    def activation_memory(self) -> int:
        """Bytes of layer outputs for one example (float32 forward pass)."""
        return self.costs["activation_memory"]


@dataclass(frozen=True)
class Rejection:
    """A set of values the screen turned away: no trial is created for it.

    Attributes:
        reason: The category (one of ``REASONS``: ``invalid``, ``geometry``, ``max_params``, ...).
        message: The first problem, for the report.
    """

    reason: str
    message: str


@dataclass(frozen=True)
class Duplicate:
    """A candidate whose resolved blueprint the screen has already admitted.

    Attributes:
        candidate: The candidate.
        of: The trial that trains the same blueprint (``"?"`` when it was admitted without a trial id).
    """

    candidate: Candidate
    of: str | None  # the trial that trains the same blueprint


def canonical_key(blueprint: Blueprint) -> str:
    """Identity of a candidate: a hash of its resolved (canonical) blueprint."""
    resolved = blueprint.resolve().to_dict()
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[:24]


def measure(space: SearchSpace, values: dict[str, Any]) -> tuple[Candidate, Concrete]:
    """Concretize, validate and analyze ``values`` (budgets not checked yet).

    Raises:
        CandidateError: reason ``invalid``, ``expression``, ``constraint`` or ``geometry``.
    """
    concrete = space.concretize(values)
    for expression, location in space.constraints:
        if expression.names & set(COST_NAMES):
            continue
        _check_constraint(space, expression, location, concrete.named)
    blueprint = space.blueprint(concrete)
    try:
        analysis = analyze(blueprint)
    except BlueprintError as error:
        problems = [space.locate(p, concrete) for p in error.problems if p.severity == "error"]
        raise CandidateError("geometry", problems or [Problem(str(error))]) from None
    costs = {
        "params": analysis.params,
        "macs": analysis.macs,
        "activation_memory": analysis.activation_bytes("float32"),
    }
    resolved = analysis.blueprint
    key = hashlib.sha256(json.dumps(resolved.to_dict(), sort_keys=True).encode()).hexdigest()[:24]
    return Candidate(concrete.active, resolved, concrete.named, costs, key), concrete


def judge(space: SearchSpace, candidate: Candidate) -> None:
    """Budgets, then the constraints that read costs.

    Raises:
        CandidateError: reason ``max_params``, ``max_macs``, ``max_activation_memory`` or ``constraint``.
    """
    for budget, limit in space.settings.budgets.items():
        cost = COST_OF_BUDGET[budget]
        if candidate.costs[cost] > limit:
            raise CandidateError(
                budget,
                [
                    space.problem(
                        f"{candidate.costs[cost]:,} {COST_LABELS[cost]} is over {budget} {limit:,}",
                        ("search", "budgets", budget),
                    )
                ],
            )
    for expression, location in space.constraints:
        if expression.names & set(COST_NAMES):
            _check_constraint(space, expression, location, {**candidate.named, **candidate.costs})


def _check_constraint(space: SearchSpace, expression: Any, location: tuple[Any, ...], named: dict[str, Any]) -> None:
    try:
        holds = expression.evaluate(named)
    except ExpressionError as error:
        raise CandidateError("expression", [space.problem(str(error), location)]) from None
    if not holds:
        shown = ", ".join(
            f"{name}={named[name]:g}" if isinstance(named[name], float) else f"{name}={named[name]}"
            for name in sorted(expression.names)
        )
        raise CandidateError(
            "constraint", [space.problem(f"constraint {expression.text!r} does not hold ({shown})", location)]
        )


def examine(space: SearchSpace, values: dict[str, Any]) -> Candidate | Rejection:
    """The candidate for ``values``, or why it is rejected.

    Runs every check a search runs before building: the values make a valid blueprint, the
    expressions evaluate, the constraints hold, the analyzer accepts the geometry, and the budgets
    are met. Duplicates are not looked for (a :class:`Screen` does that).

    Args:
        space: the search space, as :func:`load_space` gives it.
        values: one value for each active parameter, by name (as :meth:`SearchSpace.sample_values`
            draws them; KerasTuner's ``tuner/...`` entries must be left out).

    Returns:
        A :class:`Candidate` (its values, resolved blueprint, costs and canonical key), or a
        :class:`Rejection` with the reason (one of ``REASONS``) and the first problem. Never
        raises for a rejected candidate.
    """
    try:
        candidate, _ = measure(space, values)
        judge(space, candidate)
    except CandidateError as error:
        return Rejection(error.reason, str(error.problems[0]) if error.problems else str(error))
    return candidate


@dataclass
class Screen:
    """The oracle's gatekeeper: examines values, counts rejections and duplicates, remembers accepted blueprints."""

    space: SearchSpace
    seen: dict[str, str] = field(default_factory=dict)
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    duplicates: int = 0
    cache_size: int = 4096
    _cache: OrderedDict[str, Candidate | Rejection] = field(default_factory=OrderedDict, repr=False)

    def examine(self, values: dict[str, Any]) -> Candidate | Rejection:
        """Like :func:`examine`, cached; counts nothing."""
        key = json.dumps(_space_values(values), sort_keys=True, default=str)
        verdict = self._cache.get(key)
        if verdict is None:
            verdict = examine(self.space, _space_values(values))
            self._cache[key] = verdict
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return verdict

    def admit(self, values: dict[str, Any], trial_id: str | None) -> Candidate | Rejection | Duplicate:
        """Examine and account: a new blueprint is remembered for ``trial_id``."""
        verdict = self.examine(values)
        if isinstance(verdict, Rejection):
            self.rejected[verdict.reason] += 1
            self.examples.setdefault(verdict.reason, verdict.message)
            return verdict
        if verdict.key in self.seen:
            self.duplicates += 1
            return Duplicate(verdict, self.seen[verdict.key])
        self.seen[verdict.key] = trial_id or "?"
        return verdict

    def remember(self, values: dict[str, Any], trial_id: str) -> None:
        """Mark the blueprint of an existing trial as seen (when a search resumes)."""
        verdict = self.examine(values)
        if isinstance(verdict, Candidate):
            self.seen.setdefault(verdict.key, trial_id)

    def get_state(self) -> dict[str, Any]:
        """The counts to save with the oracle: rejections by reason, their examples and the duplicates."""
        return {"rejected": dict(self.rejected), "examples": self.examples, "duplicates": self.duplicates}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores the counts :meth:`get_state` saved (the seen blueprints come back through :meth:`remember`)."""
        self.rejected = Counter(state.get("rejected", {}))
        self.examples = dict(state.get("examples", {}))
        self.duplicates = int(state.get("duplicates", 0))

    def report(self) -> str:
        """``9 candidates rejected before building (5 geometry, 4 max_macs); 2 duplicates skipped``."""
        total = sum(self.rejected.values())
        parts = ", ".join(f"{self.rejected[reason]} {reason}" for reason in REASONS if self.rejected.get(reason))
        text = f"{total} candidate{'s' if total != 1 else ''} rejected before building" + (
            f" ({parts})" if parts else ""
        )
        return f"{text}; {self.duplicates} duplicate{'s' if self.duplicates != 1 else ''} skipped"


def _space_values(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if not key.startswith("tuner/")}


# -- checking a space before any trial -----------------------------------------------------------


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
                parameter.grid()[0] if parameter.step or isinstance(parameter, IntParameter) else parameter.low
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


__all__ = [
    "COST_LABELS",
    "Candidate",
    "Duplicate",
    "REASONS",
    "Rejection",
    "Screen",
    "SpaceCheck",
    "canonical_key",
    "examine",
    "format_path",
    "judge",
    "measure",
    "validate_space",
]

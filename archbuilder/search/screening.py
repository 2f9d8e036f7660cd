"""Screening: every candidate is resolved and analyzed before anything is built.

A candidate whose blueprint is invalid, whose geometry the analyzer rejects, that breaks a
constraint or a budget is rejected (and another is drawn); one whose canonical blueprint
(``bp.resolve().to_dict()``) was already accepted is a duplicate. :class:`Screen` keeps the count
of each (:mod:`archbuilder.search.space_check` checks a whole space before any trial). Nothing here
imports Keras.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from archbuilder.analysis.analyzer import analyze
from archbuilder.blueprint.errors import BlueprintError, Problem, format_path
from archbuilder.blueprint.model import Blueprint
from archbuilder.search.expressions import ExpressionError
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


def values_that_matter(space: SearchSpace, candidate: Candidate) -> dict[str, Any]:
    """The candidate's active values that shape its network or its recipe: a value that every alternative of
    its parameter (its probe values: each option, both ends of a range) replaces with the same resolved
    blueprint had no effect (``pattern.fc`` when ``pattern.K`` is 0, ``filters.growth`` with one stage) and is
    left out. A value with no alternative is kept.
    """
    parameters = {parameter.name: parameter for parameter in space.parameters}
    kept: dict[str, Any] = {}
    for name, value in candidate.values.items():
        parameter = parameters.get(name)
        alternatives = [] if parameter is None else [other for other in parameter.probes() if other != value]
        if not alternatives or any(
            _key_with(space, {**candidate.values, name: other}) != candidate.key for other in alternatives
        ):
            kept[name] = value
    return kept


def _key_with(space: SearchSpace, values: dict[str, Any]) -> str | None:
    """The canonical key of the blueprint ``values`` make, ``None`` when they make none."""
    try:
        return canonical_key(space.blueprint(space.concretize(values)))
    except (CandidateError, BlueprintError, ExpressionError):
        return None


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
    return Screen(space).examine(values)


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
    _measured: OrderedDict[str, Candidate] = field(default_factory=OrderedDict, repr=False)

    def examine(self, values: dict[str, Any]) -> Candidate | Rejection:
        """Like :func:`examine`, cached; counts nothing."""
        key = _values_key(values)
        verdict = self._cache.get(key)
        if verdict is None:
            try:
                verdict = self.measure(values)
                judge(self.space, verdict)
            except CandidateError as error:
                verdict = Rejection(error.reason, str(error.problems[0]) if error.problems else str(error))
            _keep(self._cache, key, verdict, self.cache_size)
        return verdict

    def measure(self, values: dict[str, Any]) -> Candidate:
        """Like :func:`measure` (budgets not checked), cached: a trial's candidate, which the screen measured
        when it admitted the trial, is not derived again from its values when the trial is built, trained and
        collected (building the Keras model analyzes the blueprint once more, for its layer graph, which the
        screen does not keep for the thousands of candidates it sees).

        Raises:
            CandidateError: the values make no valid network (reason ``invalid``, ``expression``,
                ``constraint`` or ``geometry``).
        """
        key = _values_key(values)
        candidate = self._measured.get(key)
        if candidate is None:
            candidate, _ = measure(self.space, space_values(values))
            _keep(self._measured, key, candidate, self.cache_size)
        return candidate

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


def space_values(values: dict[str, Any]) -> dict[str, Any]:
    """KerasTuner's values without its own bookkeeping (``tuner/epochs``, ...)."""
    return {key: value for key, value in values.items() if not key.startswith("tuner/")}


def _values_key(values: dict[str, Any]) -> str:
    return json.dumps(space_values(values), sort_keys=True, default=str)


def _keep(cache: OrderedDict[str, Any], key: str, value: Any, size: int) -> None:
    """Store ``value`` in a cache of at most ``size`` entries, dropping the oldest."""
    cache[key] = value
    if len(cache) > size:
        cache.popitem(last=False)


__all__ = [
    "COST_LABELS",
    "Candidate",
    "Duplicate",
    "REASONS",
    "Rejection",
    "Screen",
    "canonical_key",
    "examine",
    "format_path",
    "judge",
    "measure",
    "space_values",
    "values_that_matter",
]

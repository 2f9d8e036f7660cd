"""Search spaces: a blueprint in which any value may be a marker, plus a ``search:`` section.

This module holds the tree and the space. :mod:`archbuilder.search.parsing` parses the markers
out of the blueprint into the tree (:class:`ChoiceNode`, :class:`ValueNode`, :class:`ExprNode`,
:class:`ListNode` inside plain dicts and lists) and a flat, ordered list of
:class:`~archbuilder.search.parameters.Parameter` (parents before children), each with the conditions
under which it is active: a value inside an unchosen option, or inside a list item beyond the
chosen length, is not active. ``concretize(values)`` walks the tree with one value per active
parameter and gives the concrete blueprint data and the active values only.
:mod:`archbuilder.search.loading` reads a space (``load_space``) from a path, a shipped space's
name, YAML text or a dict.

A list whose length is searched::

    stages:
      list: {block: {type: residual, filters: {choice: [16, 32]}}, repeat: {int: [1, 2]}}
      length: {int: [2, 4]}

``list`` is one template (each item gets its own values) or a list of per-item templates.

Nothing here imports Keras or KerasTuner.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from archbuilder.blueprint.errors import BlueprintError, Location, Problem
from archbuilder.blueprint.io import Sources, problem_from_error, validate_blueprint
from archbuilder.blueprint.model import Blueprint
from archbuilder.errors import ArchbuilderError
from archbuilder.search.expressions import Expression, ExpressionError
from archbuilder.search.parameters import ChoiceParameter, FloatParameter, Parameter, clean_float
from archbuilder.search.settings import SearchSettings

#: Names a constraint may use besides the named values: the analyzer's figures.
COST_NAMES = ("params", "macs", "activation_memory")


class CandidateError(ArchbuilderError, ValueError):
    """A set of values does not make a blueprint: ``reason`` is a short category, ``problems`` the details."""

    def __init__(self, reason: str, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.reason = reason
        self.problems = problems


# -- the tree ------------------------------------------------------------------------------------


@dataclass(eq=False)
class ChoiceNode:
    """A choice marker in the space's tree: its parameter and the tree of each option.

    Attributes:
        parameter: The choice.
        options: Each option's tree (markers inside an option are active only when it is chosen), in order.
    """

    parameter: ChoiceParameter
    options: list[Any]


@dataclass(eq=False)
class ValueNode:
    """An int, float or bool marker in the space's tree: the place of a searched value."""

    parameter: Parameter


@dataclass(eq=False)
class ExprNode:
    """An ``{expr: ...}`` marker in the space's tree: a value computed once the named values are known.

    Attributes:
        expression: The parsed expression.
        location: Where it is written (its ``expr`` key).
    """

    expression: Expression
    location: Location


@dataclass(eq=False)
class ListNode:
    """A ``{list: ..., length: ...}`` marker in the space's tree: a list whose length may be searched.

    Attributes:
        location: Where the marker is written.
        length: The length, or the int or choice parameter that picks it.
        items: The tree of each item, as many as the longest length (item i is active when the length is > i).
        item_locations: Where each item's template is written.
    """

    location: Location
    length: int | Parameter
    items: list[Any]
    item_locations: list[Location]


@dataclass(eq=False)
class _Deferred:
    node: ExprNode


@dataclass
class Concrete:
    """One point of the space: the blueprint data, the active values, and the named values."""

    data: dict[str, Any]
    active: dict[str, Any]
    named: dict[str, Any]
    origins: dict[Location, Location] = field(default_factory=dict, repr=False)


# -- the space -----------------------------------------------------------------------------------


class SearchSpace:
    """A parsed search space. Build one with :func:`load_space`."""

    def __init__(
        self,
        template: dict[str, Any],
        variables: dict[str, ValueNode | ChoiceNode],
        parameters: list[Parameter],
        settings: SearchSettings,
        constraints: list[tuple[Expression, Location]],
        sources: Sources | None,
        source_name: str | None,
        raw: dict[str, Any],
    ) -> None:
        self.template = template
        self.variables = variables
        self.parameters = parameters
        self.by_name = {parameter.name: parameter for parameter in parameters}
        self.settings = settings
        self.constraints = constraints
        self.sources = sources
        self.source_name = source_name
        self.raw = raw

    @property
    def name(self) -> str:
        """The space's ``name``, or ``"search"`` when it has none."""
        name = self.raw.get("name")
        return name if isinstance(name, str) else "search"

    def fingerprint(self) -> str:
        """A hash of what the space searches and with which tuner (trials, epochs and seed may change on resume)."""
        text = json.dumps({k: v for k, v in self.raw.items() if k != "search"}, sort_keys=True)
        extra = json.dumps(
            {
                "variables": self.settings.variables,
                "constraints": self.settings.constraints,
                "budgets": self.settings.budgets.model_dump(),
                "tuner": self.settings.tuner.type,  # the name, as before tuners had settings of their own
                "objective": self.settings.score_name,
            },
            sort_keys=True,
        )
        return hashlib.sha256((text + extra).encode()).hexdigest()[:16]

    def with_settings(self, **overrides: Any) -> SearchSpace:
        """The same space with some ``search:`` settings replaced (``None`` values are ignored).

        A tuner given by the name of the space's own tuner keeps its settings (``tuner="evolution"``
        on an evolution search keeps its population); another name starts from that tuner's
        defaults. The flat fields (``population=8``) set the tuner's own settings.
        """
        given = {key: value for key, value in overrides.items() if value is not None}
        if not given:
            return self
        current = self.settings.tuner
        tuner: Any = {**current.model_dump(exclude_defaults=True), "type": current.type}
        if "tuner" in given and not (isinstance(given["tuner"], str) and given["tuner"] == current.type):
            tuner = given["tuner"]
        else:  # the same tuner: a flat field given now (population=8) replaces the value it has
            replaced = {field for name, field in current.flat_fields.items() if name in given}
            tuner = {key: value for key, value in tuner.items() if key not in replaced}
        values = {**self.settings.model_dump(exclude_defaults=True, exclude={"tuner"}), **given, "tuner": tuner}
        try:
            settings = SearchSettings.model_validate(values)
        except ValidationError as error:
            problems = [problem_from_error(item, SearchSettings) for item in error.errors()]
            raise BlueprintError([replace(p, location=("search",) + tuple(p.location)) for p in problems]) from None
        twin = copy.copy(self)
        twin.settings = settings
        return twin

    # -- values ---------------------------------------------------------------------------------
    def default_values(self) -> dict[str, Any]:
        """Each active parameter at its default (parents before children, so defaults decide what is active)."""
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            if parameter.active(values):
                values[parameter.name] = parameter.default
        return values

    def sample_values(self, rng: random.Random, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Random values for the active parameters only (parents are sampled before children).

        ``given`` values are kept where their parameter is active (evolution's mutation: the parent's
        values with one changed; parameters that the change activates are sampled, ones it
        deactivates are dropped).
        """
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            if not parameter.active(values):
                continue
            if given is not None and parameter.name in given:
                values[parameter.name] = given[parameter.name]
            else:
                values[parameter.name] = parameter.sample(rng)
        return values

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every combination of active values, in order (the last parameter varies fastest).

        Raises:
            ValueError: a float marker has no ``step``.
        """
        for parameter in self.parameters:
            parameter.size()  # fail early on a float without step
        yield from self._grid(0, {})

    def _grid(self, index: int, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if index == len(self.parameters):
            yield dict(values)
            return
        parameter = self.parameters[index]
        if not parameter.active(values):
            yield from self._grid(index + 1, values)
            return
        for value in parameter.values():
            values[parameter.name] = value
            yield from self._grid(index + 1, values)
        del values[parameter.name]

    def grid_size(self, limit: int = 10**9) -> int:
        """How many combinations the grid has (counted up to ``limit``)."""
        return sum(1 for _ in itertools.islice(self.grid(), limit))

    def probes(self) -> Iterator[tuple[Parameter, Any, dict[str, Any]]]:
        """For every parameter and each of its probe values: values that make it active with that value,
        everything else at its default."""
        for parameter in self.parameters:
            for value in parameter.probes():
                forced = self._activating(parameter)
                forced[parameter.name] = value
                values: dict[str, Any] = {}
                for other in self.parameters:
                    if other.active(values):
                        values[other.name] = forced.get(other.name, other.default)
                yield parameter, value, values

    def _activating(self, parameter: Parameter) -> dict[str, Any]:
        forced: dict[str, Any] = {}
        for condition in parameter.conditions:
            forced[condition.parent] = condition.values[0]
        return forced

    # -- from values to a blueprint -------------------------------------------------------------
    def concretize(self, values: Mapping[str, Any]) -> Concrete:
        """The blueprint data for ``values`` (keys beyond the space, such as KerasTuner's ``tuner/...``, are ignored).

        Raises:
            CandidateError: a value is not in its parameter's range, or an expression fails.
        """
        walk = _Walk(values)
        for variable in self.variables.values():
            walk.visit(variable, ())
        data = walk.visit(self.template, ())
        named = {
            p.variable: p.value_of(walk.active[p.name])
            for p in self.parameters
            if p.variable is not None and p.name in walk.active
        }
        try:
            data = _resolve_deferred(data, named)
        except ExpressionError as error:
            raise CandidateError("expression", [Problem(str(error))]) from None
        active = {p.name: walk.active[p.name] for p in self.parameters if p.name in walk.active}
        return Concrete(data, active, named, walk.origins)

    def blueprint(self, concrete: Concrete) -> Blueprint:
        """Validate concrete data into a Blueprint; problems point into the space.

        Raises:
            CandidateError: reason ``invalid`` with every problem.
        """
        try:
            return validate_blueprint(concrete.data)
        except BlueprintError as error:
            raise CandidateError("invalid", [self.locate(p, concrete) for p in error.problems]) from None

    def locate(self, problem: Problem, concrete: Concrete | None = None) -> Problem:
        """A problem about a concrete blueprint, moved to where the space writes it (with file:line:column)."""
        location = problem.origin if problem.origin is not None else problem.location
        if concrete is not None:
            for cut in range(len(location), 0, -1):
                source = concrete.origins.get(tuple(location[:cut]))
                if source is not None:
                    location = source + tuple(location[cut:])
                    break
        moved = replace(problem, location=tuple(location), origin=None)
        return self.sources.attach(moved) if self.sources is not None else moved

    def problem(self, message: str, location: Location) -> Problem:
        """A problem at ``location`` in the space, with ``file:line:column`` when the space came from a file."""
        found = Problem(message, location)
        return self.sources.attach(found) if self.sources is not None else found

    def summary(self) -> str:
        """One line per parameter: name, what it searches, and when it is active."""
        lines = []
        for parameter in self.parameters:
            when = " and ".join(
                f"{c.parent} in {list(c.values)}" if len(c.values) > 1 else f"{c.parent}={c.values[0]}"
                for c in parameter.conditions
            )
            lines.append(f"  {parameter.name}: {parameter.describe()}" + (f"  (when {when})" if when else ""))
        return "\n".join(lines)


class _Walk:
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.active: dict[str, Any] = {}
        self.origins: dict[Location, Location] = {}

    def value(self, parameter: Parameter) -> Any:
        value = self.values.get(parameter.name, parameter.default)
        if isinstance(parameter, FloatParameter) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not parameter.contains(value):
            raise CandidateError(
                "invalid",
                [Problem(f"{value!r} is not a value of this marker ({parameter.describe()})", parameter.location)],
            )
        if isinstance(parameter, FloatParameter):
            value = clean_float(value)
        self.active[parameter.name] = value
        return value

    def visit(self, node: Any, at: Location) -> Any:
        if isinstance(node, ChoiceNode):
            label = self.value(node.parameter)
            index = node.parameter.index(label)
            self.origins[at] = node.parameter.location + ("choice", index)
            return self.visit(node.options[index], at)
        if isinstance(node, ValueNode):
            return self.value(node.parameter)
        if isinstance(node, ExprNode):
            return _Deferred(node)
        if isinstance(node, ListNode):
            length = node.length if isinstance(node.length, int) else self.value(node.length)
            items = []
            for index in range(length):
                self.origins[at + (index,)] = node.item_locations[index]
                items.append(self.visit(node.items[index], at + (index,)))
            return items
        if isinstance(node, dict):
            return {key: self.visit(value, at + (key,)) for key, value in node.items()}
        if isinstance(node, list):
            return [self.visit(value, at + (index,)) for index, value in enumerate(node)]
        return node


def _resolve_deferred(data: Any, named: dict[str, Any]) -> Any:
    if isinstance(data, _Deferred):
        value = data.node.expression.evaluate(named)
        return clean_float(value) if isinstance(value, float) else value
    if isinstance(data, dict):
        return {key: _resolve_deferred(value, named) for key, value in data.items()}
    if isinstance(data, list):
        return [_resolve_deferred(value, named) for value in data]
    return data


__all__ = [
    "COST_NAMES",
    "CandidateError",
    "ChoiceNode",
    "Concrete",
    "ExprNode",
    "ListNode",
    "SearchSpace",
    "ValueNode",
]

"""Search spaces: a blueprint in which any value may be a marker, plus a ``search:`` section.

``load_space`` parses the markers out of the blueprint into a tree (:class:`ChoiceNode`,
:class:`ValueNode`, :class:`ExprNode`, :class:`ListNode` inside plain dicts and lists) and a flat,
ordered list of :class:`~archbuilder.search.markers.Parameter` (parents before children), each
with the conditions under which it is active: a value inside an unchosen option, or inside a list
item beyond the chosen length, is not active. ``concretize(values)`` walks the tree with one value
per active parameter and gives the concrete blueprint data and the active values only.

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
import os
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from archbuilder.blueprint.errors import BlueprintError, Location, Problem, did_you_mean, format_path
from archbuilder.blueprint.io import Overrides, Sources, load_blueprint_data, problem_from_error, validate_blueprint
from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.overrides import apply_overrides, as_overrides
from archbuilder.errors import ArchbuilderError
from archbuilder.search.expressions import Expression, ExpressionError
from archbuilder.search.markers import (
    ChoiceParameter,
    Condition,
    FloatParameter,
    IntParameter,
    MarkerError,
    Parameter,
    clean_float,
    marker_key,
    mistyped_marker,
    parse_parameter,
)
from archbuilder.search.settings import SearchSettings

SPACES_DIR = Path(__file__).parent / "spaces"
MAX_LIST_LENGTH = 256
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
                "tuner": self.settings.tuner,
                "objective": self.settings.score_name,
            },
            sort_keys=True,
        )
        return hashlib.sha256((text + extra).encode()).hexdigest()[:16]

    def with_settings(self, **overrides: Any) -> SearchSpace:
        """The same space with some ``search:`` settings replaced (``None`` values are ignored)."""
        given = {key: value for key, value in overrides.items() if value is not None}
        if not given:
            return self
        values = {**self.settings.model_dump(exclude_defaults=True), **given}
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
            parameter.grid()  # fail early on a float without step
        yield from self._grid(0, {})

    def _grid(self, index: int, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if index == len(self.parameters):
            yield dict(values)
            return
        parameter = self.parameters[index]
        if not parameter.active(values):
            yield from self._grid(index + 1, values)
            return
        for value in parameter.grid():
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


# -- parsing -------------------------------------------------------------------------------------


def _join(name: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{name}[{key}]"
    return f"{name}.{key}" if name else key


class _Compiler:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.parameters: list[Parameter] = []
        self.names: dict[str, Parameter] = {}
        self.variables: dict[str, Parameter] = {}
        self.expressions: list[ExprNode] = []

    def report(self, message: str, location: Location) -> None:
        problem = Problem(message, location)
        if all((p.location, p.message) != (location, message) for p in self.problems):
            self.problems.append(problem)

    def register(self, parameter: Parameter) -> None:
        if parameter.name in self.names:
            self.report(f"two markers make the hyperparameter '{parameter.name}'", parameter.location)
            return
        if parameter.variable is not None:
            first = self.variables.get(parameter.variable)
            if first is not None:
                self.report(
                    f"name '{parameter.variable}' is already given to the marker at "
                    f"{_path(first.location)}; names must be unique",
                    parameter.location + ("name",),
                )
                return
            self.variables[parameter.variable] = parameter
        self.names[parameter.name] = parameter
        self.parameters.append(parameter)

    def node(self, value: Any, location: Location, name: str, conditions: tuple[Condition, ...]) -> Any:
        try:
            key = marker_key(value)
        except MarkerError as error:
            self.report(error.message, location + error.location)
            return None
        if key is None:
            mistyped = mistyped_marker(value)
            if mistyped is not None:  # reported once here, not again by every candidate it would break
                self.report(mistyped.message, location + mistyped.location)
                return None
            if isinstance(value, dict):
                return {k: self.node(v, location + (k,), _join(name, k), conditions) for k, v in value.items()}
            if isinstance(value, list):
                return [self.node(v, location + (i,), _join(name, i), conditions) for i, v in enumerate(value)]
            return value
        if key == "expr":
            try:
                node = ExprNode(Expression(value["expr"]), location + ("expr",))
            except ExpressionError as error:
                self.report(str(error), location + ("expr",))
                return None
            self.expressions.append(node)
            return node
        if key == "list":
            return self.list_node(value, location, name, conditions)
        try:
            parameter = parse_parameter(key, value, name, location, conditions)
        except MarkerError as error:
            self.report(error.message, location + error.location)
            return None
        self.register(parameter)
        if isinstance(parameter, ChoiceParameter):
            options = [
                self.node(
                    option, location + ("choice", index), f"{name}({label})", conditions + (Condition(name, (label,)),)
                )
                for index, (option, label) in enumerate(zip(parameter.options, parameter.labels))
            ]
            return ChoiceNode(parameter, options)
        return ValueNode(parameter)

    def list_node(
        self, marker: dict[str, Any], location: Location, name: str, conditions: tuple[Condition, ...]
    ) -> ListNode | None:
        if "length" not in marker:
            self.report("a list marker needs `length`: a number, or an int or choice marker", location)
            return None
        length_spec = marker["length"]
        length: int | Parameter
        try:
            key = marker_key(length_spec)
            if key is None:
                if not isinstance(length_spec, int) or isinstance(length_spec, bool) or length_spec < 0:
                    raise MarkerError(
                        f"length must be an integer >= 0 or an int/choice marker. Received: {length_spec!r}"
                    )
                length, lengths = length_spec, [length_spec]
            elif key in ("int", "choice"):
                length = parse_parameter(key, length_spec, f"{name}.length", location + ("length",), conditions)
                lengths = length.grid()
                if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in lengths):
                    raise MarkerError(f"the lengths must be integers >= 0. Received: {lengths}")
            else:
                raise MarkerError(f"length takes a number or an int/choice marker, not a {key} marker")
        except MarkerError as error:
            self.report(error.message, location + ("length",) + error.location)
            return None
        if max(lengths) > MAX_LIST_LENGTH:
            self.report(
                f"a searched list may have at most {MAX_LIST_LENGTH} items. Received: up to {max(lengths)}",
                location + ("length",),
            )
            return None
        if isinstance(length, Parameter):
            self.register(length)
        template = marker["list"]
        per_item = isinstance(template, list)
        if per_item and len(template) < max(lengths):
            self.report(
                f"`list` gives {len(template)} items but the length can be {max(lengths)}; give at least "
                f"{max(lengths)} items, or one template (a mapping) for every item",
                location + ("list",),
            )
            return None
        items, item_locations = [], []
        for index in range(max(lengths)):
            item_conditions = conditions
            if isinstance(length, Parameter) and index >= min(lengths):
                item_conditions = conditions + (Condition(length.name, tuple(n for n in lengths if n > index)),)
            source = template[index] if per_item else template
            item_location = location + (("list", index) if per_item else ("list",))
            item_locations.append(item_location)
            items.append(self.node(source, item_location, _join(name, index), item_conditions))
        return ListNode(location, length, items, item_locations)


def _path(location: Location) -> str:
    return format_path(location)


# -- loading -------------------------------------------------------------------------------------


def locate_space(argument: str | os.PathLike[str]) -> Path:
    """A path, or the name of a space shipped in ``archbuilder/search/spaces`` (``pattern``).

    Args:
        argument: a path to a space's YAML file, or the name of a shipped space (see
            :func:`list_spaces`), with or without ``.yaml``. An existing file wins; a path with a
            folder or another suffix is returned as is, even when missing (the loader reports it).

    Returns:
        The path of the space's file.

    Raises:
        BlueprintError: a bare name that is neither a file nor a shipped space (with a did-you-mean).
    """
    path = Path(argument)
    if path.exists() or path.parent.name or path.suffix not in ("", ".yaml", ".yml"):
        return path
    shipped = SPACES_DIR / f"{path.stem}.yaml"
    if shipped.exists():
        return shipped
    known = list_spaces()
    raise BlueprintError.single(
        f"no such file, and no shipped search space '{path.stem}'."
        f"{did_you_mean(path.stem, known)} Shipped spaces: {', '.join(known)}.",
        file=str(argument),
    )


def list_spaces() -> list[str]:
    """Names of the example spaces shipped with archbuilder.

    Returns:
        The names, sorted, as :func:`load_space` and :func:`locate_space` take them (``"pattern"``).
    """
    return sorted(p.stem for p in SPACES_DIR.glob("*.yaml"))


def load_space(
    source: str | os.PathLike[str] | dict[str, Any] | SearchSpace,
    *,
    set_values: Overrides | None = None,
    **overrides: Any,
) -> SearchSpace:
    """Parse and check the markers and the ``search:`` section of a space (a path, YAML text, a dict,
    or the name of a shipped space). ``overrides`` replace ``search:`` settings (``max_trials=4``);
    ``set_values`` set values of the template by path before it is parsed, markers allowed
    (``{"head.classes": 10, "stages[0].repeat": {"int": [1, 3]}}``, or ``--set`` items).

    This checks each marker on its own; :func:`archbuilder.search.screening.validate_space` checks the
    options against the blueprint format and the budgets.

    Args:
        source: a path to a YAML file, the name of a shipped space (see :func:`list_spaces`), YAML
            text, a dict, or a :class:`SearchSpace` (then only ``overrides`` apply).
        set_values: values to set by path in the template before it is parsed, as a mapping
            ``{path: value}`` or parsed ``--set`` items; ``None`` sets nothing.
        **overrides: ``search:`` settings to replace, by field name (``max_trials=4``,
            ``tuner="evolution"``, ``epochs=2``...); ``None`` values are ignored.

    Returns:
        The parsed :class:`SearchSpace`: its template, its parameters (parents before children)
        and its settings.

    Raises:
        BlueprintError: every problem, with its space path and (from a file) ``file:line:column``;
            also an unknown or invalid setting in ``overrides``.
        TypeError: ``set_values`` given with an already parsed :class:`SearchSpace`.
    """
    if isinstance(source, SearchSpace):
        if set_values:
            raise TypeError(
                "set_values applies to a space's source (a path, a shipped space's name, YAML text or a dict); "
                "this SearchSpace is already parsed: load its source with set_values instead."
            )
        return source.with_settings(**overrides)
    sources: Sources | None = None
    source_name: str | None = None
    if isinstance(source, dict):
        data: Any = apply_overrides(source, as_overrides(set_values))
    else:
        if not (isinstance(source, str) and ("\n" in source or ":" in source and not Path(source).exists())):
            source = locate_space(source)
            source_name = str(source)
        data, sources = load_blueprint_data(source, set_values)
    if not isinstance(data, dict):
        problem = Problem(
            f"a search space is a blueprint mapping with a `search:` section. Received: {type(data).__name__}"
        )
        raise BlueprintError([sources.attach(problem) if sources else problem])
    space = _compile_space(data, sources, source_name)
    return space.with_settings(**overrides)


def _compile_space(data: dict[str, Any], sources: Sources | None, source_name: str | None) -> SearchSpace:
    compiler = _Compiler()
    section = data.get("search", {})
    settings = SearchSettings()
    if section is None:
        section = {}
    try:
        settings = SearchSettings.model_validate(section)
    except ValidationError as error:
        for item in error.errors():
            problem = problem_from_error(item, SearchSettings)
            compiler.report(problem.message, ("search",) + tuple(problem.location))
    spec = settings.objective_spec
    if spec.penalize is not None and spec.target is None and getattr(settings.budgets, f"max_{spec.penalize}") is None:
        compiler.report(
            f"penalize: {spec.penalize} needs a target (the cost at which the score is the metric itself): "
            f"set objective.target, or budgets.max_{spec.penalize}",
            ("search", "objective", "penalize"),
        )
    variables: dict[str, Any] = {}
    for variable, marker in settings.variables.items():
        location: Location = ("search", "variables", variable)
        if not variable.isidentifier() or variable in COST_NAMES:
            compiler.report(
                f"a variable name must be an identifier and not one of {', '.join(COST_NAMES)}. Received: {variable!r}",
                location,
            )
            continue
        key = _safe_marker_key(marker)
        mistyped = mistyped_marker(marker) if key is None else None
        if mistyped is not None:
            compiler.report(mistyped.message, location + mistyped.location)
            continue
        if key not in ("choice", "int", "float", "bool"):
            compiler.report(
                f"a variable is a choice, int, float or bool marker, e.g. {{float: [1.0, 1.4]}}. Received: {marker!r}",
                location,
            )
            continue
        node = compiler.node({**marker, "name": variable}, location, variable, ())
        if node is not None:
            variables[variable] = node
    template = compiler.node({k: v for k, v in data.items() if k != "search"}, (), "", ())
    known = set(compiler.variables)
    for expression_node in compiler.expressions:
        _check_names(compiler, expression_node.expression, expression_node.location, known)
    constraints: list[tuple[Expression, Location]] = []
    for index, text in enumerate(settings.constraints):
        location = ("search", "constraints", index)
        try:
            expression = Expression(text)
        except ExpressionError as error:
            compiler.report(str(error), location)
            continue
        _check_names(compiler, expression, location, known | set(COST_NAMES))
        constraints.append((expression, location))
    if compiler.problems:
        problems = [sources.attach(p) for p in compiler.problems] if sources else compiler.problems
        raise BlueprintError(problems)
    return SearchSpace(template, variables, compiler.parameters, settings, constraints, sources, source_name, data)


def _safe_marker_key(value: Any) -> str | None:
    try:
        return marker_key(value)
    except MarkerError:
        return None


def _check_names(compiler: _Compiler, expression: Expression, location: Location, known: set[str]) -> None:
    for name in sorted(expression.names - known):
        listing = ", ".join(sorted(known)) or "none (give a marker `name: x`, or add search.variables)"
        compiler.report(
            f"expression {expression.text!r} uses '{name}', which is not a named value."
            f"{did_you_mean(name, known)} Named values: {listing}.",
            location,
        )


__all__ = [
    "COST_NAMES",
    "CandidateError",
    "ChoiceNode",
    "Concrete",
    "ExprNode",
    "IntParameter",
    "ListNode",
    "SPACES_DIR",
    "SearchSpace",
    "ValueNode",
    "list_spaces",
    "load_space",
    "locate_space",
]

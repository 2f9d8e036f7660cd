"""Parsing a search space: a blueprint's data with markers and a ``search:`` section into a
:class:`~archbuilder.search.space.SearchSpace` (its tree, its parameters in order, its named values and
constraints), with every problem found reported at once.

Nothing here imports Keras or KerasTuner.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from archbuilder.blueprint.errors import BlueprintError, Location, Problem, did_you_mean, format_path
from archbuilder.blueprint.io import Sources, problem_from_error
from archbuilder.search.expressions import Expression, ExpressionError
from archbuilder.search.markers import MarkerError, marker_key, mistyped_marker, parse_parameter
from archbuilder.search.parameters import ChoiceParameter, Condition, Parameter
from archbuilder.search.settings import SearchSettings
from archbuilder.search.space import COST_NAMES, ChoiceNode, ExprNode, ListNode, SearchSpace, ValueNode

MAX_LIST_LENGTH = 256


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


def compile_space(data: dict[str, Any], sources: Sources | None, source_name: str | None) -> SearchSpace:
    """The :class:`SearchSpace` of a space's data: its markers parsed, its names and ``search:`` settings checked.

    Args:
        data: the space as a mapping: a blueprint whose values may be markers, plus a ``search:`` section.
        sources: where ``data`` was read from, to give problems ``file:line:column``; ``None`` for none.
        source_name: the file the space came from, kept on the space; ``None`` for none.

    Returns:
        The parsed space, its parameters in order (parents before children).

    Raises:
        BlueprintError: every problem found, each at its place in the space.
    """
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


__all__ = ["MAX_LIST_LENGTH", "compile_space"]

"""Search markers: the values of a search space that are searched instead of given.

A marker is a mapping with one marker key (blueprint fields never use these names)::

    {choice: [a, b, c], default: b}           one of the options (each may be a whole spec)
    {int: [min, max], step: 2, log: false}    an integer; with ``log: true`` ``step`` is a factor
    {float: [min, max], log: true}            a float; ``step`` optional
    {bool: {}}                                 true or false
    {expr: "round(32 * gamma)"}                computed from named values (not searched itself)
    {list: TEMPLATE, length: {int: [2, 4]}}    a list whose length is searched (see space.py)

``name: alpha`` on a choice/int/float/bool marker makes its value usable in expressions and
constraints. This module holds the marker syntax (its keys and modifiers, recognising a marker or a
mistyped one) and parses one marker: each searchable marker becomes a
:class:`~archbuilder.search.parameters.Parameter` (:func:`parse_parameter`); its ``name`` is the path
of the value in the concrete blueprint (``stages[1].block.filters``), which is also the KerasTuner
hyperparameter name and the column of ``trials.csv``.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import typing
from typing import Any, TypedDict

from pydantic import BaseModel

from archbuilder.blueprint.errors import Location, did_you_mean
from archbuilder.blueprint.model import Blueprint
from archbuilder.errors import ArchbuilderError
from archbuilder.search.parameters import (
    BoolParameter,
    ChoiceParameter,
    Condition,
    FloatParameter,
    IntParameter,
    Parameter,
)

MARKER_KEYS = ("choice", "int", "float", "bool", "expr", "list")
MODIFIERS: dict[str, tuple[str, ...]] = {
    "choice": ("default", "name"),
    "int": ("step", "log", "default", "name"),
    "float": ("step", "log", "default", "name"),
    "bool": ("default", "name"),
    "expr": (),
    "list": ("length",),
}
MAX_OPTIONS = 1000
#: Identifier rules for ``name:`` (it is used in expressions).
_RESERVED_NAMES = frozenset({"params", "macs", "activation_memory", "and", "or", "not", "if", "else", "True", "False"})


class MarkerError(ArchbuilderError, ValueError):
    """A marker is malformed; ``location`` is where, relative to the marker (``('step',)``)."""

    def __init__(self, message: str, location: Location = ()) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


def marker_key(value: Any) -> str | None:
    """The marker key of ``value`` when it is a marker mapping, else ``None``.

    Raises:
        MarkerError: the mapping has two marker keys, or a key that its marker does not take.
    """
    if not isinstance(value, dict):
        return None
    keys = [key for key in value if key in MARKER_KEYS]
    if not keys:
        return None
    if len(keys) > 1:
        raise MarkerError(f"a marker has exactly one of {', '.join(MARKER_KEYS)}; this one has {' and '.join(keys)}")
    key = keys[0]
    allowed = (key,) + MODIFIERS[key]
    for other in value:
        if other not in allowed:
            article = "an" if key[0] in "aeiou" else "a"
            raise MarkerError(
                f"unknown key '{other}' in {article} {key} marker.{did_you_mean(str(other), allowed)} "
                f"Valid keys here: {', '.join(allowed)}.",
                (str(other),),
            )
    return key


def mistyped_marker(value: Any) -> MarkerError | None:
    """A mapping that is a marker with its key mistyped (``{choices: [8, 16]}``), as the problem to report.

    The mapping is taken for a marker when one of its keys is no name of the blueprint format but
    close to a marker key, and every other key is a marker's modifier (``default``, ``step``, ...):
    a blueprint mapping (a layer with its ``type``, a head with its ``classes``) never looks like that.
    """
    if not isinstance(value, dict) or not value or any(key in MARKER_KEYS for key in value):
        return None
    modifiers = {name for names in MODIFIERS.values() for name in names}
    suggestions = {key: _closest_marker(key) for key in value if isinstance(key, str) and key not in _format_names()}
    near = [key for key, suggestion in suggestions.items() if suggestion is not None]
    if not near or any(key not in modifiers and key not in near for key in value):
        return None
    key = near[0]
    return MarkerError(
        f"unknown marker '{key}'. Did you mean '{suggestions[key]}'? A marker is a mapping with one of "
        f"{', '.join(MARKER_KEYS)}.",
        (key,),
    )


def _closest_marker(key: str) -> str | None:
    """The marker key ``key`` was meant to be: a close match (difflib), or one it starts with (``integer``)."""
    matches = difflib.get_close_matches(key, MARKER_KEYS, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    folded = key.lower()
    prefixed = [marker for marker in MARKER_KEYS if folded.startswith(marker)]
    return max(prefixed, key=len) if prefixed else None


@functools.cache
def _format_names() -> frozenset[str]:
    """Every key the blueprint format uses (fields of every model reachable from Blueprint)."""
    names: set[str] = set()
    seen: set[type] = set()

    def visit(annotation: Any) -> None:
        for argument in typing.get_args(annotation):
            visit(argument)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
            seen.add(annotation)
            for name, info in annotation.model_fields.items():
                names.add(info.alias or name)
                visit(info.annotation)

    visit(Blueprint)
    return frozenset(names)


# -- parsing one marker --------------------------------------------------------------------------


class _ParameterFields(TypedDict):
    """The fields every kind of :class:`Parameter` takes from its marker's place."""

    name: str
    location: Location
    conditions: tuple[Condition, ...]
    variable: str | None


def parse_parameter(
    key: str, marker: dict[str, Any], name: str, location: Location, conditions: tuple[Condition, ...]
) -> Parameter:
    """A choice/int/float/bool marker as a :class:`Parameter` (choice options are kept as written).

    Raises:
        MarkerError: the marker is malformed; the message says what was received and what is expected.
    """
    variable = _variable_name(marker.get("name"))
    common: _ParameterFields = {"name": name, "location": location, "conditions": conditions, "variable": variable}
    if key == "choice":
        return _parse_choice(marker, common)
    if key == "bool":
        if marker["bool"] not in ({}, None, True):
            raise MarkerError(
                f"write a boolean marker as {{bool: {{}}}}. Received: {{bool: {marker['bool']!r}}}", ("bool",)
            )
        default = marker.get("default", False)
        if not isinstance(default, bool):
            raise MarkerError(f"default must be true or false. Received: {default!r}", ("default",))
        return BoolParameter(**common, default_value=default)
    return _parse_range(key, marker, common)


def _variable_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.isidentifier() or value in _RESERVED_NAMES or value.startswith("_"):
        raise MarkerError(
            f"name must be an identifier (letters, digits, _) usable in expressions, and not one of "
            f"{', '.join(sorted(_RESERVED_NAMES))}. Received: {value!r}",
            ("name",),
        )
    return value


def _parse_choice(marker: dict[str, Any], common: _ParameterFields) -> ChoiceParameter:
    options = marker["choice"]
    if not isinstance(options, list) or not options:
        raise MarkerError(f"choice needs a non-empty list of options. Received: {_short(options)}", ("choice",))
    if len(options) > MAX_OPTIONS:
        raise MarkerError(f"choice has {len(options)} options; at most {MAX_OPTIONS}", ("choice",))
    texts = [json.dumps(option, sort_keys=True) for option in options]
    for index, text in enumerate(texts):
        if text in texts[:index]:
            raise MarkerError(
                f"option {index} repeats option {texts.index(text)}: {_short(options[index])}", ("choice", index)
            )
    labels = option_labels(options)
    default_label = labels[0]
    if "default" in marker:
        given = json.dumps(marker["default"], sort_keys=True)
        if given not in texts:
            raise MarkerError(
                f"default must be one of the options. Received: {_short(marker['default'])}", ("default",)
            )
        default_label = labels[texts.index(given)]
    return ChoiceParameter(**common, options=list(options), labels=labels, default_label=default_label)


def option_labels(options: list[Any]) -> list[Any]:
    """How a choice records each option: the option itself when all are plain values of one type
    (int, float, str or bool), a spec's ``type`` (or its block's) when those tell the specs apart,
    else the option's JSON text, else its index."""
    kinds = {type(option) for option in options}
    if len(kinds) == 1 and kinds <= {int, float, str, bool}:
        return list(options)
    candidates: list[str | None] = [_spec_label(option) for option in options]
    if all(candidates) and len(set(candidates)) == len(candidates):
        return list(candidates)
    texts = [json.dumps(option) for option in options]
    if all(len(text) <= 40 for text in texts):
        return texts
    return [str(index) for index in range(len(options))]


def _spec_label(option: Any) -> str | None:
    if isinstance(option, dict):
        if isinstance(option.get("type"), str):
            return option["type"]
        block = option.get("block")
        if isinstance(block, dict) and isinstance(block.get("type"), str):
            return block["type"]
        return None
    return json.dumps(option)


def _parse_range(key: str, marker: dict[str, Any], common: _ParameterFields) -> Parameter:
    bounds = marker[key]
    is_int = key == "int"
    number = (
        (lambda v: isinstance(v, int) and not isinstance(v, bool))
        if is_int
        else (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
    )
    what = "integers" if is_int else "numbers"
    if not isinstance(bounds, list) or len(bounds) != 2 or not all(number(v) for v in bounds):
        raise MarkerError(f"{key} takes [min, max] with two {what}. Received: {_short(bounds)}", (key,))
    low, high = bounds
    if low > high:
        raise MarkerError(f"min {low} is greater than max {high}", (key,))
    log = marker.get("log", False)
    if not isinstance(log, bool):
        raise MarkerError(f"log must be true or false. Received: {log!r}", ("log",))
    if log and (low < 1 if is_int else low <= 0):
        raise MarkerError(f"log sampling needs min {'>= 1' if is_int else '> 0'}. Received: min {low}", (key,))
    step = marker.get("step")
    if step is not None:
        if not number(step) or step <= 0:
            raise MarkerError(
                f"step must be a positive {'integer' if is_int else 'number'}. Received: {step!r}", ("step",)
            )
        if log and step <= 1:
            raise MarkerError(
                f"with log: true, step is a factor (min, min*step, ...) and must be > 1. Received: {step}", ("step",)
            )
    if is_int:
        parameter: IntParameter | FloatParameter = IntParameter(**common, low=low, high=high, step=step, log=log)
    else:
        parameter = FloatParameter(**common, low=float(low), high=float(high), step=step, log=log)
    if "default" in marker:
        default = marker["default"]
        if not parameter.contains(default) or (
            isinstance(parameter, FloatParameter) and step is not None and not parameter.on_grid(default)
        ):
            raise MarkerError(
                f"default must be a value of the marker ({parameter.describe()}). Received: {default!r}", ("default",)
            )
        if isinstance(parameter, IntParameter):
            parameter.default_value = default
        else:
            parameter.default_value = float(default)
    return parameter


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = [
    "MARKER_KEYS",
    "MarkerError",
    "marker_key",
    "mistyped_marker",
    "option_labels",
    "parse_parameter",
]

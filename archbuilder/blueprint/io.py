"""Loading and dumping blueprints.

``load_blueprint`` accepts a path, a zoo name, YAML text, a dict or a :class:`Blueprint`. Every
problem names the blueprint path (``stages[2].block.filters``) and, from a file, ``file:line:column``.
A blueprint may start from another with ``extends: other.yaml`` (a path relative to the file, or a
zoo name): mappings merge key by key, anything else is replaced (see
:mod:`archbuilder.blueprint.extends`). ``overrides={"head.classes": 10}`` then sets values by path
(see :mod:`archbuilder.blueprint.overrides`) before validation. pydantic's errors are translated in
:mod:`archbuilder.blueprint.translate`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from archbuilder.blueprint import catalog
from archbuilder.blueprint.errors import BlueprintError, Location, Problem, format_path
from archbuilder.blueprint.extends import MAX_EXTENDS_DEPTH, Sources, deep_merge, extend
from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.overrides import Override, apply_overrides, as_overrides
from archbuilder.blueprint.translate import problem_from_error, relevant_errors, user_location
from archbuilder.blueprint.yaml_dump import dump_yaml
from archbuilder.blueprint.yaml_source import parse_yaml, read_yaml_file

__all__ = [
    "MAX_EXTENDS_DEPTH",
    "Overrides",
    "Sources",
    "deep_merge",
    "describe_location",
    "dump_yaml",
    "load_blueprint",
    "load_blueprint_data",
    "load_with_sources",
    "problem_from_error",
    "relevant_errors",
    "user_location",
    "validate_blueprint",
]


Overrides = Mapping[str, Any] | Iterable[Override]


def load_blueprint(
    source: str | os.PathLike[str] | dict[str, Any] | Blueprint, overrides: Overrides | None = None
) -> Blueprint:
    """Load and validate a blueprint from a path, a zoo name, YAML text, a dict or a Blueprint.

    Args:
        source: what to load: a path to a YAML file, a zoo name (``"resnet50"``), YAML text, a dict
            or a :class:`Blueprint`. A path wins over the zoo entry of the same name.
        overrides: values to set by path before validation, e.g. ``{"head.classes": 10,
            "stages[1].repeat": 2}`` (applied after ``extends`` merging, in order; each replaces
            what is there), or :class:`~archbuilder.blueprint.overrides.Override` objects. A problem
            at an overridden value names the override. ``None`` sets nothing.

    Returns:
        The validated :class:`Blueprint`, as written (not resolved: see :func:`resolve`); a
        :class:`Blueprint` given without overrides is returned as is.

    Raises:
        BlueprintError: with every problem found, each with its path and position.
        TypeError: ``source`` is none of the accepted types.
    """
    return load_with_sources(source, overrides)[0]


def load_with_sources(
    source: str | os.PathLike[str] | dict[str, Any] | Blueprint, overrides: Overrides | None = None
) -> tuple[Blueprint, Sources | None]:
    """:func:`load_blueprint`, with the :class:`Sources` that position later problems (an analysis's) in the
    files and overrides the blueprint came from; ``None`` for a dict or a Blueprint given without overrides."""
    if isinstance(source, Blueprint) and not overrides:
        return source, None
    if isinstance(source, (dict, Blueprint)):
        data = source.to_dict() if isinstance(source, Blueprint) else source
        if not overrides:
            return validate_blueprint(data), None
        applied = as_overrides(overrides)
        sources = Sources([])
        sources.overrides = [(override.location, override.label) for override in applied]
        return validate_blueprint(apply_overrides(data, applied), sources), sources
    data, sources = load_blueprint_data(source, overrides)
    return validate_blueprint(data, sources), sources


def load_blueprint_data(source: str | os.PathLike[str], overrides: Overrides | None = None) -> tuple[Any, Sources]:
    """Parse YAML (text, a file or a zoo name: see :func:`~archbuilder.blueprint.catalog.find_source`), apply
    ``extends``, then ``overrides``; no validation yet."""
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "a blueprint source is a path, a zoo name, YAML text, a dict or a Blueprint. "
            f"Received: {type(source).__name__}"
        )
    located = catalog.find_source(source)
    if isinstance(located, str):
        data, source_map = parse_yaml(located)
        data, sources = extend(data, [source_map], base_dir=Path.cwd(), depth=0)
    else:
        data, source_map = read_yaml_file(located)
        data, sources = extend(data, [source_map], base_dir=located.parent, depth=0)
    if overrides:
        applied = as_overrides(overrides)
        data = apply_overrides(data, applied)
        sources.overrides = [(override.location, override.label) for override in applied]
    return data, sources


def validate_blueprint(data: Any, sources: Sources | None = None) -> Blueprint:
    """Validate plain data into a Blueprint, reporting every problem with its user path."""
    if not isinstance(data, dict):
        problem = Problem(f"a blueprint is a mapping with at least `name` and `input`. Received: {type(data).__name__}")
        raise BlueprintError([sources.attach(problem) if sources else problem])
    try:
        return Blueprint.model_validate(data)
    except ValidationError as exc:
        problems = [problem_from_error(error, Blueprint) for error in relevant_errors(exc.errors(), data, Blueprint)]
        if sources is not None:
            problems = [sources.attach(p, key=_points_at_key(p)) for p in problems]
            problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise BlueprintError(_unique(problems)) from None


def _points_at_key(problem: Problem) -> bool:
    return problem.message.startswith("unknown key")


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[Location, str]] = set()
    unique = []
    for problem in problems:
        if (problem.location, problem.message) not in seen:
            seen.add((problem.location, problem.message))
            unique.append(problem)
    return unique


def describe_location(location: Location) -> str:
    """Format a blueprint path for messages, e.g. ``('stages', 2, 'blocks', 0)`` -> ``stages[2].blocks[0]``."""
    return format_path(location)

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
    if isinstance(source, Blueprint) and not overrides:
        return source
    if isinstance(source, (dict, Blueprint)):
        data = source.to_dict() if isinstance(source, Blueprint) else source
        sources = Sources([])
        if overrides:
            applied = as_overrides(overrides)
            data = apply_overrides(data, applied)
            sources.overrides = [(override.location, override.label) for override in applied]
        return validate_blueprint(data, sources if overrides else None)
    data, sources = load_blueprint_data(source, overrides)
    return validate_blueprint(data, sources)


def load_blueprint_data(source: str | os.PathLike[str], overrides: Overrides | None = None) -> tuple[Any, Sources]:
    """Parse YAML (text, a file or a zoo name), apply ``extends``, then ``overrides``; no validation yet."""
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "a blueprint source is a path, a zoo name, YAML text, a dict or a Blueprint. "
            f"Received: {type(source).__name__}"
        )
    if isinstance(source, str) and _looks_like_yaml(source):
        data, source_map = parse_yaml(source)
        data, sources = extend(data, [source_map], base_dir=Path.cwd(), depth=0)
    else:
        path = _zoo_entry(source) or Path(source)
        data, source_map = read_yaml_file(path)
        data, sources = extend(data, [source_map], base_dir=path.parent, depth=0)
    if overrides:
        applied = as_overrides(overrides)
        data = apply_overrides(data, applied)
        sources.overrides = [(override.location, override.label) for override in applied]
    return data, sources


def _zoo_entry(source: str | os.PathLike[str]) -> Path | None:
    """The zoo file of a bare name that is not an existing path (``resnet50``), else ``None``.

    Raises:
        BlueprintError: a bare name that is neither a file nor a zoo name (with the zoo's did-you-mean).
    """
    text = os.fspath(source)
    if not isinstance(text, str) or "\0" in text:
        return None
    try:
        if Path(text).exists() or "/" in text or os.sep in text or Path(text).suffix not in ("", ".yaml", ".yml"):
            return None
    except (OSError, ValueError):
        return None
    try:
        return catalog.blueprint_path(text)
    except BlueprintError as error:
        message = error.problems[0].message.replace("unknown zoo blueprint", "no such file, and no zoo blueprint")
        raise BlueprintError.single(message, file=text) from None


def _looks_like_yaml(text: str) -> bool:
    if "\n" in text:
        return True
    try:
        return ":" in text and not Path(text).exists()
    except OSError:
        return True


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

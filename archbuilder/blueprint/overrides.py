"""Overrides: set values of a blueprint by path, as ``--set head.classes=10`` or ``overrides={...}``.

A path is written as problems name places: ``head.classes``, ``stages[1].repeat``,
``training.optimizer.learning_rate``, ``pattern.filters.start``. Overrides apply to the raw data,
after ``extends`` merging and before validation, in the order given; each value replaces what is
there (a mapping is not merged). A path may name a key its mapping does not have yet (a new field,
validated as usual); every step before the last must exist.

Problems at or below an overridden path are reported as coming from the override
(``--set head.classes=-1: head.classes: ...``), not from the file (see
:meth:`archbuilder.blueprint.extends.Sources.attach`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from archbuilder.blueprint.errors import BlueprintError, Location, Problem, did_you_mean, format_path, printable
from archbuilder.blueprint.yaml_source import parse_yaml

__all__ = ["Override", "apply_overrides", "as_overrides", "parse_assignment", "parse_path"]

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
#: What a path looks like, for messages.
PATH_EXAMPLES = "head.classes, stages[1].repeat, training.optimizer.learning_rate"


@dataclass(frozen=True)
class Override:
    """One value to set: where (``location``), what, and how the user wrote it (``label``)."""

    location: Location
    value: Any
    label: str

    @property
    def path(self) -> str:
        """The location as the user-facing path (``stages[1].repeat``)."""
        return format_path(self.location)


def parse_path(text: str) -> Location:
    """``'stages[1].repeat'`` -> ``('stages', 1, 'repeat')``.

    Raises:
        ValueError: ``text`` is not a path (the message says what one looks like).
    """
    location: list[str | int] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        valid = False
        if match is not None:
            key = match.group(1)
            # A key follows a dot, except the first; an index follows something.
            valid = (text[position] == ".") == bool(location) if key is not None else bool(location)
        if match is None or not valid:
            raise ValueError(
                f"'{printable(text)}' is not a path (at character {position + 1}); write it as errors "
                f"show it, e.g. {PATH_EXAMPLES}"
            )
        key, index = match.groups()
        location.append(key if key is not None else int(index))
        position = match.end()
    if not location:
        raise ValueError(f"the path is empty; write it as errors show it, e.g. {PATH_EXAMPLES}")
    return tuple(location)


def parse_assignment(text: str) -> Override:
    """``'head.classes=10'`` (the text of a ``--set``): the path, and the value parsed as YAML.

    The value is read like a blueprint file's values: ``10`` is an integer, ``1e-3`` a float, ``true``
    a boolean, ``null`` (or nothing) null, ``[64, 32]`` a list, ``{choice: [8, 16]}`` a mapping.

    Raises:
        ValueError: no ``=``, a malformed path, or a value that is not YAML.
    """
    path, equals, value_text = text.partition("=")
    if not equals:
        raise ValueError(f"expected PATH=VALUE (e.g. head.classes=10). Received: '{printable(text)}'")
    location = parse_path(path.strip())
    label = f"--set {printable(text)}"
    if value_text.strip() in ("", "~", "null", "Null", "NULL"):
        return Override(location, None, label)
    try:
        value, _ = parse_yaml(value_text, source="--set")
    except BlueprintError as error:
        reason = error.problems[0].message
        raise ValueError(
            f"{path.strip()}: the value '{printable(value_text)}' is not valid YAML ({reason}); "
            "quote it for the shell, e.g. --set 'head.fc=[64, 32]'"
        ) from None
    return Override(location, value, label)


def as_overrides(overrides: Mapping[str, Any] | Iterable[Override] | None) -> list[Override]:
    """Overrides from ``{path: value}`` (Python; values as they are) or parsed ``--set`` items.

    Raises:
        BlueprintError: a key that is not a path.
    """
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        parsed: list[Override] = []
        problems: list[Problem] = []
        for path, value in overrides.items():
            label = f"overrides[{path!r}]"
            if not isinstance(path, str):
                problems.append(
                    Problem(
                        f"an override's key is a path such as {PATH_EXAMPLES}. Received: {path!r}",
                        (),
                        "error",
                        "overrides",
                    )
                )
                continue
            try:
                parsed.append(Override(parse_path(path), value, label))
            except ValueError as error:
                problems.append(Problem(str(error), (), "error", label))
        if problems:
            raise BlueprintError(problems)
        return parsed
    return list(overrides)


def apply_overrides(data: Any, overrides: Iterable[Override]) -> Any:
    """``data`` with every override set, in order (``data`` itself is left alone).

    Raises:
        BlueprintError: one problem per override whose path does not exist, each naming the nearest
            existing parent.
    """
    result = copy.deepcopy(data)
    problems: list[Problem] = []
    for override in overrides:
        problem = _set(result, override)
        if problem is not None:
            problems.append(Problem(problem, override.location, "error", override.label))
    if problems:
        raise BlueprintError(problems)
    return result


def _set(data: Any, override: Override) -> str | None:
    """Set ``override`` in ``data`` in place; the reason when it cannot be set."""
    container = data
    location = override.location
    if not location:
        return f"the path is empty; write it as errors show it, e.g. {PATH_EXAMPLES}"
    for depth, step in enumerate(location):
        here = location[:depth]
        last = depth == len(location) - 1
        if isinstance(step, str):
            if not isinstance(container, dict):
                return _not_a(container, here, f"a mapping, so it has no key '{step}'")
            if last:
                container[step] = copy.deepcopy(override.value)
                return None
            if step not in container:
                missing = format_path(location[: depth + 1])
                hint = did_you_mean(step, [str(key) for key in container])
                return (
                    f"cannot set it: `{missing}` does not exist (nearest existing parent: {_parent(here)})."
                    f"{hint} Set `{missing}` as a whole instead"
                )
            container = container[step]
        else:
            if not isinstance(container, list):
                return _not_a(container, here, f"a list, so it has no item [{step}]")
            if step >= len(container):
                count = len(container)
                items = (
                    "no items"
                    if count == 0
                    else (
                        f"1 item ({format_path(here + (0,))})"
                        if count == 1
                        else f"{count} items ({format_path(here + (0,))} to {format_path(here + (count - 1,))})"
                    )
                )
                return (
                    f"cannot set it: `{format_path(here + (step,))}` does not exist: `{format_path(here)}` (the "
                    f"nearest existing parent) has {items}. Set `{format_path(here)}` to a whole list instead"
                )
            if last:
                container[step] = copy.deepcopy(override.value)
                return None
            container = container[step]
    return None  # pragma: no cover - the loop returns at its last step


def _parent(location: Location) -> str:
    return f"`{format_path(location)}`" if location else "the top level"


def _not_a(value: Any, location: Location, what: str) -> str:
    where = f"`{format_path(location)}`" if location else "the blueprint"
    return f"cannot set it: {where} is {_kind(value)}, not {what}"


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = printable(value)
        return f"a string ('{shown if len(shown) <= 40 else shown[:37] + '...'}')"
    return type(value).__name__

"""pydantic's validation errors as user-facing problems: user paths and the format's own wording.

A pydantic location names union members (``stages.0.block.bottleneck``); :func:`user_location`
walks the model classes to drop them (``stages[0].block``). :func:`problem_from_error` rewrites the
message in the format's words (``must be >= 1. Received: 0``, ``unknown key 'x'. Did you mean ...``),
and appends the location a model validator gives with :class:`FieldError`.
"""

from __future__ import annotations

import math
import reprlib
import typing
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from archbuilder.blueprint.errors import FieldError, Location, Problem, did_you_mean
from archbuilder.blueprint.fields import MAX_FLOAT
from archbuilder.blueprint.kinds import ALL_KINDS


def problem_from_error(error: ErrorDetails, root: type[BaseModel]) -> Problem:
    """Translate one pydantic error: strip union tags from its location, rewrite its message."""
    location, owner = user_location(tuple(error["loc"]), root)
    kind = error["type"]
    received = error.get("input")
    raised = (error.get("ctx") or {}).get("error")
    if kind == "value_error" and isinstance(raised, FieldError):  # a model's rule about one of its fields
        return Problem(str(raised), location + raised.location)
    if kind == "finite_number":
        return Problem(f"expected a finite number. Received: {_short(received)}", location)
    if kind == "float_type" and isinstance(received, int) and not isinstance(received, bool):  # beyond a float
        return Problem(
            f"expected a number between {-MAX_FLOAT:g} and {MAX_FLOAT:g} (Keras keeps it as a float32). "
            f"Received: {_short(received)}",
            location,
        )
    if kind == "int_parsing_size":
        return Problem(f"expected an integer; this one is far too large. Received: {_short(received)}", location)
    if kind in ("extra_forbidden", "invalid_key"):
        key = location[-1]
        allowed = sorted(owner.model_fields) if owner is not None else []
        hint = did_you_mean(key, allowed) if isinstance(key, str) else ""
        listing = f" Valid keys here: {', '.join(allowed)}." if allowed else ""
        if kind == "invalid_key":  # a number (or true/false) as a key: the path is the mapping's
            return Problem(
                f"unknown key {error.get('input', key)!r} (keys are names).{listing}", location[:-1], origin=location
            )
        return Problem(f"unknown key {quoted(str(key))}.{hint}{listing}", location)
    if location[:2] == ("input", "shape") and kind in ("missing", "too_long", "too_short"):
        return Problem(f"expected 3 values [height, width, channels]. Received: {_short(received)}", ("input", "shape"))
    if kind == "missing" and isinstance(location[-1], int):
        return Problem(
            f"expected more values: item {location[-1]} is missing. Received: {_short(received)}", location[:-1]
        )
    if kind == "missing":
        return Problem(f"missing required key '{location[-1]}'", location)
    if kind == "union_tag_invalid":
        tag = str(error["ctx"]["tag"])
        allowed = sorted(t.strip().strip("'") for t in error["ctx"]["expected_tags"].split(","))
        if tag in ALL_KINDS:
            return Problem(
                f"type '{tag}' is not allowed here; expected one of: {', '.join(allowed)}.", location + ("type",)
            )
        return Problem(
            f"unknown type {quoted(tag)}.{did_you_mean(tag, allowed)} Known types: {', '.join(allowed)}.",
            location + ("type",),
        )
    if kind == "union_tag_not_found":
        return Problem("missing `type`: say which kind this is (e.g. type: conv). See `archbuilder schema`.", location)
    if kind == "literal_error":
        expected = error["ctx"]["expected"]
        hint = did_you_mean(str(received), [s.strip("'") for s in expected.replace(" or ", ", ").split(", ")])
        return Problem(f"expected {expected}. Received: {received!r}.{hint}", location)
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next(iter(error["ctx"].values()))
        shown = f"{limit:g}" if isinstance(limit, float) else str(limit)
        return Problem(f"must be {bounds[kind]} {shown}. Received: {_short(received)}", location)
    if kind in ("too_long", "string_too_long"):
        limit = error["ctx"].get("max_length")
        unit = "characters" if kind == "string_too_long" else "items"
        return Problem(f"must have at most {limit} {unit}. Received: {_short(received)}", location)
    message = error["msg"].removeprefix("Value error, ")
    if kind.endswith("_type") or kind in {"too_short", "string_pattern_mismatch"}:
        message = f"{message}. Received: {_short(received)}"
    return Problem(message, location)


def _short(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 256:  # repr() refuses past 4,300 digits
        return f"an integer of {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    try:
        text = repr(value)
    except RecursionError:  # nested thousands of levels deep (from Python; YAML stops at 64)
        text = _SHALLOW.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_SHALLOW = reprlib.Repr()
_SHALLOW.maxlevel = 4


def quoted(text: str, limit: int = 60) -> str:
    """``'text'`` on one line: escaped (``'a\\nb'``) when it holds a newline or another unprintable
    character, shortened when long."""
    shown = f"'{text}'" if text.isprintable() else repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def user_location(loc: Location, root: type[BaseModel]) -> tuple[Location, type[BaseModel] | None]:
    """Drop the union tags pydantic puts in error locations, walking the model classes.

    Returns the user path and the model class that owns its last key (for did-you-mean).
    """
    path, owner, _ = _walk(loc, root)
    return path, owner


def _walk(loc: Location, root: type[BaseModel]) -> tuple[Location, type[BaseModel] | None, tuple[Location, str] | None]:
    """User path, owning model, and the first plain-union branch taken: (path of the union field, label)."""
    path: list[str | int] = []
    annotation: Any = root
    owner: type[BaseModel] | None = root
    branch: tuple[Location, str] | None = None
    for item in loc:
        before = annotation
        annotation, keep, parent = _step(annotation, item)
        if keep:
            path.append(item)
            owner = parent
        elif branch is None and isinstance(item, str) and not _unwrap(before)[1]:
            branch = (tuple(path), item)
    return tuple(path), owner, branch


def _fits(label: str, value: Any) -> bool:
    """Whether a union member (by pydantic's label) is the one the input was meant for."""
    if label.startswith(("list", "tuple")):
        return isinstance(value, list)
    if label in ("int", "constrained-int"):
        return isinstance(value, int) and not isinstance(value, bool)
    if label in ("float", "constrained-float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if label == "bool":
        return isinstance(value, bool)
    if label == "str" or label.startswith("literal["):
        return isinstance(value, str)
    return isinstance(value, dict) if label[:1].isupper() or label.startswith("tagged-union[") else True


def _expected(label: str) -> str:
    """A union member's pydantic label as the user would say it."""
    if label.startswith("literal["):
        return "one of " + ", ".join(label[len("literal[") : -1].split(","))
    if label.startswith("tagged-union["):
        return "a mapping with a `type`"
    return label.replace("constrained-", "")


def _value_at(data: Any, path: Location) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def relevant_errors(errors: list[ErrorDetails], data: Any, root: type[BaseModel]) -> list[ErrorDetails]:
    """Of the errors pydantic reports for each member of a plain union, keep those of the member the
    input's type was meant for (``fc: [0]`` is a list: no 'should be a valid integer')."""
    branches = [_walk(tuple(e["loc"]), root)[2] for e in errors]
    fitting = {b[0] for b in branches if b is not None and _fits(b[1], _value_at(data, b[0]))}
    kept: list[ErrorDetails] = []
    unmatched: dict[Location, list[str]] = {}
    for error, branch in zip(errors, branches):
        if branch is None or _fits(branch[1], _value_at(data, branch[0])):
            kept.append(error)
        elif branch[0] not in fitting:  # no member fits the input: one problem saying what would
            unmatched.setdefault(branch[0], []).append(branch[1])
    for path, labels in unmatched.items():
        value = _value_at(data, path)
        expected = " or ".join(dict.fromkeys(_expected(label) for label in labels))
        kept.append(
            {
                "type": "value_error",
                "loc": path,
                "input": value,
                "msg": f"expected {expected}. Received: {_short(value)}",
            }
        )
    return kept


def _step(annotation: Any, item: str | int) -> tuple[Any, bool, type[BaseModel] | None]:
    """One location item: (next annotation, whether it is part of the user path, owning model)."""
    annotation, discriminated = _unwrap(annotation)
    members = _union_members(annotation)
    if members:
        unwrapped = [_unwrap(m)[0] for m in members]
        models = [m for m in unwrapped if isinstance(m, type) and issubclass(m, BaseModel)]
        if isinstance(item, str):
            if discriminated:
                tagged = [
                    m
                    for m in models
                    if "type" in m.model_fields and item in get_args(m.model_fields["type"].annotation)
                ]
                if tagged:
                    return tagged[0], False, None
            owners = [m for m in models if item in m.model_fields]
            if not owners and item.startswith("tagged-union["):  # a discriminated union inside a plain one
                tagged_unions = [m for m in members if _unwrap(m)[1]]
                if tagged_unions:
                    return tagged_unions[0], False, None
            if not owners:  # a member label such as 'list[constrained-int]' or "literal['auto']"
                labelled = [m for m in unwrapped if item in (getattr(m, "__name__", None), _label(m))]
                return (labelled[0] if labelled else annotation), False, None
            annotation = owners[0]
        else:
            sequences = [m for m in unwrapped if get_origin(m) in (list, tuple)]
            if not sequences:
                return None, True, None
            annotation = sequences[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(item))
        if field is None:
            return None, True, annotation
        return _field_annotation(field), True, annotation
    origin = get_origin(annotation)
    if origin in (list, tuple) and get_args(annotation):
        return get_args(annotation)[0], True, None
    return None, True, None


def _field_annotation(field: FieldInfo) -> Any:
    if field.discriminator is not None:
        return Annotated[field.annotation, FieldInfo(discriminator=field.discriminator)]
    return field.annotation


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    discriminated = False
    while True:
        if get_origin(annotation) is Annotated:
            args = get_args(annotation)
            discriminated = discriminated or any(isinstance(m, FieldInfo) and m.discriminator for m in args[1:])
            annotation = args[0]
            continue
        members = _union_members(annotation)
        if members is not None and len(members) == 1:
            annotation = members[0]
            continue
        return annotation, discriminated


def _union_members(annotation: Any) -> list[Any] | None:
    if get_origin(annotation) in (Union, UnionType):
        return [m for m in get_args(annotation) if m is not NoneType]
    return None


def _label(annotation: Any) -> str:
    return typing._type_repr(annotation)

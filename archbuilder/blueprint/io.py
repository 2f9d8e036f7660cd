"""Loading and dumping blueprints, and turning validation errors into user-facing problems.

``load_blueprint`` accepts a path, YAML text, a dict or a :class:`Blueprint`. Every problem
names the blueprint path (``stages[2].block.filters``) and, from a file, ``file:line:column``.
A blueprint may start from another with ``extends: other.yaml`` (a path relative to the file):
mappings merge key by key, anything else is replaced.
"""

from __future__ import annotations

import os
import typing
from dataclasses import replace
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from archbuilder.blueprint.errors import BlueprintError, Location, Problem, did_you_mean, format_path
from archbuilder.blueprint.kinds import ALL_KINDS
from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.yaml_source import _EXPONENT_FLOAT, SourceMap, parse_yaml, read_yaml_file

MAX_EXTENDS_DEPTH = 8


class Sources:
    """Positions for a blueprint assembled from one or more files (``extends``)."""

    def __init__(self, maps: list[SourceMap], documents: list[Any] | None = None) -> None:
        self.maps = maps  # the most derived file first
        self.documents = documents if documents is not None else [None] * len(maps)  # each file's own data

    def attach(self, problem: Problem, *, key: bool = False) -> Problem:
        """Fill file, line and column from the file that defines the problem's (origin) location."""
        if not self.maps:
            return problem
        location = problem.origin if problem.origin is not None else problem.location
        probe = replace(problem, location=location)
        located = self.owner(location, key).attach(probe, key=key)
        return replace(problem, file=located.file, line=located.line, column=located.column)

    def owner(self, location: Location, key: bool = False) -> SourceMap:
        """The file whose text the merged value at ``location`` comes from.

        Walking down the path, the most derived file that has a value at each step wins outright when
        that value is a list or a scalar (``extends`` replaces those whole); mappings merge, so below
        them the file that defines the longest prefix of the location wrote it (the child on ties).
        """
        for cut in range(1, len(location) + 1):
            for source, document in zip(self.maps, self.documents):
                found, value = _lookup(document, location[:cut])
                if found:
                    if not isinstance(value, dict):
                        return source
                    break
        return max(self.maps, key=lambda source: _defined_prefix(source, location, key))


def _lookup(document: Any, location: Location) -> tuple[bool, Any]:
    """``(True, value)`` at ``location`` in plain parsed data, ``(False, None)`` when it has none there."""
    value = document
    for part in location:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return False, None
    return True, value


def _defined_prefix(source: SourceMap, location: Location, key: bool) -> int:
    table = source.key_positions if key else source.positions
    for cut in range(len(location), -1, -1):
        if location[:cut] in table or location[:cut] in source.positions:
            return cut
    return -1


def load_blueprint(source: str | os.PathLike[str] | dict[str, Any] | Blueprint) -> Blueprint:
    """Load and validate a blueprint from a path, YAML text, a dict or a Blueprint.

    Raises:
        BlueprintError: with every problem found, each with its path and position.
    """
    if isinstance(source, Blueprint):
        return source
    if isinstance(source, dict):
        return validate_blueprint(source)
    data, sources = load_blueprint_data(source)
    return validate_blueprint(data, sources)


def load_blueprint_data(source: str | os.PathLike[str]) -> tuple[Any, Sources]:
    """Parse YAML (text or file) and apply ``extends``; no validation yet."""
    if isinstance(source, str) and _looks_like_yaml(source):
        data, source_map = parse_yaml(source)
        return _extend(data, [source_map], base_dir=Path.cwd(), depth=0)
    path = Path(source)
    data, source_map = read_yaml_file(path)
    return _extend(data, [source_map], base_dir=path.parent, depth=0)


def _looks_like_yaml(text: str) -> bool:
    if "\n" in text:
        return True
    try:
        return ":" in text and not Path(text).exists()
    except OSError:
        return True


def _extend(data: Any, maps: list[SourceMap], base_dir: Path, depth: int) -> tuple[Any, Sources]:
    if not isinstance(data, dict) or "extends" not in data:
        return data, Sources(maps, [data])
    reference = data["extends"]
    if not isinstance(reference, str):
        raise BlueprintError([maps[0].attach(Problem(f"`extends` takes a file path. Received: {reference!r}", ("extends",)))])
    if depth >= MAX_EXTENDS_DEPTH:
        raise BlueprintError([maps[0].attach(Problem(f"`extends` chains deeper than {MAX_EXTENDS_DEPTH} files (a cycle?)", ("extends",)))])
    base_path = (base_dir / reference).resolve()
    if not base_path.suffix:
        base_path = base_path.with_suffix(".yaml")
    if not base_path.is_file():
        raise BlueprintError([maps[0].attach(Problem(
            f"`extends: {reference}` names no file (looked for {base_path}); give a path relative to this file",
            ("extends",),
        ))])
    base_data, base_map = read_yaml_file(base_path)
    merged_base, base_sources = _extend(base_data, [base_map], base_path.parent, depth + 1)
    child = {key: value for key, value in data.items() if key != "extends"}
    return deep_merge(merged_base, child), Sources(maps + base_sources.maps, [child] + base_sources.documents)


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key (recursively); anything else in ``override`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def validate_blueprint(data: Any, sources: Sources | None = None) -> Blueprint:
    """Validate plain data into a Blueprint, reporting every problem with its user path."""
    if not isinstance(data, dict):
        problem = Problem(f"a blueprint is a mapping with at least `name` and `input`. Received: {type(data).__name__}")
        raise BlueprintError([sources.attach(problem) if sources else problem])
    try:
        return Blueprint.model_validate(data)
    except ValidationError as exc:
        problems = [problem_from_error(error) for error in relevant_errors(exc.errors(), data)]
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


# -- pydantic error -> Problem -------------------------------------------------------------------

def problem_from_error(error: dict[str, Any], root: type[BaseModel] = Blueprint) -> Problem:
    """Translate one pydantic error: strip union tags from its location, rewrite its message."""
    location, owner = user_location(tuple(error["loc"]), root)
    kind = error["type"]
    received = error.get("input")
    if kind == "extra_forbidden":
        key = str(location[-1])
        allowed = sorted(owner.model_fields) if owner is not None else []
        hint = did_you_mean(key, allowed)
        listing = f" Valid keys here: {', '.join(allowed)}." if allowed else ""
        return Problem(f"unknown key '{key}'.{hint}{listing}", location)
    if location[:2] == ("input", "shape") and kind in ("missing", "too_long", "too_short"):
        return Problem(f"expected 3 values [height, width, channels]. Received: {_short(received)}", ("input", "shape"))
    if kind == "missing" and isinstance(location[-1], int):
        return Problem(f"expected more values: item {location[-1]} is missing. Received: {_short(received)}",
                       location[:-1])
    if kind == "missing":
        return Problem(f"missing required key '{location[-1]}'", location)
    if kind == "union_tag_invalid":
        tag = str(error["ctx"]["tag"])
        allowed = sorted(t.strip().strip("'") for t in error["ctx"]["expected_tags"].split(","))
        if tag in ALL_KINDS:
            return Problem(f"type '{tag}' is not allowed here; expected one of: {', '.join(allowed)}.",
                           location + ("type",))
        return Problem(
            f"unknown type '{tag}'.{did_you_mean(tag, allowed)} Known types: {', '.join(allowed)}.",
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
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def user_location(loc: Location, root: type[BaseModel] = Blueprint) -> tuple[Location, type[BaseModel] | None]:
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
        return "one of " + ", ".join(label[len("literal["):-1].split(","))
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


def relevant_errors(errors: list[dict[str, Any]], data: Any, root: type[BaseModel] = Blueprint) -> list[dict[str, Any]]:
    """Of the errors pydantic reports for each member of a plain union, keep those of the member the
    input's type was meant for (``fc: [0]`` is a list: no 'should be a valid integer')."""
    branches = [_walk(tuple(e["loc"]), root)[2] for e in errors]
    fitting = {b[0] for b in branches if b is not None and _fits(b[1], _value_at(data, b[0]))}
    kept: list[dict[str, Any]] = []
    unmatched: dict[Location, list[str]] = {}
    for error, branch in zip(errors, branches):
        if branch is None or _fits(branch[1], _value_at(data, branch[0])):
            kept.append(error)
        elif branch[0] not in fitting:  # no member fits the input: one problem saying what would
            unmatched.setdefault(branch[0], []).append(branch[1])
    for path, labels in unmatched.items():
        value = _value_at(data, path)
        expected = " or ".join(dict.fromkeys(_expected(label) for label in labels))
        kept.append({"type": "value_error", "loc": path, "input": value,
                     "msg": f"expected {expected}. Received: {_short(value)}"})
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
                tagged = [m for m in models if "type" in m.model_fields and item in get_args(m.model_fields["type"].annotation)]
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
    return typing._type_repr(annotation)  # type: ignore[attr-defined]


# -- dumping -------------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    pass


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(item, (dict, list)) for item in data) and len(data) <= 16
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = len(data) <= 6 and all(not isinstance(v, (dict, list)) or (isinstance(v, list) and len(v) <= 4 and
                                                                        all(not isinstance(x, (dict, list)) for x in v))
                                  for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


# Strings like '1e-3' must be quoted: the loader reads them as floats (YAML 1.2).
_Dumper.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def dump_yaml(data: Any) -> str:
    """YAML with short items on one line (``{type: conv, filters: 64}``), keys in field order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)


def describe_location(location: Location) -> str:
    return format_path(location)

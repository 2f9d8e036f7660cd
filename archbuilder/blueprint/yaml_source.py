"""Read blueprint YAML safely and remember where every value came from.

PyYAML composes the node tree (with :class:`yaml.SafeLoader` rules); this module then builds plain
Python objects itself so it can

* record the 1-based ``(line, column)`` of every value and of every mapping key (:class:`SourceMap`),
* reject duplicate keys, unknown tags and non-scalar keys, reporting every such problem at once,
* bound the input: file size, node count after alias expansion (billion laughs) and nesting depth.

Only ``str``, ``int``, ``float``, ``bool``, ``None``, ``list`` and ``dict`` come out. Dates such as
``2024-01-31`` stay strings, and ``1e-3``-style numbers (no dot, or unsigned exponent) are floats,
unlike plain PyYAML.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, TypeVar

import yaml
from yaml.events import Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from archbuilder.blueprint.errors import BlueprintError, Location, Problem

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64

_TAG_PREFIX = "tag:yaml.org,2002:"
_STR = _TAG_PREFIX + "str"
_SEQ = _TAG_PREFIX + "seq"
_MAP = _TAG_PREFIX + "map"
_MERGE = _TAG_PREFIX + "merge"
_EMPTY = "empty document; a blueprint needs at least `name` and `input`"
_SUPPORTED = "a blueprint holds only strings, numbers, booleans, null, lists and mappings"

Position = tuple[int, int]
Pair = tuple[Node, Node]
_N = TypeVar("_N", bound=Node)

_SCALAR_CONSTRUCTORS: dict[str, Callable[[yaml.SafeLoader, ScalarNode], object]] = {
    _STR: yaml.SafeLoader.construct_yaml_str,
    _TAG_PREFIX + "null": yaml.SafeLoader.construct_yaml_null,
    _TAG_PREFIX + "bool": yaml.SafeLoader.construct_yaml_bool,
    _TAG_PREFIX + "int": yaml.SafeLoader.construct_yaml_int,
    _TAG_PREFIX + "float": yaml.SafeLoader.construct_yaml_float,
    _MERGE: yaml.SafeLoader.construct_yaml_str,  # a `<<` that is not a key is just text
}
#: Longer integer literals are refused while reading (Python cannot even print one past 4,300 digits).
MAX_INT_DIGITS = 100
_KIND_NAMES = {ScalarNode: "a scalar", SequenceNode: "a list", MappingNode: "a mapping"}

# `1e-3`, `5E4`, `1.5e3`: YAML 1.2 floats that PyYAML's YAML 1.1 rules read as strings.
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
# Implicit tags that would produce something other than plain data (dates) or cannot be built at all.
_DROPPED_IMPLICIT = {
    _TAG_PREFIX + "timestamp",
    _TAG_PREFIX + "value",
    _TAG_PREFIX + "yaml",
}


class _BoundError(Exception):
    """A size bound was hit; carries the finished problem so callers can raise it immediately."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _implicit_resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [(tag, regexp) for tag, regexp in entries if tag not in _DROPPED_IMPLICIT]
        if kept:
            table[first] = kept
    for first in "-+0123456789.":
        table.setdefault(first, []).append((_TAG_PREFIX + "float", _EXPONENT_FLOAT))
    return table


class _Loader(yaml.SafeLoader):
    """SafeLoader that bounds nesting while composing and remembers anchor names."""

    yaml_implicit_resolvers = _implicit_resolvers()

    def __init__(self, stream: str, source: str) -> None:
        super().__init__(stream)
        self.source = source
        self.depth = 0
        self.anchor_names: dict[int, str] = {}

    if TYPE_CHECKING:  # types-PyYAML leaves these two parser methods unannotated

        def peek_event(self) -> Event: ...
        def get_event(self) -> Event: ...

    # PyYAML passes `anchor` as the anchor's name (str | None); types-PyYAML declares a dict, so the
    # overrides take Any to stay compatible with that declaration.
    def compose_scalar_node(self, anchor: Any) -> ScalarNode:
        return self._remember(anchor, super().compose_scalar_node(anchor))

    def compose_sequence_node(self, anchor: Any) -> SequenceNode:
        self._enter()
        try:
            node = super().compose_sequence_node(anchor)
        finally:
            self.depth -= 1
        return self._remember(anchor, node)

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        self._enter()
        try:
            node = super().compose_mapping_node(anchor)
        finally:
            self.depth -= 1
        return self._remember(anchor, node)

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            mark = self.peek_event().start_mark
            position = (mark.line + 1, mark.column + 1) if mark is not None else None
            raise _BoundError(_problem(_depth_message(), (), self.source, position))

    def _remember(self, anchor: str | None, node: _N) -> _N:
        if anchor is not None:
            self.anchor_names[id(node)] = anchor
        return node


@dataclass(frozen=True)
class SourceMap:
    """Where each value of a parsed document came from.

    Attributes:
        file: The source name, e.g. ``blueprints/vgg16.yaml`` or ``<string>``.
        positions: Location -> 1-based ``(line, column)`` of the value; ``()`` is the root.
        key_positions: Location -> 1-based ``(line, column)`` of the mapping key naming that value.

    Values reached through an alias (``*name``) or a merge key (``<<``) are positioned where the
    anchored text is written, since that is where a user would edit them.
    """

    file: str
    positions: dict[Location, Position]
    key_positions: dict[Location, Position]

    def locate(self, location: Location, *, key: bool = False) -> Position | None:
        """Position of ``location``, or of its nearest ancestor that has one.

        Args:
            location: A path such as ``('stages', 2, 'repeat')``.
            key: Prefer the position of the key token (for "unknown key" errors) at each level.

        Returns:
            ``(line, column)``, 1-based, or ``None`` when nothing on the path is known.
        """
        for size in range(len(location), -1, -1):
            prefix = tuple(location[:size])
            if key and prefix in self.key_positions:
                return self.key_positions[prefix]
            if prefix in self.positions:
                return self.positions[prefix]
        return None

    def attach(self, problem: Problem, *, key: bool = False) -> Problem:
        """Return ``problem`` with ``file`` set and line/column filled from :meth:`locate`.

        A problem that already has a line keeps its position (only a missing file is filled in).
        """
        if problem.line is not None:
            return problem.with_source(problem.file or self.file, problem.line, problem.column)
        found = self.locate(problem.location, key=key)
        line, column = found if found is not None else (None, None)
        return problem.with_source(self.file, line, column)


def parse_yaml(text: str | bytes, source: str = "<string>") -> tuple[object, SourceMap]:
    """Parse one YAML document safely into plain Python plus the positions of its values.

    Args:
        text: The YAML text; bytes must be UTF-8 (a UTF-8 byte order mark is allowed).
        source: Name used in problems and :attr:`SourceMap.file`.

    Returns:
        ``(data, source_map)`` where data holds only dict/list/str/int/float/bool/None.

    Raises:
        BlueprintError: With every problem found (syntax, duplicate keys, tags, bounds, ...).
    """
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "replace"))
    if size > MAX_FILE_BYTES:
        raise BlueprintError.single(_size_message("input", size), file=source)
    decoded = _decode(text, source) if isinstance(text, bytes) else text
    try:
        return _parse_text(decoded, source)
    except _BoundError as exc:
        raise BlueprintError([exc.problem]) from None
    except RecursionError:
        raise BlueprintError.single(_depth_message(), file=source) from None


def read_yaml_file(path: str | os.PathLike[str]) -> tuple[object, SourceMap]:
    """Read and parse a blueprint file; problems name the path as given.

    The size is checked before the file is read, and at most ``MAX_FILE_BYTES + 1`` bytes are read.

    Raises:
        BlueprintError: The file is missing, not a regular file, unreadable, too big, not UTF-8,
            or its YAML is invalid.
    """
    source = os.fspath(path)
    try:
        info = os.stat(source)
        if not stat.S_ISREG(info.st_mode):
            raise BlueprintError.single("not a file; expected a YAML blueprint file", file=source)
        if info.st_size > MAX_FILE_BYTES:
            raise BlueprintError.single(_size_message("file", info.st_size), file=source)
        with open(source, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except BlueprintError:
        raise
    except FileNotFoundError:
        raise BlueprintError.single("file not found", file=source) from None
    except ValueError:  # os.stat: "embedded null byte"
        raise BlueprintError.single(
            "the path holds a NUL byte (\\0), which no file name can contain", file=repr(source)
        ) from None
    except OSError as exc:
        raise BlueprintError.single(f"cannot read the file: {exc.strerror or exc}", file=source) from None
    if len(data) > MAX_FILE_BYTES:
        message = f"file is more than {MAX_FILE_BYTES:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes"
        raise BlueprintError.single(message, file=source)
    return parse_yaml(data, source)


# --- parsing -------------------------------------------------------------------------------------


def _parse_text(text: str, source: str) -> tuple[object, SourceMap]:
    try:
        loader = _Loader(text, source)
    except ReaderError as exc:
        raise _reader_error(exc, text, source) from None
    try:
        root = _compose_single(loader, source)
        _check_expansion(root, loader, source)
        builder = _Builder(loader, source)
        data = builder.build(root, (), 0)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, source) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise BlueprintError(sorted(builder.problems, key=lambda p: (p.line or 0, p.column or 0)))
    if data is None:
        raise BlueprintError.single(
            _EMPTY,
            file=source,
            line=root.start_mark.line + 1,
            column=root.start_mark.column + 1,
        )
    return data, SourceMap(source, builder.positions, builder.key_positions)


def _compose_single(loader: _Loader, source: str) -> Node:
    """The root node of the only document; errors for no document or several."""
    loader.get_event()  # StreamStart
    if loader.check_event(yaml.StreamEndEvent):
        raise BlueprintError.single(_EMPTY, file=source)
    root = loader.compose_document()
    if root is None:  # PyYAML always composes a node here (an empty document is a null scalar)
        raise BlueprintError.single(_EMPTY, file=source)
    if not loader.check_event(yaml.StreamEndEvent):
        mark = loader.get_event().start_mark
        assert mark is not None  # the parser marks every event it makes
        message = (
            f"more than one YAML document (the second starts at line {mark.line + 1}, "
            f"column {mark.column + 1}); a blueprint file holds exactly one document"
        )
        raise BlueprintError.single(message, file=source, line=mark.line + 1, column=mark.column + 1)
    return root


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value
    elif isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            yield key_node
            yield value_node


def _check_expansion(root: Node, loader: _Loader, source: str) -> None:
    """Count nodes with every alias expanded (without expanding them) and reject cycles.

    Iterative, memoised by node identity, so a billion-laughs document costs only its own size.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            open_nodes.discard(id(node))
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[id(node)] = min(total, MAX_NODES + 1)
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise _BoundError(_recursive_alias(node, loader, source))
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    if sizes[id(root)] > MAX_NODES:
        message = (
            f"the document expands to more than {MAX_NODES:,} values (each use of an alias "
            f"counts its whole anchored value); the limit is {MAX_NODES:,}"
        )
        raise _BoundError(Problem(message, (), "error", source))


def _recursive_alias(node: Node, loader: _Loader, source: str) -> Problem:
    name = loader.anchor_names.get(id(node), "?")
    message = f"recursive alias: the value anchored as '&{name}' contains '*{name}' itself"
    return _problem(message, (), source, _position(node))


class _Builder:
    """Walks a composed node tree into plain Python, collecting positions and problems."""

    def __init__(self, loader: _Loader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.positions: dict[Location, Position] = {}
        self.key_positions: dict[Location, Position] = {}
        self.problems: list[Problem] = []
        self._reported: set[tuple[int, str]] = set()

    def report(self, node: Node, path: Location, message: str) -> None:
        """Record a problem once per node (aliases revisit the same nodes)."""
        if (id(node), message) in self._reported:
            return
        self._reported.add((id(node), message))
        self.problems.append(_problem(message, path, self.source, _position(node)))

    def build(self, node: Node, path: Location, depth: int) -> object:
        self.positions[path] = _position(node)
        if isinstance(node, ScalarNode):
            value = self.scalar(node, path)
            return None if value is _INVALID else value
        if depth + 1 > MAX_DEPTH:
            raise _BoundError(_problem(_depth_message(), path, self.source, _position(node)))
        if not self.check_tag(node, path):
            return None
        if isinstance(node, SequenceNode):
            return [self.build(child, (*path, index), depth + 1) for index, child in enumerate(node.value)]
        assert isinstance(node, MappingNode)  # the composer makes scalars, sequences and mappings only
        return self.mapping(node, path, depth + 1)

    def check_tag(self, node: Node, path: Location) -> bool:
        """True when ``node``'s tag is plain data of the node's kind; reports otherwise."""
        collection_tags: dict[type[Node], str] = {SequenceNode: _SEQ, MappingNode: _MAP}
        expected = collection_tags.get(type(node))
        if node.tag == expected or (expected is None and node.tag in _SCALAR_CONSTRUCTORS):
            return True
        if node.tag in _SCALAR_CONSTRUCTORS or node.tag in (_SEQ, _MAP):
            self.report(
                node,
                path,
                f"tag '{_short_tag(node.tag)}' cannot be used on {_KIND_NAMES[type(node)]}",
            )
        else:
            self.report(node, path, f"unsupported tag '{_short_tag(node.tag)}'; {_SUPPORTED}")
        return False

    def scalar(self, node: ScalarNode, path: Location) -> object:
        """The scalar's value, or ``_INVALID`` after reporting a bad tag or unreadable text."""
        if not self.check_tag(node, path):
            return _INVALID
        if node.tag == _TAG_PREFIX + "int" and len(node.value) > MAX_INT_DIGITS:
            self.report(
                node,
                path,
                f"an integer of {len(node.value):,} characters; integers in a blueprint have at "
                f"most {MAX_INT_DIGITS} digits",
            )
            return _INVALID
        try:
            return _SCALAR_CONSTRUCTORS[node.tag](self.loader, node)
        except (ValueError, KeyError, IndexError):
            self.report(node, path, f"cannot read {node.value!r} as '{_short_tag(node.tag)}'")
            return _INVALID

    def mapping(self, node: MappingNode, path: Location, depth: int) -> dict[object, object]:
        entries: dict[str | int, Pair] = {}
        for key, pair in self.flatten(node, path):
            entries[key] = pair  # later entries win: explicit keys override merged ones
        result: dict[object, object] = {}
        for key, (key_node, value_node) in entries.items():
            child = (*path, key)
            self.key_positions[child] = _position(key_node)
            result[key] = self.build(value_node, child, depth)
        return result

    def flatten(self, node: MappingNode, path: Location) -> list[tuple[str | int, Pair]]:
        """``(key, pair)`` entries with merged ones first, like PyYAML's ``flatten_mapping``.

        Duplicate explicit keys are reported here; a key repeated by a merge is not a duplicate.
        """
        if not self.check_tag(node, path):
            return []
        merged: list[tuple[str | int, Pair]] = []
        own: list[tuple[str | int, Pair]] = []
        first_seen: dict[str | int, Node] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                merged.extend(self.merge_source(value_node, path))
                continue
            key = self.key(key_node, path)
            if key is _INVALID:
                continue
            if key in first_seen:
                self.report_duplicate(key, first_seen[key], key_node, path)
                continue
            first_seen[key] = key_node
            own.append((key, (key_node, value_node)))
        return merged + own

    def merge_source(self, node: Node, path: Location) -> list[tuple[str | int, Pair]]:
        """Entries contributed by ``<<: value``; in a list, earlier mappings take precedence."""
        if isinstance(node, MappingNode):
            return self.flatten(node, path)
        if isinstance(node, SequenceNode) and self.check_tag(node, path):
            parts: list[list[tuple[str | int, Pair]]] = []
            for item in node.value:
                if isinstance(item, MappingNode):
                    parts.append(self.flatten(item, path))
                else:
                    self.report(
                        item,
                        path,
                        "a merge key '<<' takes a mapping or a list of mappings",
                    )
            return [entry for part in reversed(parts) for entry in part]
        self.report(node, path, "a merge key '<<' takes a mapping or a list of mappings")
        return []

    def key(self, node: Node, path: Location) -> str | int | _Invalid:
        """The Python key for ``node``, or ``_INVALID`` after reporting why it cannot be one."""
        if not isinstance(node, ScalarNode):
            self.report(
                node,
                path,
                f"a mapping key must be a string or an integer, not {_KIND_NAMES[type(node)]}",
            )
            return _INVALID
        value = self.scalar(node, path)
        if isinstance(value, (_Invalid, str, int)):
            return value
        kind = "null" if value is None else f"a {type(value).__name__}"
        self.report(node, path, f"a mapping key must be a string or an integer, not {kind}")
        return _INVALID

    def report_duplicate(self, key: str | int, first: Node, again: Node, path: Location) -> None:
        line, column = _position(first)
        message = (
            f"duplicate key {key!r} (first defined at line {line}, column {column}); "
            "a YAML mapping may define each key once"
        )
        self.report(again, (*path, key), message)


class _Invalid(Enum):
    """The type of ``_INVALID``: a value that could not be read (and was reported)."""

    INVALID = "invalid"


_INVALID: Final = _Invalid.INVALID


# --- helpers -------------------------------------------------------------------------------------


def _position(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _problem(message: str, location: Location, source: str, position: Position | None) -> Problem:
    line, column = position if position is not None else (None, None)
    return Problem(message, location, "error", source, line, column)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


def _depth_message() -> str:
    return f"values are nested more than {MAX_DEPTH} levels deep (lists and mappings); the limit is {MAX_DEPTH}"


def _size_message(what: str, size: int) -> str:
    return f"{what} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes"


def _line_column(text: str | bytes, offset: int) -> Position:
    if isinstance(text, str):
        breaks, last_break = text.count("\n", 0, offset), text.rfind("\n", 0, offset)
    else:
        breaks, last_break = text.count(b"\n", 0, offset), text.rfind(b"\n", 0, offset)
    line = breaks + 1
    start = last_break + 1
    return line, offset - start + 1


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _line_column(data, exc.start)
        message = f"not valid UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        raise BlueprintError.single(message, file=source, line=line, column=column) from None


def _reader_error(exc: ReaderError, text: str, source: str) -> BlueprintError:
    line, column = _line_column(text, exc.position)
    message = f"invalid YAML: character {exc.character:#06x} is not allowed ({exc.reason})"
    return BlueprintError.single(message, file=source, line=line, column=column)


def _syntax_error(exc: yaml.MarkedYAMLError, source: str) -> BlueprintError:
    """A PyYAML scanner/parser/composer error as a positioned problem."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    message = f"invalid YAML: {problem}"
    if exc.problem and exc.context:
        context = exc.context
        if exc.context_mark is not None:
            context += f" at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        message = f"invalid YAML: {context}: {problem}"
    if mark is None:
        return BlueprintError.single(message, file=source)
    return BlueprintError.single(message, file=source, line=mark.line + 1, column=mark.column + 1)

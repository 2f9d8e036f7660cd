"""``extends: other.yaml`` or ``extends: resnet50``: a blueprint that starts from another file.

The reference is a path relative to the file (``.yaml`` is added when it has no suffix) or the name
of a zoo blueprint; a file at that path wins over the zoo entry of the same name. Mappings merge key
by key, anything else is replaced. :class:`Sources` remembers which file wrote each merged value (and
which values a ``--set`` override wrote), so a problem is positioned where the user has to edit. A
reference that cannot be used (no such file or zoo name, a folder, an unreadable file, a name the
operating system rejects) is reported at the ``extends`` key that names it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from archbuilder.artifacts import MAX_NAME_BYTES
from archbuilder.blueprint import catalog
from archbuilder.blueprint.errors import BlueprintError, Location, Problem, did_you_mean
from archbuilder.blueprint.yaml_source import SourceMap, read_yaml_file

MAX_EXTENDS_DEPTH = 8


class Sources:
    """Positions for a blueprint assembled from one or more files (``extends``)."""

    def __init__(self, maps: list[SourceMap], documents: list[Any] | None = None) -> None:
        self.maps = maps  # the most derived file first
        self.documents = documents if documents is not None else [None] * len(maps)  # each file's own data
        #: ``(location, label)`` of each override applied after merging (``--set head.classes=10``), in order.
        self.overrides: list[tuple[Location, str]] = []

    def attach(self, problem: Problem, *, key: bool = False) -> Problem:
        """Fill file, line and column from the file that defines the problem's (origin) location.

        A problem at or below a value that an override set names the override instead of a file
        (``--set head.classes=-1: head.classes: ...``); the last override there wins.
        """
        location = problem.origin if problem.origin is not None else problem.location
        label = self.override_at(location)
        if label is not None:
            return problem.with_source(label, None, None)
        if not self.maps:
            return problem
        probe = replace(problem, location=location)
        located = self.owner(location, key).attach(probe, key=key)
        return replace(problem, file=located.file, line=located.line, column=located.column)

    def override_at(self, location: Location) -> str | None:
        """The label of the last override that set ``location`` or a value above it, else ``None``."""
        for where, label in reversed(self.overrides):
            if tuple(location[: len(where)]) == where:
                return label
        return None

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


def shown_path(path: Path) -> Path:
    """``path`` as messages name it: relative to the working folder when it lies inside it, else as it is."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _existing_file(name: str) -> Path | None:
    """The resolved file a source map names (``None`` for YAML text, which has no file)."""
    try:
        path = Path(name)
        return path.resolve() if path.is_file() else None
    except (OSError, ValueError, RuntimeError):
        return None


#: The longest path the usual file systems accept, in bytes (one component: MAX_NAME_BYTES).
MAX_PATH_BYTES = 4096


def extend(
    data: Any, maps: list[SourceMap], base_dir: Path, depth: int, chain: tuple[Path, ...] = ()
) -> tuple[Any, Sources]:
    """Apply ``data``'s ``extends`` (recursively): the merged data and where each part came from. ``chain``: the
    files that extend this one, so that a cycle is named as one."""
    if not isinstance(data, dict) or "extends" not in data:
        return data, Sources(maps, [data])
    reference = data["extends"]
    here = _existing_file(maps[0].file)
    chain = (*chain, here) if here is not None else chain

    def fail(message: str) -> BlueprintError:
        return BlueprintError([maps[0].attach(Problem(message, ("extends",)))])

    if not isinstance(reference, str):
        raise fail(f"`extends` takes a file path or a zoo name. Received: {reference!r}")
    base_path, reason = _target(reference, base_dir)
    if base_path is None:
        raise fail(reason)
    if base_path in chain:
        cycle = [*chain[chain.index(base_path) :], base_path]
        raise fail(
            f"`extends` makes a cycle: {' -> '.join(_shown(str(shown_path(path))) for path in cycle)}; "
            "remove one of these `extends`"
        )
    if depth >= MAX_EXTENDS_DEPTH:
        raise fail(f"`extends` chains deeper than {MAX_EXTENDS_DEPTH} files")
    try:
        base_data, base_map = read_yaml_file(shown_path(base_path))
    except BlueprintError as error:
        # A problem inside the base file stays there; one with the file itself is the `extends` line's.
        unplaced = [problem for problem in error.problems if problem.line is None]
        if unplaced:
            raise fail(
                f"`extends: {_shown(reference)}` cannot be used: {unplaced[0].message} ({_shown(str(base_path), 200)})"
            ) from None
        raise
    merged_base, base_sources = extend(base_data, [base_map], base_path.parent, depth + 1, chain)
    child = {key: value for key, value in data.items() if key != "extends"}
    return deep_merge(merged_base, child), Sources(maps + base_sources.maps, [child] + base_sources.documents)


def _target(reference: str, base_dir: Path) -> tuple[Path | None, str]:
    """The file ``extends: reference`` names (``.yaml`` added when it has no suffix), or why there is none."""
    if not reference.strip():
        return None, "`extends` is empty; give the path of a blueprint file, relative to this file, or a zoo name"
    if "\0" in reference:
        return None, f"`extends` holds a NUL byte (\\0), which no file name can contain. Received: {_shown(reference)}"
    names = [name for name in reference.replace("\\", "/").split("/") if _size(name) > MAX_NAME_BYTES]
    if names:
        return None, (
            f"`extends` names a file or folder of {_size(names[0]):,} bytes ({_shown(names[0], 24)}); "
            f"file names have at most {MAX_NAME_BYTES} bytes"
        )
    if _size(reference) > MAX_PATH_BYTES:
        return None, f"`extends` is a path of {_size(reference):,} bytes; paths have at most {MAX_PATH_BYTES:,} bytes"
    try:
        path = (base_dir / reference).resolve()
        candidate = path.with_suffix(".yaml") if path.name and not path.suffix else path
        if candidate.is_file():
            return candidate, ""
        if path.is_dir() or candidate.is_dir():
            folder = path if path.is_dir() else candidate
            return None, (
                f"`extends: {_shown(reference)}` names a folder ({_shown(str(folder))}), not a file; "
                "give the path of a blueprint file"
            )
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: a symlink loop (pathlib)
        reason = getattr(exc, "strerror", None) or str(exc)
        return None, f"`extends: {_shown(reference)}` cannot be used: {reason}"
    looked_for = f"`extends: {_shown(reference)}` names no file (looked for {_shown(str(candidate), 200)})"
    if not _is_bare_name(reference):
        return None, f"{looked_for}; give a path relative to this file"
    try:
        return catalog.blueprint_path(reference), ""
    except BlueprintError:
        hint = did_you_mean(Path(reference).stem if Path(reference).suffix else reference, catalog.list_blueprints())
        return None, (
            f"{looked_for} and no zoo blueprint has that name.{hint} Give a path relative to this file, "
            "or a zoo name (`archbuilder zoo list`)"
        )


def _is_bare_name(reference: str) -> bool:
    """A reference that could be a zoo name: no folder, no suffix other than .yaml/.yml."""
    return "/" not in reference and "\\" not in reference and Path(reference).suffix in ("", ".yaml", ".yml")


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def _shown(text: str, limit: int = 80) -> str:
    """``text`` as written when it prints on one line, else quoted with escapes; long ones shortened."""
    shown = text if text.isprintable() else repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key (recursively); anything else in ``override`` replaces ``base``."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override

"""Where the zoo's blueprint files are, and which names they answer to (no YAML is read here).

It lives in the blueprint package because the loader needs it (a zoo name works wherever a path
does, ``extends: resnet50`` included), while :mod:`archbuilder.zoo`, which loads the files, needs
the loader: this module is the part of the zoo both can import without a loop.
"""

from __future__ import annotations

import fnmatch
import os
from importlib import resources
from pathlib import Path

from archbuilder.artifacts import os_error_reason
from archbuilder.blueprint.errors import BlueprintError, did_you_mean, display_name

SUFFIXES = (".yaml", ".yml")


def zoo_dir() -> Path:
    """The folder holding the zoo's YAML files (package data of ``archbuilder.zoo``).

    Returns:
        The folder's path (``archbuilder/zoo/blueprints`` of the installed package).
    """
    folder = resources.files("archbuilder") / "zoo" / "blueprints"
    # A regular or editable install gives a real Path; anything else is read through its str.
    return folder if isinstance(folder, Path) else Path(str(folder))


def _entries() -> dict[str, Path]:
    folder = zoo_dir()
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in folder.iterdir() if path.suffix in SUFFIXES and path.is_file()}


def list_blueprints(pattern: str = "*") -> list[str]:
    """Sorted names of the zoo's blueprints matching a shell-style ``pattern`` (``'*resnet*'``).

    Args:
        pattern: an :mod:`fnmatch` pattern matched against the names (without ``.yaml``), case
            sensitive; the default ``"*"`` lists every blueprint.

    Returns:
        The matching names, sorted (empty when none matches or the zoo folder is missing).
    """
    return sorted(name for name in _entries() if fnmatch.fnmatchcase(name, pattern))


def blueprint_path(name: str) -> Path:
    """The file of the zoo blueprint ``name`` (``'vgg16'`` or ``'vgg16.yaml'``).

    Args:
        name: a zoo name, with or without ``.yaml`` / ``.yml``; existing files are not looked at
            (see :func:`find_source`).

    Returns:
        The path of the blueprint's YAML file in the zoo folder.

    Raises:
        BlueprintError: no zoo blueprint has that name (with a did-you-mean).
    """
    entries = _entries()
    stem = _strip_suffix(name)
    if stem in entries:
        return entries[stem]
    hint = did_you_mean(stem, entries)
    raise BlueprintError.single(
        f"unknown zoo blueprint '{name}'.{hint} See `archbuilder zoo list` for the {len(entries)} available."
    )


def _strip_suffix(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_yaml_text(source: str) -> bool:
    """Whether a string source is YAML text rather than a path or a name: it has a line break, or a ``:`` and
    no file of that name exists."""
    if "\n" in source:
        return True
    try:
        return ":" in source and not Path(source).exists()
    except (OSError, ValueError):
        return True


def find_source(source: str | os.PathLike[str], *, text: bool = True) -> Path | str:
    """The one resolver of a blueprint source given as a string or a path (the loader, the analyzer and every
    command use it; a dict or a Blueprint needs none).

    Args:
        source: YAML text, a path, or a zoo name (``"vgg16"`` or ``"vgg16.yaml"``).
        text: whether a ``str`` may be YAML text (a command-line argument never is; a path object never is).

    Returns:
        YAML text as the ``str`` given; else an existing file (it wins over the zoo); else, for a bare name
        (no folder; no suffix, ``.yaml`` or ``.yml``), the zoo's file of that name; else the path, which the
        loader reports when it is missing (or a folder).

    Raises:
        BlueprintError: a bare name that is neither a file nor a zoo name (with the zoo's did-you-mean), or a
            name the operating system cannot look up (a NUL byte, a name too long).
        TypeError: ``source`` is not a ``str`` or a path.
    """
    name = os.fspath(source)
    if not isinstance(name, str):
        raise TypeError(f"a blueprint source is a str or a path. Received: {type(name).__name__}")
    if text and isinstance(source, str) and is_yaml_text(name):
        return name
    if "\0" in name:
        raise BlueprintError.single(
            "the path holds a NUL byte (\\0), which no file name can contain", file=display_name(repr(name))
        )
    try:
        if Path(name).is_file():
            return Path(name)
    except (OSError, ValueError) as error:
        reason = os_error_reason(error, "read") if isinstance(error, OSError) else f"cannot read: {error}."
        raise BlueprintError.single(reason, file=display_name(name)) from None
    stem = _strip_suffix(name)
    if not stem or "/" in name or os.sep in name or Path(name).suffix not in ("", *SUFFIXES):
        return Path(name)
    zoo_file = _entries().get(stem)
    if zoo_file is not None:
        return zoo_file
    if Path(name).exists():  # a folder of that name: the loader says it is not a file
        return Path(name)
    try:
        return blueprint_path(name)
    except BlueprintError as error:
        message = error.problems[0].message.replace("unknown zoo blueprint", "no such file, and no zoo blueprint")
        raise BlueprintError.single(message, file=display_name(name)) from None


__all__ = ["SUFFIXES", "blueprint_path", "find_source", "is_yaml_text", "list_blueprints", "zoo_dir"]

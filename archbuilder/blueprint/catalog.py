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
from typing import Any

from archbuilder.blueprint.errors import BlueprintError, did_you_mean

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
            (see :func:`locate`).

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


def locate(source: str | os.PathLike[str]) -> str | Path:
    """Where a blueprint argument points: an existing file wins, then a zoo name, else ``source`` unchanged.

    The unchanged string may be YAML text, or a missing path that the loader will report.

    Args:
        source: a path, a zoo name (``"vgg16"`` or ``"vgg16.yaml"``) or YAML text. Text with a
            line break, or a name with a path separator, is never looked up in the zoo.

    Returns:
        The existing file as a ``Path``, else the zoo file of that name, else ``source`` as a
        ``str`` (``os.fspath``). Never raises for an unknown name.
    """
    text = os.fspath(source)
    if "\n" in text:
        return text
    try:
        if Path(text).is_file():
            return Path(text)
    except (OSError, ValueError):  # names too long or with NUL bytes are not files
        return text
    stem = _strip_suffix(text)
    return _entries().get(stem, text) if stem and os.sep not in stem and "/" not in stem else text


def _strip_suffix(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def locate_source(source: Any) -> Any:
    """A blueprint argument as the loader takes it: a path or zoo name (not YAML text) located with
    :func:`locate`; YAML text, a dict or a Blueprint unchanged. (One resolver for compile and train.)"""
    if isinstance(source, (str, os.PathLike)) and "\n" not in os.fspath(source):
        return locate(os.fspath(source))
    return source


__all__ = ["SUFFIXES", "blueprint_path", "list_blueprints", "locate", "locate_source", "zoo_dir"]

"""The model zoo: named blueprints shipped in ``archbuilder/zoo/blueprints`` (``blueprints/`` at the top).

A zoo name works wherever a file path does::

    list_blueprints("*resnet*")      # ['resnet50', ...]
    load_zoo_blueprint("vgg16")      # a Blueprint
    locate("vgg16")                  # Path(.../blueprints/vgg16.yaml)

This module imports only :mod:`archbuilder.blueprint` and the standard library (no Keras).
"""

from __future__ import annotations

import fnmatch
import os
from importlib import resources
from pathlib import Path

from archbuilder.blueprint.errors import BlueprintError, did_you_mean
from archbuilder.blueprint.io import load_blueprint
from archbuilder.blueprint.model import Blueprint

SUFFIXES = (".yaml", ".yml")


def zoo_dir() -> Path:
    """The folder holding the zoo's YAML files (package data of ``archbuilder.zoo``)."""
    folder = resources.files(__name__) / "blueprints"
    # A regular or editable install gives a real Path; anything else is read through its str.
    return folder if isinstance(folder, Path) else Path(str(folder))


def _entries() -> dict[str, Path]:
    folder = zoo_dir()
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in folder.iterdir() if path.suffix in SUFFIXES and path.is_file()}


def list_blueprints(pattern: str = "*") -> list[str]:
    """Sorted names of the zoo's blueprints matching a shell-style ``pattern`` (``'*resnet*'``)."""
    return sorted(name for name in _entries() if fnmatch.fnmatchcase(name, pattern))


def blueprint_path(name: str) -> Path:
    """The file of the zoo blueprint ``name`` (``'vgg16'`` or ``'vgg16.yaml'``).

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


def load_zoo_blueprint(name: str) -> Blueprint:
    """Load and validate the zoo blueprint ``name``."""
    return load_blueprint(blueprint_path(name))


def locate(source: str | os.PathLike[str]) -> str | Path:
    """Where a blueprint argument points: an existing file wins, then a zoo name, else ``source`` unchanged.

    The unchanged string may be YAML text, or a missing path that the loader will report.
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


__all__ = ["blueprint_path", "list_blueprints", "load_zoo_blueprint", "locate", "zoo_dir"]

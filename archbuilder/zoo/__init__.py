"""The model zoo: named blueprints shipped in ``archbuilder/zoo/blueprints`` (``blueprints/`` at the top).

A zoo name works wherever a file path does::

    list_blueprints("*resnet*")      # ['resnet50', ...]
    load_zoo_blueprint("vgg16")      # a Blueprint
    find_source("vgg16")             # Path(.../blueprints/vgg16.yaml): a file of that name would win

This module imports only :mod:`archbuilder.blueprint` and the standard library (no Keras).
"""

from __future__ import annotations

from archbuilder.blueprint.catalog import SUFFIXES, blueprint_path, find_source, list_blueprints, zoo_dir
from archbuilder.blueprint.io import load_blueprint
from archbuilder.blueprint.model import Blueprint


def load_zoo_blueprint(name: str) -> Blueprint:
    """Load and validate the zoo blueprint ``name``.

    Args:
        name: a zoo name, with or without ``.yaml`` (``"vgg16"``); see :func:`list_blueprints`.
            Unlike :func:`archbuilder.load_blueprint`, a file of that name is not looked at.

    Returns:
        The validated :class:`Blueprint`, as written (not resolved).

    Raises:
        BlueprintError: no zoo blueprint has that name (with a did-you-mean), or the file is invalid.
    """
    return load_blueprint(blueprint_path(name))


__all__ = ["SUFFIXES", "blueprint_path", "find_source", "list_blueprints", "load_zoo_blueprint", "zoo_dir"]

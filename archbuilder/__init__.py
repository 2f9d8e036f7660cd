"""archbuilder: declarative CNN blueprints for Keras 3.

Importing ``archbuilder`` does not import Keras: the blueprint format and the analyzer are pure
Python, and ``build_model`` imports Keras on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archbuilder.analysis import Analysis, analyze
from archbuilder.blueprint import Blueprint, BlueprintError, load_blueprint, resolve

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    import keras


def build_model(blueprint: Any, **options: Any) -> keras.Model:
    """Compile a blueprint (object, path, YAML text, dict or zoo name) into a ``keras.Model``."""
    from archbuilder.compile import build_model as _build_model

    return _build_model(blueprint, **options)


__all__ = ["Analysis", "Blueprint", "BlueprintError", "analyze", "build_model", "load_blueprint", "resolve"]

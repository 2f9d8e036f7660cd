"""archbuilder: declarative CNN blueprints for Keras 3.

Importing ``archbuilder`` does not import Keras: the blueprint format and the analyzer are pure
Python, and ``build_model`` and ``train`` import Keras on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# ``archbuilder.train`` is the training package, and calling it trains:
# ``archbuilder.train(blueprint, data="digits", epochs=5)`` (see archbuilder/train/__init__.py).
# A plain function here would be replaced by the package as soon as any archbuilder.train module
# is imported, so the package itself is the callable; importing it does not import Keras.
from archbuilder import train
from archbuilder.analysis import Analysis, analyze
from archbuilder.blueprint import Blueprint, BlueprintError, load_blueprint, resolve

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    import keras


def build_model(blueprint: Any, **options: Any) -> keras.Model:
    """Compile a blueprint (object, path, YAML text, dict or zoo name) into a ``keras.Model``."""
    from archbuilder.compile import build_model as _build_model

    return _build_model(blueprint, **options)


def create_model(
    name: str, weights: Any = None, classes: int | None = None, input_shape: Any = None, **options: Any
) -> keras.Model:
    """A zoo network as a ``keras.Model``, with pretrained ``weights`` (``"imagenet"`` or a keras.applications
    weights file) for the keras.applications twins, a new ``classes`` (fresh head) or ``input_shape``
    (see :mod:`archbuilder.pretrained`)."""
    from archbuilder.pretrained import create_model as _create_model

    return _create_model(name, weights, classes, input_shape, **options)


__all__ = [
    "Analysis",
    "Blueprint",
    "BlueprintError",
    "analyze",
    "build_model",
    "create_model",
    "load_blueprint",
    "resolve",
    "train",
]

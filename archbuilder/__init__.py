"""archbuilder: declarative CNN blueprints for Keras 3.

Importing ``archbuilder`` does not import Keras: the blueprint format and the analyzer are pure
Python, and ``build_model``, ``train`` and ``create_model`` import Keras on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archbuilder.analysis import Analysis, analyze
from archbuilder.blueprint import Blueprint, BlueprintError, load_blueprint, resolve

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from archbuilder.pretrained import create_model
    from archbuilder.training.runner import train


def build_model(blueprint: Any) -> keras.Model:
    """Compile a blueprint (its analysis, object, path, YAML text, dict or zoo name) into a ``keras.Model``.

    Every layer is named from its blueprint path (``stages_2_blocks_0_conv1``); the outputs are
    the head (named ``head.name``, default ``predictions``) and any auxiliary heads, in order.

    Args:
        blueprint: an :class:`Analysis` (built as analyzed, without a second analysis), a
            :class:`Blueprint`, a path to a YAML file, YAML text, a dict or a zoo name.

    Returns:
        An uncompiled ``keras.Model`` named after the blueprint, with one output, or a list of
        outputs when there are auxiliary heads.

    Raises:
        BlueprintError: the blueprint is invalid or a layer cannot be built; the message names
            the blueprint path.
    """
    from archbuilder.compile import build_model as _build_model

    return _build_model(blueprint)


#: Public functions loaded from their modules on first use (they import Keras): ``archbuilder.train`` *is*
#: :func:`archbuilder.training.runner.train`, with its signature and documentation.
_LAZY = {"train": "archbuilder.training.runner", "create_model": "archbuilder.pretrained"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'archbuilder' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


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

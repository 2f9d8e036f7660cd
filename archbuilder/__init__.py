"""archbuilder: declarative CNN blueprints for Keras 3.

Importing ``archbuilder`` does not import Keras: the blueprint format and the analyzer are pure
Python, and ``build_model`` and ``train`` import Keras on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archbuilder.analysis import Analysis, analyze
from archbuilder.blueprint import Blueprint, BlueprintError, load_blueprint, resolve

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from archbuilder.training import TrainResult


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


def train(blueprint: Any, data: Any = None, **options: Any) -> TrainResult:
    """Train a blueprint (object, path, YAML text, dict or zoo name) on ``data`` with its recipe.

    The run folder (default ``runs/<blueprint name>``) receives ``best.keras`` (the epoch with the
    lowest monitored value, evaluated once on the test set), ``last.keras``, the history, the
    metrics and ``curves.png``; an interrupted run continues with ``resume=True``.

    Args:
        blueprint: a :class:`Blueprint`, a path to a YAML file, YAML text, a dict or a zoo name.
        data: ``"digits"``, ``"shapes"``, ``"mnist"``, ``"images:DIR"``, ``"npz:FILE"``... or a
            loaded :class:`archbuilder.training.Dataset`; ``None`` takes the blueprint's
            ``training.data``.
        **options: the keyword arguments of :func:`archbuilder.training.runner.train`:
            ``epochs``, ``batch_size``, ``learning_rate``, ``seed``, ``output``, ``resume``,
            ``overwrite``, ``deterministic``, ``resize``, ``mixed_precision``, ``jit_compile``,
            ``verbose``, ``init_weights``, ``distribution``, ``weights``.

    Returns:
        A :class:`archbuilder.training.TrainResult`: the model the run keeps (``best.keras``'s
        weights), the run folder, the per-epoch history and the metrics (``result.test``).

    Raises:
        BlueprintError: the blueprint or an override is invalid.
        DataError: the data cannot be loaded or does not fit the blueprint.
        RunError: the output folder or the settings do not allow the run.
    """
    from archbuilder.training.runner import train as run_training

    return run_training(blueprint, data, **options)


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

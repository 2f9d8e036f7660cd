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


def build_model(blueprint: Any) -> keras.Model:
    """Compile a blueprint (object, path, YAML text, dict or zoo name) into a ``keras.Model``.

    Every layer is named from its blueprint path (``stages_2_blocks_0_conv1``); the outputs are
    the head (named ``head.name``, default ``predictions``) and any auxiliary heads, in order.

    Args:
        blueprint: a :class:`Blueprint`, a path to a YAML file, YAML text, a dict or a zoo name.

    Returns:
        An uncompiled ``keras.Model`` named after the blueprint, with one output, or a list of
        outputs when there are auxiliary heads.

    Raises:
        BlueprintError: the blueprint is invalid or a layer cannot be built; the message names
            the blueprint path.
    """
    from archbuilder.compile import build_model as _build_model

    return _build_model(blueprint)


def create_model(
    name: str, weights: Any = None, classes: int | None = None, input_shape: Any = None, **options: Any
) -> keras.Model:
    """A zoo network as a ``keras.Model``, with pretrained ``weights`` (``"imagenet"`` or a keras.applications
    weights file) for the keras.applications twins, a new ``classes`` (fresh head) or ``input_shape``
    (see :mod:`archbuilder.pretrained`).

    Args:
        name: a zoo name (``archbuilder zoo list``). With ``weights``, one of the twins of
            keras.applications networks (``vgg16``, ``resnet50``, ``mobilenet``, ``efficientnet_b0``...),
            by its zoo name or its keras.applications name.
        weights: ``None`` (fresh initialization; any zoo name), ``"imagenet"`` (downloaded once by
            keras.applications into ``~/.keras/models``), or the path of a keras.applications weights
            file (``.h5`` / ``.weights.h5``) or of a ``.keras`` model of the same application.
        classes: a new number of classes: a new classifier with fresh weights, the body keeping the
            pretrained ones. ``None`` keeps the zoo entry's (1000 for the twins).
        input_shape: another ``(height, width, channels)``; with ``weights``, 3 channels and at
            least keras.applications' smallest side. ``None`` keeps the zoo entry's.
        **options: the keyword arguments of :func:`archbuilder.pretrained.create_model`:
            ``preprocessing`` (put the application's ``preprocess_input`` in the model, which then
            takes RGB pixels in [0, 255]; default ``False``) and ``verbose`` (print what was loaded;
            default ``True``).

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        BuildError: not a twin, weights that cannot be had (offline: the message names the file to
            fetch and where to put it), a file of another network, or a bad ``classes``/``input_shape``.
        BlueprintError: without ``weights``, an unknown zoo name; or a network that does not fit
            ``input_shape``.
    """
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

"""Training: datasets, recipes, the training run, evaluation and prediction.

Importing this package does not import Keras; each function imports it on first use.
``archbuilder.train`` is also callable: ``archbuilder.train(blueprint, data="digits", epochs=5)``
is :func:`archbuilder.train.runner.train` (the package and the function share their name, so the
package object itself forwards the call).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from archbuilder.train.errors import DataError, RunError, TrainError

if TYPE_CHECKING:  # pragma: no cover
    from archbuilder.train.data import Dataset, Split, load_dataset
    from archbuilder.train.predict import evaluate, predict
    from archbuilder.train.runner import TrainResult, train

_LAZY = {
    "Dataset": "archbuilder.train.data",
    "Split": "archbuilder.train.data",
    "load_dataset": "archbuilder.train.data",
    "evaluate": "archbuilder.train.predict",
    "predict": "archbuilder.train.predict",
    "TrainResult": "archbuilder.train.runner",
    "train": "archbuilder.train.runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _CallablePackage(types.ModuleType):
    """Lets ``archbuilder.train(...)`` work whether Python bound the name to the package or the function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from archbuilder.train.runner import train as run_training

        return run_training(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = [
    "DataError",
    "Dataset",
    "RunError",
    "Split",
    "TrainError",
    "TrainResult",
    "evaluate",
    "load_dataset",
    "predict",
    "train",
]

"""Training: datasets, recipes, the training run, evaluation and prediction.

Importing this package does not import Keras; the names that need it (``train``, ``evaluate``,
``predict``, ``load_dataset``...) are loaded from their modules on first use. ``archbuilder.train``
forwards to :func:`archbuilder.training.runner.train`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from archbuilder.training.errors import DataError, RunError, TrainError

if TYPE_CHECKING:  # pragma: no cover
    from archbuilder.training.data import Dataset, Split, load_dataset
    from archbuilder.training.evaluation import evaluate
    from archbuilder.training.prediction import predict
    from archbuilder.training.runner import TrainResult, train

_LAZY = {
    "Dataset": "archbuilder.training.data",
    "Split": "archbuilder.training.data",
    "load_dataset": "archbuilder.training.data",
    "evaluate": "archbuilder.training.evaluation",
    "predict": "archbuilder.training.prediction",
    "TrainResult": "archbuilder.training.runner",
    "train": "archbuilder.training.runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

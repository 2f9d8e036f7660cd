"""What a user asks of one search beside the space, typed once (:class:`SearchOptions`).

The command line builds it from its arguments, :func:`archbuilder.search.run` from its keyword
arguments; :func:`archbuilder.search.runner.run_search` reads it. ``None`` means "the space's
``search:`` section says" (or its default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - a type only: importing the data package would import NumPy
    from archbuilder.training.data import Dataset

#: The options that replace a ``search:`` setting of the space (a resumed search checks them against its own).
SPACE_SETTINGS = (
    "data",
    "max_trials",
    "max_time",
    "epochs",
    "tuner",
    "seed",
    "executions_per_trial",
    "batch_size",
    "final_epochs",
)


@dataclass(frozen=True)
class SearchOptions:
    """The options of one search (see :func:`archbuilder.search.runner.run` for each)."""

    data: str | Dataset | None = None
    max_trials: int | None = None
    max_time: float | str | None = None
    epochs: int | None = None
    tuner: str | None = None
    seed: int | None = None
    executions_per_trial: int | None = None
    batch_size: int | None = None
    final_epochs: int | None = None
    output: str | os.PathLike[str] | None = None
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    save_top: bool = False
    tensorboard: bool = True

    def settings(self) -> dict[str, Any]:
        """The :data:`SPACE_SETTINGS` as asked (``None``: not asked); a dataset given as an object sets none
        (its name is not a dataset to load)."""
        values = {name: getattr(self, name) for name in SPACE_SETTINGS}
        if self.loaded_data is not None:
            values["data"] = None
        return values

    @property
    def loaded_data(self) -> Dataset | None:
        """The dataset given as an object (``None`` when ``data`` names one)."""
        return None if self.data is None or isinstance(self.data, str) else self.data

    def folder(self, space_name: str) -> Path:
        """The output folder: ``output``, or ``searches/<space name>``."""
        return Path(self.output) if self.output is not None else Path("searches") / space_name


__all__ = ["SPACE_SETTINGS", "SearchOptions"]

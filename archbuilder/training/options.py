"""What a user asks of one training run beside the blueprint, typed once (:class:`TrainOptions`).

The command line builds it from its arguments, :func:`archbuilder.train` from its keyword arguments;
the runner, the plan of a new or resumed run and the resume check read it. ``None`` means "the
blueprint's recipe says" (or its default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.training.data import Dataset
from archbuilder.training.errors import RunError
from archbuilder.training.recipe import effective_recipe

#: The options a resumed run keeps from its start: asked again, each must equal the run's own.
RUN_SETTINGS = (
    "data",
    "batch_size",
    "learning_rate",
    "seed",
    "resize",
    "deterministic",
    "mixed_precision",
    "jit_compile",
)


@dataclass(frozen=True)
class TrainOptions:
    """The options of one training run (see :func:`archbuilder.training.runner.train` for each)."""

    data: str | Dataset | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    seed: int | None = None
    output: str | os.PathLike[str] | None = None
    resume: bool = False
    overwrite: bool = False
    deterministic: bool | None = None
    resize: bool | None = None
    mixed_precision: bool | None = None
    jit_compile: bool | None = None
    verbose: int | str = "auto"
    init_weights: str | os.PathLike[str] | None = None
    distribution: str | None = None
    weights: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if self.resume and self.overwrite:
            where = "" if self.output is None else f" in {self.output}"
            raise RunError(
                f"resume and overwrite exclude each other: pass --resume to continue the run{where}, "
                "or --overwrite to start it over."
            )

    def folder(self, blueprint_name: str) -> Path:
        """The run folder: ``output``, or ``runs/<blueprint name>``."""
        return Path(self.output) if self.output is not None else Path("runs") / blueprint_name

    @property
    def loaded_data(self) -> Dataset | None:
        """The dataset given as an object (``None`` when ``data`` names one)."""
        return self.data if isinstance(self.data, Dataset) else None

    def requested_settings(self) -> dict[str, Any]:
        """The :data:`RUN_SETTINGS` as asked (``None``: not asked); a dataset object by its name."""
        values = {name: getattr(self, name) for name in RUN_SETTINGS}
        if self.loaded_data is not None:
            values["data"] = self.loaded_data.name
        return values

    def recipe(self, recipe: TrainingRecipe | None) -> TrainingRecipe:
        """The blueprint's recipe with these options applied and validated (a new run's recipe).

        Raises:
            BlueprintError: an option is out of range for the recipe (``training.epochs: ...``).
        """
        return effective_recipe(
            recipe,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
            data=self.data.name if isinstance(self.data, Dataset) else self.data,
            init_weights=None if self.init_weights is None else str(self.init_weights),
            distribution=self.distribution,
        )

    def verbosity(self, terminal: bool) -> int:
        """Keras's ``fit`` verbosity: ``auto`` is 1 on a terminal, else 2."""
        return (1 if terminal else 2) if self.verbose == "auto" else int(self.verbose)


__all__ = ["RUN_SETTINGS", "TrainOptions"]

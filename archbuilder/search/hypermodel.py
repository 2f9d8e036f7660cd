"""The hypermodel: a trial's KerasTuner values -> the candidate's blueprint with the trial recipe -> a
compiled ``keras.Model``, fitted on the search's cached dataset.

It builds; the oracles decide (:mod:`archbuilder.search.oracles`) and
:class:`~archbuilder.search.tuner.BlueprintTuner` runs the trials.
"""

from __future__ import annotations

from typing import Any

import keras
import keras_tuner as kt

from archbuilder.blueprint.model import Blueprint
from archbuilder.runtime import accelerator
from archbuilder.search.oracles import declare_hyperparameters
from archbuilder.search.screening import Candidate, Screen
from archbuilder.search.space import SearchSpace
from archbuilder.search.trial import DataCache, build_candidate, fit_candidate, steps_per_epoch
from archbuilder.training.engine import Direction, FitOutcome
from archbuilder.training.recipe import effective_recipe


class BlueprintHyperModel(kt.HyperModel):
    """Turns a trial's values into the candidate's blueprint (resolved, with the trial recipe) and model.

    Args:
        space: the search space; its name names the hypermodel, its settings give the trial recipe.
        data: the search's dataset cache; ``None`` only for a hypermodel that never builds
            (building and fitting need it).
        screen: the oracle's screen, which measured each trial's candidate when it admitted the trial: a
            trial's candidate is derived from its values once, however often it is built, trained and
            collected.
    """

    def __init__(self, space: SearchSpace, data: DataCache | None, screen: Screen) -> None:
        super().__init__(name=space.name)
        self.space = space
        self.data = data
        self.screen = screen
        self.batch_size: int | None = None

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        """Registers the space's parameters on ``hp``, each under the conditions that make it active."""
        declare_hyperparameters(self.space, hp)

    def candidate(self, values: dict[str, Any]) -> Candidate:
        """The analyzed candidate of a trial's values (KerasTuner's ``tuner/...`` entries ignored), as the screen
        measured it.

        Raises:
            CandidateError: the values make no valid network.
        """
        return self.screen.measure(values)

    def trial_blueprint(self, candidate: Candidate) -> Blueprint:
        """The candidate's blueprint with the trial recipe: the search's epochs, batch size, seed and data."""
        settings = self.space.settings
        data = self.data.spec if self.data is not None else settings.data
        data_name = data if isinstance(data, str) or data is None else data.name
        recipe = effective_recipe(
            candidate.blueprint.training,
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            seed=settings.seed,
            data=data_name,
        )
        return candidate.blueprint.model_copy(update={"training": recipe})

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        """Builds the candidate for ``hp.values`` and compiles it with the trial recipe (steps per epoch counted
        at :attr:`batch_size` when the tuner set one, else at the recipe's)."""
        blueprint = self.trial_blueprint(self.candidate(hp.values))
        assert self.data is not None and blueprint.training is not None
        dataset = self.data.get(blueprint, blueprint.training)
        batch_size = self.batch_size or blueprint.training.batch_size
        return build_candidate(
            blueprint, steps_per_epoch(dataset, batch_size), jit_compile=accelerator.choose_jit_compile(None)
        )

    def train_trial(
        self,
        hp: kt.HyperParameters,
        model: keras.Model,
        *args: Any,
        epochs: int = 1,
        initial_epoch: int = 0,
        batch_size: int | None = None,
        seed: int = 0,
        monitor: str | None = None,
        direction: Direction = "max",
        callbacks: list[keras.callbacks.Callback] | None = None,
        **kwargs: Any,
    ) -> FitOutcome:
        """Trains on the cached dataset with the recipe's data pipeline through the fit engine (BlueprintTuner's
        run_trial calls it in place of KerasTuner's ``HyperModel.fit``; with a
        ``monitor``, the model ends with its best epoch's weights); extra positional and keyword
        arguments are ignored."""
        blueprint = self.trial_blueprint(self.candidate(hp.values))
        assert self.data is not None and blueprint.training is not None
        dataset = self.data.get(blueprint, blueprint.training)
        return fit_candidate(
            model,
            blueprint,
            dataset,
            epochs=epochs,
            initial_epoch=initial_epoch,
            batch_size=batch_size or blueprint.training.batch_size,
            seed=seed,
            monitor=monitor,
            direction=direction,
            callbacks=callbacks,
        )


__all__ = ["BlueprintHyperModel"]

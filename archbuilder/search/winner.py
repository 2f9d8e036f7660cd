"""The search's trained winner.

A search ends with a model, not only a blueprint (as AutoKeras keeps its winner's weights):

* ``best.keras``: the best trial's own model, saved by its trial with the weights of the epoch the
  trial is scored by; or, with ``--final-epochs N``, the best of the ``top_k`` trials retrained for
  N epochs with their full recipe (their own optimizer, schedule and augmentation);
* its test metrics, evaluated once, on the test split, from the file itself (what a user who
  loads ``best.keras`` gets);
* ``top/NN_trial_ID.keras`` beside the top blueprints, when asked (``--save-top``).

Every file is a plain ``.keras`` that ``keras.saving.load_model`` opens.
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any

import keras

from archbuilder.artifacts import write_atomic
from archbuilder.blueprint.model import Blueprint
from archbuilder.runtime import accelerator
from archbuilder.search.results import SearchResult, TrialRecord
from archbuilder.search.scoring import penalized_score, penalty_target
from archbuilder.search.trial import TrialFailure, build_candidate, evaluate_candidate, fit_candidate, steps_per_epoch
from archbuilder.search.tuner import BlueprintTuner, EpochProgress
from archbuilder.training.engine import best_epoch
from archbuilder.training.model_files import add_model_context
from archbuilder.training.recipe import effective_recipe

BEST_MODEL = "best.keras"
#: The model a final retraining leaves in its trial's KerasTuner folder.
FINAL_MODEL = "final.keras"


def keep_winner(
    result: SearchResult, tuner: BlueprintTuner, folder: Path, *, final_epochs: int | None = None, progress: bool = True
) -> None:
    """Write ``best.keras`` and evaluate it on the test split; fills ``result.model``, ``result.test``
    (and ``result.final``/``result.chosen`` after a final retraining)."""
    if final_epochs:
        retrain_top(result, tuner, final_epochs, progress=progress)
    best = result.best
    if best is None or best.blueprint is None:
        return
    source = tuner.model_path(best.trial_id)
    if result.final:
        source = source.with_name(FINAL_MODEL)
    if not source.exists():
        print(
            f"note: the model of trial {best.trial_id} was not kept (a search started before archbuilder kept "
            f"trained models, or its file was removed); train the winner with: archbuilder train "
            f"{folder / 'best.yaml'}"
        )
        return
    blueprint = best.blueprint
    assert blueprint.training is not None and tuner.hypermodel.data is not None
    dataset = tuner.hypermodel.data.get(blueprint, blueprint.training)
    recipe = blueprint.training
    context = {
        "data": recipe.data or dataset.name,
        "resize": tuner.settings.resize,
        "pixel_range": list(recipe.pixel_range),
        "seed": recipe.seed,
        "class_names": list(dataset.class_names),
        "search": result.space_name,
        "trial": best.trial_id,
    }

    def write(temporary: Path) -> None:  # the model, and how it was trained (evaluate/predict read it)
        shutil.copyfile(source, temporary)
        add_model_context(temporary, context)

    path = write_atomic(folder / BEST_MODEL, write)
    keras.backend.clear_session()
    model = keras.saving.load_model(path)
    result.test = evaluate_candidate(model, blueprint, dataset, batch_size=blueprint.training.batch_size)
    result.test_images = None if dataset.test is None else len(dataset.test)
    result.model = path


def save_top_models(result: SearchResult, tuner: BlueprintTuner, folder: Path) -> list[Path]:
    """``top/NN_trial_ID.keras`` beside the top blueprints, for the top trials whose model was kept."""
    written = []
    for rank, trial in enumerate(result.top, start=1):
        source = tuner.model_path(trial.trial_id)
        if source.exists():
            target = folder / "top" / f"{rank:02d}_trial_{trial.trial_id}.keras"
            written.append(write_atomic(target, partial(shutil.copyfile, source)))
    return written


def retrain_top(result: SearchResult, tuner: BlueprintTuner, epochs: int, *, progress: bool = True) -> None:
    """Retrain the ``top_k`` trials for ``epochs`` with their full recipe; the best becomes ``result.best``.

    Each is scored as a trial is (its best epoch, the cost penalty when the objective has one); a
    retraining whose loss becomes NaN is recorded and skipped.
    """
    settings = tuner.settings
    spec = settings.objective_spec
    top = result.top
    entries: list[dict[str, Any]] = []
    blueprints: dict[str, Blueprint] = {}
    for number, trial in enumerate(top, start=1):
        blueprint = final_blueprint(tuner, trial, epochs)
        assert blueprint.training is not None and tuner.hypermodel.data is not None
        dataset = tuner.hypermodel.data.get(blueprint, blueprint.training)
        batch_size = settings.batch_size or blueprint.training.batch_size
        keras.backend.clear_session()
        keras.utils.set_random_seed(settings.seed)
        callbacks: list[keras.callbacks.Callback] = []
        if progress:
            label = f"[final {number}/{len(top)}] trial {trial.trial_id}"
            callbacks.append(EpochProgress.for_trial(label, epochs, blueprint, spec.metric, lambda: ""))
        model = build_candidate(
            blueprint, steps_per_epoch(dataset, batch_size), jit_compile=accelerator.choose_jit_compile(None)
        )
        try:
            outcome = fit_candidate(
                model,
                blueprint,
                dataset,
                epochs=epochs,
                batch_size=batch_size,
                seed=settings.seed,
                monitor=spec.metric,
                direction=spec.direction,
                callbacks=callbacks,
            )
        except TrialFailure as failure:
            entries.append(
                {
                    "trial": trial.trial_id,
                    "epochs": epochs,
                    "status": failure.status,
                    "message": failure.message,
                    "metrics": {},
                }
            )
            continue
        metrics = best_epoch(outcome.history, spec.metric, spec.direction)
        if spec.penalize:
            metrics["score"] = penalized_score(
                metrics[spec.metric], trial.costs[spec.penalize], penalty_target(settings), spec.weight, spec.direction
            )
        write_atomic(tuner.model_path(trial.trial_id).with_name(FINAL_MODEL), model.save)
        entries.append({"trial": trial.trial_id, "epochs": epochs, "status": "completed", "metrics": metrics})
        blueprints[trial.trial_id] = blueprint
        if progress:
            print(
                f"[final {number}/{len(top)}] trial {trial.trial_id}: {settings.score_name} "
                f"{metrics.get(settings.score_name, float('nan')):.4f}",
                flush=True,
            )
    keras.backend.clear_session()
    result.final = entries
    scored = [e for e in entries if e["status"] == "completed" and settings.score_name in e["metrics"]]
    if scored:
        choose = max if spec.direction == "max" else min
        chosen = choose(scored, key=lambda entry: entry["metrics"][settings.score_name])
        result.chosen = chosen["trial"]
        record = next(t for t in result.trials if t.trial_id == result.chosen)
        record.blueprint = blueprints[record.trial_id]


def final_blueprint(tuner: BlueprintTuner, trial: TrialRecord, epochs: int) -> Blueprint:
    """The trial's blueprint with its template's full recipe, trained for ``epochs``."""
    hypermodel = tuner.hypermodel
    candidate = hypermodel.candidate(trial.values)
    trial_recipe = hypermodel.trial_blueprint(candidate).training
    assert trial_recipe is not None
    recipe = effective_recipe(
        candidate.blueprint.training,
        epochs=epochs,
        batch_size=tuner.settings.batch_size,
        seed=tuner.settings.seed,
        data=trial_recipe.data,
    )
    return candidate.blueprint.model_copy(update={"training": recipe})


__all__ = ["BEST_MODEL", "FINAL_MODEL", "final_blueprint", "keep_winner", "retrain_top", "save_top_models"]

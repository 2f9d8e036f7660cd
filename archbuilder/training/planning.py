"""Planning a training run: the recipe and settings of a new run, or those of the run to resume, the
run folder made ready for it (see :mod:`archbuilder.training.run_folder`), and its data loaded,
checked against the blueprint, split and scaled; the result is the :class:`Run` the runner fits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from archbuilder.blueprint.model import Blueprint
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.runtime import accelerator
from archbuilder.training.data import Dataset, fit_to_input, load_dataset, scale_pixels, split_validation
from archbuilder.training.errors import RunError
from archbuilder.training.model_files import check_model_file
from archbuilder.training.options import TrainOptions
from archbuilder.training.recipe import effective_recipe, head_outputs
from archbuilder.training.run_folder import (
    LAST_MODEL,
    Settings,
    check_epochs,
    open_for_resume,
    prepare_new_run,
    resume_point,
    write_run_files,
    write_state,
)


@dataclass
class Run:
    """Everything resolved before fitting: the plan of a new or resumed run."""

    blueprint: Blueprint
    recipe: TrainingRecipe
    settings: Settings
    folder: Path
    dataset: Dataset
    start_epoch: int = 0
    state: dict[str, Any] | None = None
    verbose: int = 2
    distribution: Any = None  # a tf.distribute strategy or a keras.distribution.Distribution
    transfer: dict[str, Any] | None = None  # what init_weights (or weights) loaded
    weights: str | None = None  # pretrained weights of a keras.applications twin (archbuilder.pretrained)


def model_context(plan: Run) -> dict[str, Any]:
    """How the run's models are trained, recorded in each of its .keras files
    (:data:`~archbuilder.training.model_files.MODEL_CONTEXT`): what ``archbuilder evaluate`` and ``predict``
    need to prepare images as the run did."""
    settings = plan.settings
    return {
        "blueprint": plan.blueprint.name,
        "data": settings.data,
        "resize": settings.resize,
        "pixel_range": [float(value) for value in plan.recipe.pixel_range],
        "seed": settings.seed,
        "class_names": [str(name) for name in plan.dataset.class_names],
    }


def new_plan(given: Blueprint, folder: Path, options: TrainOptions) -> Run:
    """The plan of a new run in ``folder``: the effective recipe (the blueprint's, with ``options`` applied)
    and settings, the data prepared, the folder made ready (a run in it replaced only as
    :func:`~archbuilder.training.run_folder.prepare_new_run` allows), its run files and first state written."""
    recipe = options.recipe(given.training)
    if recipe.data is None:
        raise RunError(
            "no data to train on: pass --data (digits, shapes, mnist, fashion_mnist, cifar10, cifar100, "
            "images:DIR, npz:FILE), data=... in Python, or set training.data in the blueprint."
        )
    settings = Settings(
        recipe.data,
        recipe.batch_size,
        recipe.seed,
        bool(options.resize),
        bool(options.deterministic),
        accelerator.choose_precision(options.mixed_precision),
        accelerator.choose_jit_compile(options.jit_compile),
    )
    blueprint = given.model_copy(update={"training": recipe})
    dataset = prepare_data(blueprint, recipe, settings, options.loaded_data)
    prepare_new_run(folder, options.overwrite)
    write_run_files(folder, blueprint, settings, dataset.class_names)
    state = {"finished": False, "completed_epochs": 0, "epochs": recipe.epochs, "settings": asdict(settings)}
    write_state(folder, state)
    return Run(blueprint, recipe, settings, folder, dataset, 0, state)


def resume_plan(given: Blueprint, folder: Path, options: TrainOptions) -> Run:
    """The plan of the run to resume in ``folder``: its own blueprint and settings (the options asked again
    must agree with them), its recipe trained to ``options.epochs``, the folder brought back to the
    committed epoch (:func:`~archbuilder.training.run_folder.resume_point`), and the data prepared."""
    state, blueprint, settings = open_for_resume(folder, given, options.requested_settings())
    recipe = effective_recipe(blueprint.training, epochs=options.epochs, distribution=options.distribution)
    check_epochs(folder, state, recipe.epochs)
    blueprint = blueprint.model_copy(update={"training": recipe})
    state, start = resume_point(folder, state)
    if start:
        check_model_file(folder / LAST_MODEL)
    state.update(finished=False, epochs=recipe.epochs)
    write_state(folder, state)
    if options.epochs is not None:
        write_run_files(folder, blueprint, settings)
    dataset = prepare_data(blueprint, recipe, settings, options.loaded_data)
    return Run(blueprint, recipe, settings, folder, dataset, start, state)


def prepare_data(
    blueprint: Blueprint, recipe: TrainingRecipe, settings: Settings, loaded: Dataset | None = None
) -> Dataset:
    """Load the data (unless given), check it against the blueprint (resizing only with ``resize``), split, scale."""
    outputs = head_outputs(blueprint)
    shape = blueprint.input.shape
    classes = min(output.classes for output in outputs)
    dataset = loaded or load_dataset(
        settings.data, input_shape=shape, classes=classes, resize=settings.resize, seed=settings.seed
    )
    dataset = fit_to_input(
        dataset, shape, classes, resize=settings.resize, blueprint_name=f"blueprint '{blueprint.name}'"
    )
    dataset = split_validation(dataset, recipe.validation_split, settings.seed)
    return scale_pixels(dataset, recipe.pixel_range)


__all__ = ["Run", "model_context", "new_plan", "prepare_data", "resume_plan"]

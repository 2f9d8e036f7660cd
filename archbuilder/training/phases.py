"""Fitting a planned run (:class:`~archbuilder.training.planning.Run`): its data split evenly across the
replicas, the model built (with its initial weights) or loaded from the last checkpoint, and the
recipe's phases (each with its learning rate and frozen layers) fitted one after the other through
the fit engine (:mod:`archbuilder.training.engine`), with the run's checkpoint, patience and
TensorBoard callbacks. The runner (:mod:`archbuilder.training.runner`) plans, retries and reports.
"""

from __future__ import annotations

import sys

import keras

from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.compile import build_model
from archbuilder.runtime import accelerator
from archbuilder.training.callbacks import (
    EpochTensorBoard,
    EpochTimer,
    LearningRateLogger,
    RestorePatience,
    RunCheckpoint,
)
from archbuilder.training.data import Split
from archbuilder.training.distribution import (
    process_share,
    processes,
    replicas,
    trim_to_replicas,
)
from archbuilder.training.engine import FitOptions, fit
from archbuilder.training.errors import RunError
from archbuilder.training.pipeline import TrainingInputs, create_inputs
from archbuilder.training.planning import Run, model_context
from archbuilder.training.recipe import (
    HeadOutput,
    compile_model,
    create_augmentation,
    create_recipe_callbacks,
    head_outputs,
    label_encoding,
)
from archbuilder.training.run_folder import (
    LAST_MODEL,
    LOGS,
    check_optimizer_step,
    start_over_advice,
)
from archbuilder.training.transfer import freeze, load_weights_by_name, nested_networks


def fit_run(plan: Run) -> tuple[keras.Model, TrainingInputs, tuple[EpochTimer, RunCheckpoint]]:
    """Build (or load), compile and fit the model, phase by phase; inside the distribution's scope."""
    settings, recipe, blueprint = plan.settings, plan.recipe, plan.blueprint
    accelerator.seed_everything(settings.seed, deterministic=settings.deterministic)
    outputs = head_outputs(blueprint)
    encoding = label_encoding(recipe, outputs)
    with accelerator.precision_policy(accelerator.FLOAT32):  # augmented images stay float32 under mixed precision
        augmentation = create_augmentation(
            recipe.augmentation, blueprint.input.shape, pixel_range=recipe.pixel_range, seed=settings.seed
        )
    dataset = plan.dataset
    train_split, validation_split = _even_splits(plan)
    train, validation = (
        process_share(train_split, plan.distribution),
        process_share(validation_split, plan.distribution),
    )
    inputs = create_inputs(
        train,
        validation,
        batch_size=settings.batch_size // processes(plan.distribution)[1],
        outputs=outputs,
        encoding=encoding,
        augmentation=augmentation,
        seed=settings.seed,
        workers=1 if settings.deterministic else 2,
    )
    model, optimizer = _model(plan, outputs)
    if plan.start_epoch >= recipe.epochs:
        print(f"finishing {plan.folder}: its {recipe.epochs} epochs are done; evaluating")
    elif plan.start_epoch:
        print(
            f"resuming {plan.folder} at epoch {plan.start_epoch + 1}/{recipe.epochs} "
            f"(optimizer step {int(keras.ops.convert_to_numpy(model.optimizer.iterations))})"
        )
    if plan.distribution is not None:
        print(
            f"distribution {recipe.distribution}: {replicas(plan.distribution)} replicas, global batch "
            f"{settings.batch_size}"
        )
    has_validation = dataset.validation is not None
    timer = EpochTimer()
    checkpoint = RunCheckpoint(
        plan.folder,
        "val_loss" if has_validation else "loss",
        plan.state or {},
        resumed=plan.start_epoch > 0,
        context=model_context(plan),
    )
    head_names = tuple(output.name for output in outputs)
    frozen_networks, pretrained = nested_networks(blueprint)
    for begin, end, phase_recipe, frozen in _phases(recipe, frozen_networks):
        if end <= plan.start_epoch:
            continue
        if recipe.phases or frozen:
            names = freeze(model, frozen, head_names=head_names, pretrained=pretrained)
            if recipe.phases:
                print(
                    f"epochs {begin + 1}-{end}: learning rate {phase_recipe.optimizer.learning_rate:g}, "
                    f"{len(names)} layers frozen"
                )
        # A resumed run keeps its optimizer (and its state) within the phase it stopped in.
        keep = optimizer if plan.start_epoch > begin else None
        compile_model(
            model, phase_recipe, outputs, inputs.steps_per_epoch, jit_compile=settings.jit_compile, optimizer=keep
        )
        callbacks = _callbacks(
            plan,
            phase_recipe,
            outputs,
            has_validation=has_validation,
            checkpoint=checkpoint,
            resumed=plan.start_epoch > begin,
        ) + [timer]
        options = FitOptions(
            epochs=end,
            initial_epoch=max(begin, plan.start_epoch),
            metrics=tuple(phase_recipe.metrics),
            callbacks=tuple(callbacks),
            verbose=plan.verbose,
        )
        outcome = fit(model, inputs, outputs, options)
        if outcome.stopped == "nan":
            assert outcome.nan_epoch is not None
            best = checkpoint.state.get("best")
            kept = (
                f"The run keeps its best epoch before it (epoch {best['epoch']})"
                if best
                else "No epoch had a finite monitored value, so the run keeps this epoch's model"
            )
            print(
                f"the loss became NaN in epoch {outcome.nan_epoch + 1}; training stopped. {kept}; a lower "
                "--learning-rate (or gradient clipping in the recipe, optimizer.clipnorm) usually helps.",
                file=sys.stderr,
            )
            break
    return model, inputs, (timer, checkpoint)


def _even_splits(plan: Run) -> tuple[Split, Split | None]:
    """The training and validation splits, each trimmed to a multiple of the replicas (every batch splits evenly)."""
    dataset, count = plan.dataset, replicas(plan.distribution)
    train = trim_to_replicas(dataset.train, count, "training")
    validation = trim_to_replicas(dataset.validation, count, "validation")
    left_out = [
        f"{len(whole) - len(kept)} of {len(whole)} {what} images"
        for whole, kept, what in ((dataset.train, train, "training"), (dataset.validation, validation, "validation"))
        if whole is not None and kept is not None and len(kept) < len(whole)
    ]
    if left_out:
        print(
            f"distribution {plan.recipe.distribution}: left out {' and '.join(left_out)}, so that every batch "
            f"splits evenly across the {count} replicas"
        )
    return train, validation


def _phases(recipe: TrainingRecipe, frozen_networks: list[str]) -> list[tuple[int, int, TrainingRecipe, list[str]]]:
    """``(first epoch, end epoch, recipe, frozen patterns)`` of each phase; one phase without ``phases``.

    The recipe's ``freeze`` (the default of every phase) adds the blueprint's frozen networks (a
    backbone with ``trainable: false``); a phase that lists its own ``freeze`` says it all.
    """
    default = list(recipe.freeze) + [name for name in frozen_networks if name not in recipe.freeze]
    if not recipe.phases:
        return [(0, recipe.epochs, recipe, default)]
    phases, begin = [], 0
    for phase in recipe.phases:
        optimizer = recipe.optimizer
        if phase.learning_rate is not None:
            optimizer = optimizer.model_copy(update={"learning_rate": phase.learning_rate})
        phase_recipe = recipe.model_copy(update={"optimizer": optimizer, "epochs": phase.epochs})
        frozen = list(default if phase.freeze is None else phase.freeze)
        phases.append((begin, begin + phase.epochs, phase_recipe, frozen))
        begin += phase.epochs
    return phases


def _model(plan: Run, outputs: list[HeadOutput]) -> tuple[keras.Model, keras.optimizers.Optimizer | None]:
    """A fresh model (with the init_weights), or the last checkpoint's model and optimizer when resuming."""
    if plan.start_epoch:
        path = plan.folder / LAST_MODEL
        try:
            model = keras.saving.load_model(path)
        except Exception as error:  # Keras raises ValueError, OSError or zip errors for a damaged file
            reason = (str(error).strip().splitlines() or [""])[0][:200]
            raise RunError(
                f"{path}: damaged ({type(error).__name__}: {reason}); the run cannot resume from it. "
                f"{start_over_advice(plan.folder)}"
            ) from None
        if getattr(model, "optimizer", None) is None:  # a model file put in its place (a `build` output)
            raise RunError(
                f"{path}: holds no optimizer state, so it is not a checkpoint of this run (a model from "
                f"`archbuilder build`?); the run cannot resume from it. {start_over_advice(plan.folder)}"
            )
        check_optimizer_step(plan.folder, plan.state or {}, int(keras.ops.convert_to_numpy(model.optimizer.iterations)))
        return model, model.optimizer
    model = build_model(plan.blueprint)
    if plan.recipe.init_weights:
        plan.transfer = load_weights_by_name(model, plan.recipe.init_weights).to_dict()
    if plan.weights:
        from archbuilder.pretrained import load_pretrained

        plan.transfer = load_pretrained(model, plan.blueprint, plan.weights).to_dict()
    if plan.settings.precision == accelerator.MIXED:
        accelerator.keep_outputs_float32(model, [output.name for output in outputs])
    return model, None


def _callbacks(
    plan: Run,
    recipe: TrainingRecipe,
    outputs: list[HeadOutput],
    *,
    has_validation: bool,
    checkpoint: RunCheckpoint,
    resumed: bool,
) -> list[keras.callbacks.Callback]:
    """The run's callbacks; ``resumed``: the phase continues from a checkpoint, whose patience counters
    the plateau and early-stopping callbacks get back."""
    patience = create_recipe_callbacks(recipe, outputs, has_validation=has_validation)
    checkpoint.watched = patience
    saved = (plan.state or {}).get("patience") if resumed else None
    return [
        LearningRateLogger(),
        *patience,
        *([RestorePatience(patience, saved)] if patience and saved else []),
        EpochTensorBoard(str(plan.folder / LOGS)),
        checkpoint,  # last: it writes history.csv and the checkpoint (see epoch_saving.save_epoch)
    ]


__all__ = ["fit_run"]

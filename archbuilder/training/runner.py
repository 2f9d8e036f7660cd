"""The training run: ``train()`` and the fit itself, phase by phase, with one retry at a smaller batch
after running out of memory. The run is planned (new or resumed) in :mod:`archbuilder.training.planning`
and ended (the kept model tested, metrics.json, the summary) in :mod:`archbuilder.training.report`.

``train(blueprint, data="digits", epochs=5)`` loads and checks the data, builds and compiles the
model from the recipe, fits it with per-epoch checkpoints, evaluates the model the run keeps
(``best.keras``, the epoch with the lowest monitored value) on the test set once, and writes
the run folder (default ``runs/<blueprint name>``; its files, and how a run resumes after a kill,
are described in :mod:`archbuilder.training.run_folder`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import keras

from archbuilder.analysis import analyze
from archbuilder.artifacts import write_json_atomic
from archbuilder.blueprint.catalog import locate_source
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
from archbuilder.training.curves import write_curves
from archbuilder.training.data import Dataset, Split
from archbuilder.training.distribution import (
    check_batch_size,
    create_distribution,
    distribution_scope,
    process_share,
    processes,
    replicas,
    trim_to_replicas,
)
from archbuilder.training.engine import FitOptions, OutOfMemory, fit, halve_on_out_of_memory
from archbuilder.training.errors import RunError
from archbuilder.training.history_file import read_history
from archbuilder.training.options import TrainOptions
from archbuilder.training.pipeline import TrainingInputs, create_inputs
from archbuilder.training.planning import Run, model_context, new_plan, resume_plan
from archbuilder.training.recipe import (
    HeadOutput,
    compile_model,
    create_augmentation,
    create_recipe_callbacks,
    head_outputs,
    label_encoding,
)
from archbuilder.training.report import evaluate_test, keep_best, print_summary, report
from archbuilder.training.run_folder import (
    HISTORY,
    LAST_MODEL,
    LOGS,
    METRICS,
    check_optimizer_step,
    read_state,
    resume_point,
    start_over_advice,
    write_run_files,
    write_state,
)
from archbuilder.training.transfer import freeze, load_weights_by_name, nested_networks


@dataclass
class TrainResult:
    """The model the run keeps (best.keras's weights), the run folder, the per-epoch history and what
    ``metrics.json`` holds (``test``: that model's test metrics; ``test_model``: its file and epoch)."""

    model: keras.Model
    output_dir: Path
    history: dict[str, list[float]]
    metrics: dict[str, Any]

    @property
    def test(self) -> dict[str, float] | None:
        """The kept model's test metrics (``None`` when the data has no test split)."""
        return self.metrics.get("test")


def train(
    blueprint: Any,
    data: str | Dataset | None = None,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    seed: int | None = None,
    output: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    deterministic: bool | None = None,
    resize: bool | None = None,
    mixed_precision: bool | None = None,
    jit_compile: bool | None = None,
    verbose: int | str = "auto",
    init_weights: str | os.PathLike[str] | None = None,
    distribution: str | None = None,
    weights: str | os.PathLike[str] | None = None,
) -> TrainResult:
    """Train a blueprint (object, path, YAML text, dict or zoo name) on ``data`` with its recipe.

    Arguments left ``None`` come from the blueprint's ``training:`` section (or its defaults). The
    run folder receives ``best.keras`` (the epoch with the lowest monitored value, evaluated once
    on the test set), ``last.keras``, the history, the metrics and ``curves.png`` (see
    :mod:`archbuilder.training.run_folder`).

    Args:
        blueprint: a :class:`~archbuilder.blueprint.Blueprint`, a path to a YAML file, YAML text, a
            dict or a zoo name.
        data: ``digits``, ``shapes``, ``mnist``, ``images:DIR``, ``npz:FILE``, ... (see
            :mod:`archbuilder.training.data`), or a loaded :class:`~archbuilder.training.data.Dataset`;
            ``None`` takes ``training.data``.
        epochs: epochs to train in all (a resumed run trains up to this many); ``None`` takes the recipe's.
        batch_size: images per batch (global, across replicas); ``None`` takes the recipe's.
        learning_rate: the optimizer's initial learning rate; ``None`` takes the recipe's.
        seed: seed of the initialization, the split, the shuffles and the augmentation; ``None``
            takes the recipe's.
        output: the run folder; ``None`` uses ``runs/<blueprint name>``.
        resume: continue the interrupted run in ``output`` from its last completed epoch, optimizer
            state included (with the settings it was started with). Excludes ``overwrite``.
        overwrite: start over in a folder that holds a run (finished, interrupted or damaged): its
            run files are replaced; without it a new run only replaces a run that completed no
            epoch, and other files in the folder are never touched.
        deterministic: ask for deterministic kernels (slower); ``None`` is off.
        resize: allow resizing images (and converting channels) to the blueprint's input; ``None``
            is off.
        mixed_precision: train in ``mixed_float16``; ``None`` is on with a GPU, off otherwise.
        jit_compile: compile with XLA; ``None`` is on with a GPU (TensorFlow, JAX), otherwise
            Keras's own ``"auto"`` choice.
        verbose: Keras's ``fit`` verbosity: 0 silent, 1 progress bar, 2 one line per epoch;
            ``"auto"`` is 1 on a terminal, else 2.
        init_weights: a ``.keras`` model (or a ``.weights.h5`` file with its ``blueprint.yaml``
            beside it) to start from, its weights matched by layer name (see
            :mod:`archbuilder.training.transfer`); ``None`` takes the recipe's ``init_weights``.
        distribution: ``mirrored``, ``multi_worker`` or ``data_parallel`` to train data-parallel
            (see :mod:`archbuilder.training.distribution`); ``None`` takes the recipe's.
        weights: ``"imagenet"``, or a keras.applications weights file or ``.keras`` model: starts a
            zoo twin of a keras.applications network from those weights, with the application's
            preprocessing in the model (see :mod:`archbuilder.pretrained`; a new head comes from
            ``pretrained_blueprint(name, classes=...)``). Excludes ``init_weights``.

    Returns:
        A :class:`TrainResult`: the model the run keeps (``best.keras``'s weights), the run folder,
        the per-epoch history and the metrics (``result.test``).

    Raises:
        BlueprintError: the blueprint or an override is invalid.
        DataError: the data cannot be loaded or does not fit the blueprint.
        RunError: the output folder or the settings do not allow the run.
        BuildError: with ``weights``, the blueprint is not a twin or the weights cannot be had.
    """
    options = TrainOptions(
        data=data,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        output=output,
        resume=resume,
        overwrite=overwrite,
        deterministic=deterministic,
        resize=resize,
        mixed_precision=mixed_precision,
        jit_compile=jit_compile,
        verbose=verbose,
        init_weights=init_weights,
        distribution=distribution,
        weights=weights,
    )
    return run_training(blueprint, options)


def run_training(blueprint: Any, options: TrainOptions) -> TrainResult:
    """:func:`train` with its options typed (what the command line calls)."""
    started = time.perf_counter()
    given = analyze(locate_source(blueprint)).blueprint
    if options.weights is not None:
        from archbuilder.pretrained import training_blueprint

        given = training_blueprint(given, options.weights, options.init_weights)
    folder = options.folder(given.name)
    # Created before anything touches TensorFlow (MultiWorkerMirroredStrategy must be).
    wanted = options.distribution or (given.training.distribution if given.training else None)
    strategy = create_distribution(wanted)
    plan = resume_plan(given, folder, options) if options.resume else new_plan(given, folder, options)
    plan.distribution = (
        strategy if plan.recipe.distribution == wanted else create_distribution(plan.recipe.distribution)
    )
    check_batch_size(plan.distribution, plan.settings.batch_size, plan.recipe.distribution)
    plan.verbose = options.verbosity(sys.stdout.isatty())
    plan.weights = None if options.weights is None else str(options.weights)
    with accelerator.precision_policy(plan.settings.precision):
        return _run_with_retry(plan, started)


# -- running -------------------------------------------------------------------------------------


def _run_with_retry(plan: Run, started: float) -> TrainResult:
    """Run; on out-of-memory, halve the batch size and try once more (from the last checkpoint, if any)."""

    def attempt(batch_size: int) -> TrainResult:
        return _run(plan if batch_size == plan.settings.batch_size else _with_batch_size(plan, batch_size), started)

    try:
        return halve_on_out_of_memory(attempt, plan.settings.batch_size, multiple=replicas(plan.distribution))
    except OutOfMemory as error:
        again = "again " if error.batch_size < plan.settings.batch_size else ""
        raise RunError(
            f"out of memory {again}at batch size {error.batch_size}: pass a smaller --batch-size, or train a "
            "smaller blueprint (`archbuilder summary` estimates the training memory)."
        ) from None


def _with_batch_size(plan: Run, batch_size: int) -> Run:
    """The run at a smaller batch size, from its last checkpoint (if any); its files say so."""
    state, start = resume_point(plan.folder, read_state(plan.folder) or {})
    settings = replace(plan.settings, batch_size=batch_size)
    state["settings"] = asdict(settings)
    recipe = plan.recipe.model_copy(update={"batch_size": batch_size})
    retry = replace(
        plan,
        settings=settings,
        start_epoch=start,
        state=state,
        recipe=recipe,
        blueprint=plan.blueprint.model_copy(update={"training": recipe}),
    )
    write_run_files(plan.folder, retry.blueprint, settings)
    write_state(plan.folder, state)
    return retry


def _run(plan: Run, started: float) -> TrainResult:
    with distribution_scope(plan.distribution):
        model, inputs, timing = _fit(plan)
    kept = keep_best(model, plan, timing[1].state)
    # Outside the scope: a test set that does not split evenly across the replicas is evaluated on one device.
    test = evaluate_test(model, plan)
    metrics = report(plan, model, inputs, timing, test, kept, time.perf_counter() - started)
    write_json_atomic(plan.folder / METRICS, metrics)
    write_state(plan.folder, {**timing[1].state, "finished": True})
    write_curves(plan.folder)  # curves.png, from history.csv: a resumed run draws what an uninterrupted one does
    print_summary(metrics, plan.folder)
    return TrainResult(model, plan.folder, read_history(plan.folder / HISTORY), metrics)


def _fit(plan: Run) -> tuple[keras.Model, TrainingInputs, tuple[EpochTimer, RunCheckpoint]]:
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


__all__ = ["TrainResult", "run_training", "train"]

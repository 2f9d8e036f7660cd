"""The training run: ``train()``, with one retry at a smaller batch after running out of memory. The run
is planned (new or resumed) in :mod:`archbuilder.training.planning`, fitted phase by phase in
:mod:`archbuilder.training.phases` and ended (the kept model tested, metrics.json, the summary) in
:mod:`archbuilder.training.report`.

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
from archbuilder.artifacts import hold_folder, write_json_atomic
from archbuilder.blueprint.model import Blueprint
from archbuilder.runtime import accelerator
from archbuilder.training.curves import write_curves
from archbuilder.training.data import Dataset
from archbuilder.training.distribution import (
    check_batch_size,
    create_distribution,
    distribution_scope,
    replicas,
)
from archbuilder.training.engine import OutOfMemory, halve_on_out_of_memory
from archbuilder.training.errors import RunError
from archbuilder.training.history_file import read_history
from archbuilder.training.options import TrainOptions
from archbuilder.training.phases import fit_run
from archbuilder.training.planning import Run, new_plan, resume_plan
from archbuilder.training.report import evaluate_test, keep_best, print_summary, report
from archbuilder.training.run_folder import (
    HISTORY,
    METRICS,
    read_state,
    resume_point,
    write_run_files,
    write_state,
)


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
    given = analyze(blueprint).blueprint
    if options.weights is not None:
        from archbuilder.pretrained import training_blueprint

        given = training_blueprint(given, options.weights, options.init_weights)
    folder = options.folder(given.name)
    with hold_folder(folder, "training", RunError):  # a second process training into it is refused
        return _train_in(folder, given, options, started)


def _train_in(folder: Path, given: Blueprint, options: TrainOptions, started: float) -> TrainResult:
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
        model, inputs, timing = fit_run(plan)
    kept = keep_best(model, plan, timing[1].state)
    # Outside the scope: a test set that does not split evenly across the replicas is evaluated on one device.
    test = evaluate_test(model, plan)
    metrics = report(plan, model, inputs, timing, test, kept, time.perf_counter() - started)
    write_json_atomic(plan.folder / METRICS, metrics)
    write_state(plan.folder, {**timing[1].state, "finished": True})
    write_curves(plan.folder)  # curves.png, from history.csv: a resumed run draws what an uninterrupted one does
    print_summary(metrics, plan.folder)
    return TrainResult(model, plan.folder, read_history(plan.folder / HISTORY), metrics)


__all__ = ["TrainResult", "run_training", "train"]

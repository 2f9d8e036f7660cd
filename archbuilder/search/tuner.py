"""KerasTuner glue, with its three roles kept apart:

* :class:`~archbuilder.search.hypermodel.BlueprintHyperModel` builds: KerasTuner values -> concrete blueprint ->
  compiled ``keras.Model`` (:mod:`archbuilder.search.hypermodel`);
* the oracles decide (:mod:`archbuilder.search.oracles`);
* :class:`BlueprintTuner` runs trials: trains with the recipe, contains NaN, out-of-memory and other
  failures (recorded, the search goes on), clears the Keras session between trials.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
from keras_tuner.src.engine import tuner_utils  # KerasTuner's HyperParameters -> TensorBoard HParams (not re-exported)

from archbuilder.analysis.report import human
from archbuilder.artifacts import ArtifactError, write_atomic
from archbuilder.blueprint.model import Blueprint
from archbuilder.search.hypermodel import BlueprintHyperModel
from archbuilder.search.oracles import SearchWriteError, write_search_json
from archbuilder.search.scoring import penalized_score, penalty_target
from archbuilder.search.screening import Candidate
from archbuilder.search.settings import SearchSettings
from archbuilder.search.trial import TrialFailure
from archbuilder.training.engine import FitOutcome, OutOfMemory, best_epoch, halve_on_out_of_memory
from archbuilder.training.recipe import head_outputs, metric_key
from archbuilder.wording import counted

#: How a failed trial's message starts: ``archbuilder-trial:STATUS:SECONDS:BATCH:text``.
FAILURE_PREFIX = "archbuilder-trial"
_FAILURE = re.compile(FAILURE_PREFIX + r":(\w+):([0-9.]+|-):([0-9]+|-):(.*)", re.S)
#: Metrics a trial reports besides the recipe's: its costs and how it ran.
EXTRA_METRICS = ("params", "macs", "activation_memory", "seconds", "batch_size", "epochs")
#: The trained model a completed trial keeps in its KerasTuner folder (its best epoch's weights).
TRIAL_MODEL = "model.keras"


class BlueprintTuner(kt.Tuner):
    """Runs trials: trains each candidate, contains what only training reveals, reports costs and time.

    Each completed trial keeps its trained model (the weights of its best epoch, the one it is
    scored by) as ``model.keras`` in its KerasTuner folder while it ranks among the ``top_k``;
    the others are removed as the search goes. With ``tensorboard`` (and the TensorFlow backend,
    which TensorBoard's writers need), each trial logs its epochs and its hyperparameters for
    TensorBoard's HParams dashboard under ``tensorboard/trial_<id>``. ``on_trial_done`` is called
    after each trial (the runner rewrites trials.csv and summary.json there).

    Args:
        oracle: the oracle that proposes the trials (:func:`archbuilder.search.oracle_factory.create_oracle`).
        hypermodel: the :class:`BlueprintHyperModel` of the space.
        settings: the space's ``search:`` settings (objective, epochs, seed, ``top_k``, ...).
        progress: print a line per epoch and per trial.
        tensorboard: the folder for TensorBoard logs; ``None`` (or a backend other than TensorFlow)
            writes none.
        on_trial_done: called with no argument after each trial ends.
        **kwargs: ``kt.Tuner`` arguments (``directory``, ``project_name``, ``overwrite``,
            ``executions_per_trial``, ...).
    """

    def __init__(
        self,
        oracle: kt.Oracle,
        hypermodel: BlueprintHyperModel,
        *,
        settings: SearchSettings,
        progress: bool = True,
        tensorboard: str | os.PathLike[str] | None = None,
        on_trial_done: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.tensorboard = (
            Path(tensorboard) if tensorboard is not None and keras.backend.backend() == "tensorflow" else None
        )
        self.on_trial_done = on_trial_done
        self.reports: dict[str, dict[str, Any]] = {}
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)

    def save(self) -> None:
        """Saves the oracle (not on a worker) and writes the tuner's state atomically."""
        if not self._is_worker():
            self.oracle.save()
        write_search_json(self._get_tuner_fname(), self.get_state())

    def _populate_initial_space(self) -> None:
        # Declare the space; never build models to discover it (KerasTuner builds with default values).
        hp = self.oracle.get_space()
        self.hypermodel.declare_hyperparameters(hp)
        self.oracle.update_space(hp)

    def model_path(self, trial_id: str) -> Path:
        """Where a completed trial keeps its trained model."""
        return Path(self.get_trial_dir(trial_id)) / TRIAL_MODEL

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
        """Trains the trial's candidate ``executions_per_trial`` times and returns the mean of each run's best
        epoch, plus its costs, seconds, batch size and epochs (and ``score`` when a cost is penalized); a NaN,
        out-of-memory or other failure is recorded and raised as KerasTuner's ``FailedTrialError``."""
        started = time.perf_counter()
        values = trial.hyperparameters.values
        hypermodel: BlueprintHyperModel = self.hypermodel
        candidate = hypermodel.candidate(values)
        blueprint = hypermodel.trial_blueprint(candidate)
        assert blueprint.training is not None
        batch_size = blueprint.training.batch_size
        epochs = int(values.get("tuner/epochs", self.settings.epochs))
        initial_epoch = int(values.get("tuner/initial_epoch", 0))
        spec = self.settings.objective_spec
        runs, trained = [], initial_epoch
        try:
            for execution in range(self.executions_per_trial):
                outcome, batch_size = self._execute(trial, batch_size, epochs, initial_epoch, execution)
                runs.append(best_epoch(outcome.history, spec.metric, spec.direction))
                trained = initial_epoch + outcome.epochs_trained
        except TrialFailure as failure:
            self._fail(trial, failure.status, started, batch_size, failure.message, candidate)
        except Exception as error:  # contained: recorded, and the search goes on
            if isinstance(error, kt.errors.FatalError):
                raise
            if isinstance(error, ArtifactError):  # a full disk stops the search, not only this trial
                raise SearchWriteError(str(error)) from error
            self._fail(trial, "error", started, batch_size, f"{type(error).__name__}: {error}", candidate)
        finally:
            keras.backend.clear_session()  # Keras's graph and layer state of this trial go (gc included)
        metrics = {name: sum(run[name] for run in runs) / len(runs) for name in runs[0] if all(name in r for r in runs)}
        if spec.metric not in metrics:
            self._fail(
                trial,
                "error",
                started,
                batch_size,
                f"the objective '{spec.metric}' was not logged (logged: {', '.join(metrics)})",
                candidate,
            )
        metrics.update({name: float(value) for name, value in candidate.costs.items()})
        metrics["seconds"] = time.perf_counter() - started
        metrics["batch_size"] = float(batch_size)
        metrics["epochs"] = float(trained)
        if spec.penalize:
            metrics["score"] = penalized_score(
                metrics[spec.metric],
                candidate.costs[spec.penalize],
                penalty_target(self.settings),
                spec.weight,
                spec.direction,
            )
        self.reports[trial.trial_id] = {"status": "completed", "metrics": metrics, "values": candidate.values}
        return metrics

    def _execute(
        self, trial: Any, batch_size: int, epochs: int, initial_epoch: int, execution: int
    ) -> tuple[FitOutcome, int]:
        """One training (the fit engine's out-of-memory halving: once, then the trial is infeasible).

        The last execution's model (its best epoch's weights) is saved as the trial's model.
        """
        hp = trial.hyperparameters
        spec = self.settings.objective_spec

        def attempt(size: int) -> tuple[FitOutcome, int]:
            keras.utils.set_random_seed(self.settings.seed + execution)
            self.hypermodel.batch_size = size
            model = self.hypermodel.build(hp)
            if "tuner/trial_id" in hp.values:  # a Hyperband promotion continues its earlier trial
                continue_from(model, self._get_checkpoint_fname(hp.values["tuner/trial_id"]))
            outcome = self.hypermodel.train_trial(
                hp,
                model,
                epochs=epochs,
                initial_epoch=initial_epoch,
                batch_size=size,
                seed=self.settings.seed + execution,
                monitor=spec.metric,
                direction=spec.direction,
                callbacks=self._callbacks(trial, epochs, execution),
            )
            if self.settings.tuner.continues_trials:  # a later trial may continue this one
                save_weights(model, self._get_checkpoint_fname(trial.trial_id))
            if execution == self.executions_per_trial - 1:
                write_atomic(self.model_path(trial.trial_id), model.save)
            return outcome, size

        if execution:
            keras.backend.clear_session()
        try:
            return halve_on_out_of_memory(attempt, batch_size, label=f"trial {trial.trial_id}: ")
        except OutOfMemory as error:
            raise TrialFailure("oom", f"{error}; marked infeasible") from None

    def _callbacks(self, trial: Any, epochs: int, execution: int) -> list[keras.callbacks.Callback]:
        """A progress line per epoch, and TensorBoard with the trial's hyperparameters."""
        callbacks: list[keras.callbacks.Callback] = []
        if self.progress:
            blueprint = self.hypermodel.trial_blueprint(self.hypermodel.candidate(trial.hyperparameters.values))
            callbacks.append(
                EpochProgress.for_trial(
                    self._trial_label(trial), epochs, blueprint, self.settings.objective_spec.metric, self._best_so_far
                )
            )
        if self.tensorboard is not None:
            callbacks.extend(tensorboard_callbacks(self.tensorboard, trial, execution, self.executions_per_trial))
        return callbacks

    def _trial_label(self, trial: Any) -> str:
        return f"[{int(trial.trial_id) + 1}/{self.settings.max_trials}] trial {trial.trial_id}"

    def _best_so_far(self) -> str:
        best = [t for t in self.oracle.get_best_trials(1) if t.status == "COMPLETED" and t.score is not None]
        return f"best so far: trial {best[0].trial_id}, {self.settings.score_name} {best[0].score:.4f}" if best else ""

    def _fail(
        self, trial: Any, status: str, started: float, batch_size: int, message: str, candidate: Candidate
    ) -> None:
        seconds = time.perf_counter() - started
        self.reports[trial.trial_id] = {
            "status": status,
            "message": message,
            "seconds": seconds,
            "batch_size": batch_size,
            "values": candidate.values,
        }
        text = message.replace("\n", " ")
        raise kt.errors.FailedTrialError(f"{FAILURE_PREFIX}:{status}:{seconds:.3f}:{batch_size}:{text}")

    def on_trial_end(self, trial: Any) -> None:
        """Also removes the models of trials outside the ``top_k`` (on the chief), prints the trial's line and
        calls ``on_trial_done``."""
        super().on_trial_end(trial)
        if not self._is_worker():  # the chief's files; a worker reports to the chief's oracle
            self._prune_models()
        if self.progress:
            print(self._progress_line(trial), flush=True)
        if self.on_trial_done is not None:
            self.on_trial_done()

    def _prune_models(self) -> None:
        """Keep the trained models of the ``top_k`` trials only (a long search does not fill the disk)."""
        keep = {t.trial_id for t in self.oracle.get_best_trials(self.settings.top_k)}
        for trial_id in self.oracle.trials:
            path = self.model_path(trial_id)
            if trial_id not in keep and path.exists():
                path.unlink()

    def _progress_line(self, trial: Any) -> str:
        report = self.reports.get(trial.trial_id, {"status": "error", "message": "no report"})
        name = self.settings.score_name
        text = f"{self._trial_label(trial)} {report['status']}: "
        if report["status"] == "completed":
            metrics = report["metrics"]
            text += (
                f"{name} {metrics[name]:.4f} ({int(metrics['params']):,} params, {human(int(metrics['macs']))} MACs, "
                f"{counted(int(metrics['epochs']), 'epoch')}, {metrics['seconds']:.1f} s)"
            )
        else:
            text += report["message"]
        best = self._best_so_far()
        return text + (f"; {best}" if best else "")


class EpochProgress(keras.callbacks.Callback):
    """One line per epoch inside a trial.

    For example ``[2/8] trial 1 epoch 3/5: loss 0.41, val_accuracy 0.88 (2.1 s); best so far: ...``.

    Args:
        label: what starts each line (``[2/8] trial 1``).
        epochs: the last epoch number shown (``epoch 3/5``).
        names: shown name -> logged key, for the values on the line (missing keys are skipped).
        best_so_far: gives the text after ``;`` (empty for none).
    """

    def __init__(self, label: str, epochs: int, names: dict[str, str], best_so_far: Callable[[], str]) -> None:
        super().__init__()
        self.label, self.epochs, self.names, self.best_so_far = label, epochs, names, best_so_far
        self.started = time.perf_counter()

    @classmethod
    def for_trial(
        cls, label: str, epochs: int, blueprint: Blueprint, objective: str, best_so_far: Callable[[], str]
    ) -> EpochProgress:
        """The line of a trial (or a final retraining) of ``blueprint``: its loss, objective and validation loss."""
        outputs = head_outputs(blueprint)
        names = {name: metric_key(name, outputs) for name in ("loss", objective, "val_loss")}
        return cls(label, epochs, names, best_so_far)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Starts the epoch's clock."""
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Prints the epoch's line."""
        logs = logs or {}
        shown = ", ".join(f"{name} {float(logs[key]):.4f}" for name, key in self.names.items() if key in logs)
        best = self.best_so_far()
        print(
            f"{self.label} epoch {epoch + 1}/{self.epochs}: {shown} ({time.perf_counter() - self.started:.1f} s)"
            + (f"; {best}" if best else ""),
            flush=True,
        )


def tensorboard_callbacks(folder: Path, trial: Any, execution: int, executions: int) -> list[keras.callbacks.Callback]:
    """Keras's TensorBoard callback and TensorBoard's HParams callback for one trial, as KerasTuner sets them up
    (``Tuner._configure_tensorboard_dir``; it does so only for user-passed callbacks, so it is repeated here)."""
    from tensorboard.plugins.hparams import api as hparams_api  # imports TensorFlow: only under its backend

    log_dir = folder / f"trial_{trial.trial_id}" / (f"execution_{execution}" if executions > 1 else "")
    hparams = tuner_utils.convert_hyperparams_to_hparams(trial.hyperparameters, hparams_api)
    return [
        keras.callbacks.TensorBoard(str(log_dir), write_graph=False, profile_batch=0),
        hparams_api.KerasCallback(writer=str(log_dir), hparams=hparams, trial_id=trial.trial_id),
    ]


def continue_from(model: keras.Model, path: str) -> None:
    """Load a trial's checkpoint (weights and optimizer state) into a compiled model of the same candidate.

    The optimizer's variables are created first, so its moments and step count are restored with the
    weights (a fresh optimizer has none yet, and Keras would skip them with a warning): the learning-rate
    schedule goes on from the earlier trial's last step. The weights are those of its best epoch (the
    checkpoint is saved after the fit engine restored them), the
    optimizer state that of its last epoch.
    """
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(path)


def save_weights(model: keras.Model, path: str) -> None:
    """``model.save_weights`` atomically (Keras wants the name to end in ``.weights.h5``; the temporary one does)."""

    def write(temporary: Path) -> None:
        staging = temporary.with_name(temporary.name + ".weights.h5")
        try:
            model.save_weights(staging)
            os.replace(staging, temporary)
        finally:
            staging.unlink(missing_ok=True)

    try:
        write_atomic(path, write)
    except ArtifactError as error:
        raise SearchWriteError(str(error)) from error


def parse_failure(message: str | None) -> tuple[str, float | None, int | None, str]:
    """(status, seconds, batch size, text) of a failed trial's message; ``error`` for foreign messages."""
    if message:
        found = _FAILURE.search(message)
        if found:
            status, seconds, batch, text = found.groups()
            return (
                status,
                None if seconds == "-" else float(seconds),
                None if batch == "-" else int(batch),
                text.strip().splitlines()[0] if text.strip() else "",
            )
        lines = [line for line in message.strip().splitlines() if line.strip()]
        return "error", None, None, lines[-1] if lines else ""
    return "error", None, None, ""


__all__ = [
    "TRIAL_MODEL",
    "BlueprintTuner",
    "EpochProgress",
    "parse_failure",
    "save_weights",
    "tensorboard_callbacks",
]

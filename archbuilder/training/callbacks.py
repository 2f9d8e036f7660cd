"""Callbacks of a training run: per-epoch checkpoints that survive a kill, the learning rate in the
logs, epoch timing, and a one-line-per-epoch log for output that is not a terminal."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import keras

from archbuilder.training.epoch_saving import save_epoch
from archbuilder.training.history_file import HistoryLog
from archbuilder.training.model_files import add_model_context
from archbuilder.training.run_folder import BEST_MODEL, CHECKPOINT_STATE, HISTORY, LAST_MODEL


class RunCheckpoint(keras.callbacks.Callback):
    """After every epoch: ``history.csv``, ``last.keras`` (model and optimizer state), ``checkpoint.json``
    naming the completed epoch, and ``best.keras`` when the monitored value improves.

    :func:`~archbuilder.training.epoch_saving.save_epoch` writes them in an order with one commit point,
    so a run killed at any moment (SIGKILL included) resumes from a consistent epoch: it loses at
    most the epoch in progress, and trains no epoch twice. Place it after the callbacks that add to
    the logs or count patience.

    Args:
        folder: the run folder.
        monitor: the logged value whose lowest epoch is ``best.keras`` (``val_loss``, or ``loss``
            without validation).
        state: the run's ``checkpoint.json`` content so far (copied; ``best``, the settings, ...).
        resumed: the run resumes: ``history.csv``'s rows on disk are kept.
        context: how the model is trained (data, resize, pixel range, ...), recorded in every
            ``.keras`` file with its epoch; ``None`` records nothing.
    """

    def __init__(
        self,
        folder: Path,
        monitor: str,
        state: dict[str, Any],
        *,
        resumed: bool = False,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.folder, self.monitor, self.state = folder, monitor, dict(state)
        #: How the model is trained (data, resize, pixel range, ...): recorded in every .keras file with its epoch.
        self.context = context
        #: history.csv's rows: those on disk when the run resumes (cut to its completed epochs by then).
        self.history = HistoryLog.read(folder / HISTORY) if resumed else HistoryLog()
        self.seconds: list[float] = []  # the time each epoch's checkpoint took
        #: Callbacks whose patience counters the checkpoint records (see RestorePatience); place them before it.
        self.watched: list[keras.callbacks.Callback] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes the epoch's checkpoint files (``best.keras`` too when ``monitor`` is at its lowest yet)."""
        started = time.perf_counter()
        logs = logs or {}
        self.history.add(epoch + 1, logs)  # Keras counts from 0; a run's files count from 1
        logged = logs.get(self.monitor)
        value = None if logged is None or not math.isfinite(float(logged)) else float(logged)  # NaN is never best
        best = self.state.get("best") or {}
        improved = value is not None and (best.get("value") is None or value < best["value"])
        if improved and value is not None:
            self.state["best"] = {"monitor": self.monitor, "value": float(value), "epoch": epoch + 1}
        self.state.update(
            completed_epochs=epoch + 1,
            optimizer_step=int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)),
            patience=patience_state(self.watched),
        )
        save_epoch(self.folder, self.state, lambda path: self._save(path, epoch + 1), self.history, improved=improved)
        self.seconds.append(time.perf_counter() - started)

    def _save(self, path: Path, epoch: int) -> None:
        self.model.save(path)
        if self.context is not None:
            add_model_context(path, {**self.context, "epoch": epoch})


#: What Keras's patience-keeping callbacks count, by class: a resumed run gives it back to them.
PATIENCE_ATTRIBUTES = {
    "ReduceLROnPlateau": ("wait", "best", "cooldown_counter"),
    "EarlyStopping": ("wait", "best", "best_epoch"),
}
#: The counters among them: whole numbers (``best`` is the monitored value).
PATIENCE_COUNTS = ("wait", "cooldown_counter", "best_epoch")


def patience_state(callbacks: list[keras.callbacks.Callback]) -> dict[str, dict[str, Any]]:
    """The counters of the plateau and early-stopping callbacks, as JSON-ready numbers: counts as integers,
    ``best_epoch`` counted from 1 as every epoch of a run (Keras counts it from 0)."""
    state: dict[str, dict[str, Any]] = {}
    for callback in callbacks:
        attributes = PATIENCE_ATTRIBUTES.get(type(callback).__name__, ())
        if attributes:
            values: dict[str, Any] = {}
            for name in attributes:
                value = getattr(callback, name, None)
                if value is None:
                    values[name] = None
                elif name in PATIENCE_COUNTS:
                    values[name] = int(value) + (1 if name == "best_epoch" else 0)
                else:
                    values[name] = float(value)
            state[type(callback).__name__] = values
    return state


class RestorePatience(keras.callbacks.Callback):
    """Gives resumed plateau/early-stopping callbacks the counters they had when the run stopped.

    Place it after them: Keras resets their counters in ``on_train_begin``, and this one runs next.
    (EarlyStopping's best weights are not kept across the interruption: with
    ``restore_best_weights`` it restores the best epoch since the resume.)

    Args:
        callbacks: the run's callbacks; only ``ReduceLROnPlateau`` and ``EarlyStopping`` are restored.
        saved: the counters :func:`patience_state` recorded, by callback class name.
    """

    def __init__(self, callbacks: list[keras.callbacks.Callback], saved: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.callbacks, self.saved = callbacks, saved

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Sets the saved counters back on the callbacks (``best_epoch`` counted from 0 again)."""
        for callback in self.callbacks:
            for name, value in self.saved.get(type(callback).__name__, {}).items():
                if value is not None and name in PATIENCE_COUNTS:
                    value = max(int(value) - 1, 0) if name == "best_epoch" else int(value)
                setattr(callback, name, value)


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate the optimizer's next update uses (its schedule evaluated at its iteration count)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class LearningRateLogger(keras.callbacks.Callback):
    """Adds ``learning_rate`` (the value the next update uses, schedules included) to each epoch's logs."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Records the optimizer's current learning rate in ``logs`` (unless it is already there)."""
        if logs is not None and "learning_rate" not in logs:
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """Keras's TensorBoard callback, writing per epoch only and leaving the training steps alone.

    Keras runs the batch-end hooks of a callback that defines them synchronously, turning every
    step's metrics into Python numbers before the next step starts; TensorBoard defines one even
    when it writes per epoch (where it writes nothing). On small models that costs several percent
    of the throughput, so this subclass drops it and declares itself safe for asynchronous dispatch.

    Args:
        log_dir: the folder TensorBoard writes to.
    """

    async_safe = True

    def __init__(self, log_dir: str) -> None:
        super().__init__(log_dir=log_dir, update_freq="epoch", write_graph=False, profile_batch=0)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Does nothing: this callback writes per epoch only."""
        return None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes the epoch's logs at step ``epoch + 1``."""
        super().on_epoch_end(epoch + 1, logs)  # the step is the epoch counted from 1, as in the run's other files


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch, end to end (training, validation and the other callbacks' epoch work).

    Place it last: each epoch is timed from the previous epoch's end (the first from the start of
    training, so it includes tracing and compilation).
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch_seconds: list[float] = []
        self._last = time.perf_counter()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Starts the first epoch's clock."""
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Records the time since the previous epoch's end (or the start of training)."""
        now = time.perf_counter()
        self.epoch_seconds.append(now - self._last)
        self._last = now

    def steady_seconds(self) -> float | None:
        """Median epoch time after the first (compilation) epoch; the first when there is only one."""
        times = sorted(self.epoch_seconds[1:] or self.epoch_seconds)
        return times[len(times) // 2] if times else None


__all__ = [
    "BEST_MODEL",
    "CHECKPOINT_STATE",
    "LAST_MODEL",
    "EpochTensorBoard",
    "EpochTimer",
    "HistoryLog",
    "LearningRateLogger",
    "RestorePatience",
    "RunCheckpoint",
    "current_learning_rate",
    "patience_state",
]

"""The fit engine: plain metric names, best-epoch tracking and restoring, NaN, the per-epoch hook, and the
out-of-memory halving."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import pytest

from archbuilder.training.engine import (
    FitOptions,
    OutOfMemory,
    best_epoch,
    best_index,
    fit,
    halve_on_out_of_memory,
)
from archbuilder.training.pipeline import TrainingInputs
from archbuilder.training.recipe import HeadOutput


def _outputs(*names: str) -> list[HeadOutput]:
    return [HeadOutput(name, "softmax", 3, 1.0) for name in names]


def _data(samples: int = 96) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")
    return x, y


def _model(heads: tuple[str, ...] = ("logits",), learning_rate: float = 0.05) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    outputs = [keras.layers.Dense(3, activation="softmax", name=name)(hidden) for name in heads]
    model = keras.Model(inputs, outputs if len(heads) > 1 else outputs[0])
    model.compile(
        keras.optimizers.SGD(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=[["accuracy"]] * len(heads) if len(heads) > 1 else ["accuracy"],
    )
    return model


def _inputs(heads: tuple[str, ...] = ("logits",)) -> TrainingInputs:
    x, y = _data()

    def targets(labels: np.ndarray) -> Any:
        return {name: labels for name in heads} if len(heads) > 1 else labels

    arguments = {
        "x": x[:64],
        "y": targets(y[:64]),
        "validation_data": (x[64:], targets(y[64:])),
        "batch_size": 16,
        "shuffle": False,
    }
    return TrainingInputs(arguments, steps_per_epoch=4, batch_size=16)


def test_history_speaks_plain_names_for_one_head_and_for_several() -> None:
    options = FitOptions(epochs=2, metrics=("accuracy",))
    one = fit(_model(), _inputs(), _outputs("logits"), options)
    assert sorted(one.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert one.epochs_trained == 2 and one.stopped is None and one.best_epoch is None
    heads = ("first", "second")
    two = fit(_model(heads), _inputs(heads), _outputs(*heads), options)
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(two.history)  # the first head's, as a trial reads


def test_the_best_epoch_is_found_and_its_weights_restored() -> None:
    model = _model()
    weights_by_epoch: list[list[np.ndarray]] = []
    keep = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: weights_by_epoch.append(model.get_weights()))
    options = FitOptions(
        epochs=6, metrics=("accuracy",), monitor="val_loss", direction="min", restore_best=True, callbacks=(keep,)
    )
    outcome = fit(model, _inputs(), _outputs("logits"), options)
    losses = outcome.history["val_loss"]
    assert outcome.best_epoch == int(np.argmin(losses))
    assert outcome.best == {name: series[outcome.best_epoch] for name, series in outcome.history.items()}
    for restored, kept in zip(model.get_weights(), weights_by_epoch[outcome.best_epoch], strict=True):
        np.testing.assert_array_equal(restored, kept)


def test_a_continued_fit_counts_epochs_from_its_start() -> None:
    options = FitOptions(epochs=5, initial_epoch=3, metrics=("accuracy",), monitor="val_accuracy")
    outcome = fit(_model(), _inputs(), _outputs("logits"), options)
    assert outcome.epochs_trained == 2 and outcome.initial_epoch == 3
    assert outcome.best_epoch in (3, 4)


def test_a_nan_loss_stops_the_fit_in_its_epoch() -> None:
    model = _model(learning_rate=1e30)
    outcome = fit(model, _inputs(), _outputs("logits"), FitOptions(epochs=5, initial_epoch=1))
    assert outcome.stopped == "nan" and outcome.nan_epoch == 1 and outcome.epochs_trained == 1
    assert not math.isfinite(outcome.history["loss"][-1])


def test_the_epoch_hook_sees_plain_metrics_and_can_stop() -> None:
    seen: list[tuple[int, list[str]]] = []

    def hook(epoch: int, metrics: dict[str, float]) -> bool:
        seen.append((epoch, sorted(metrics)))
        return epoch == 1

    heads = ("first", "second")
    options = FitOptions(epochs=5, metrics=("accuracy",), on_epoch=hook)
    outcome = fit(_model(heads), _inputs(heads), _outputs(*heads), options)
    assert outcome.stopped == "hook" and outcome.epochs_trained == 2
    assert [epoch for epoch, _ in seen] == [0, 1]
    assert seen[0][1] == ["accuracy", "loss", "val_accuracy", "val_loss"]


def test_restoring_needs_a_monitor() -> None:
    with pytest.raises(ValueError, match="monitor"):
        FitOptions(epochs=1, restore_best=True)


@pytest.mark.parametrize(
    ("values", "direction", "expected"),
    [
        ([0.5, 0.9, 0.9, 0.1], "max", 1),
        ([0.5, 0.9, 0.1], "min", 2),
        ([math.nan, 0.3, math.inf, 0.2], "max", 1),
        ([math.nan, math.nan], "max", None),
    ],
)
def test_best_index(values, direction, expected) -> None:
    assert best_index(values, direction) == expected


def test_best_epoch_falls_back_to_the_last_epoch() -> None:
    history = {"loss": [1.0, 0.5, 0.7], "val_accuracy": [0.2, 0.6, 0.4]}
    assert best_epoch(history, "val_accuracy", "max") == {"loss": 0.5, "val_accuracy": 0.6}
    assert best_epoch(history, "val_auc", "max") == {"loss": 0.7, "val_accuracy": 0.4}


class ResourceExhaustedError(Exception):
    """Named as TensorFlow's out-of-memory error."""


def _attempts(fail_above: int, log: list[int]):
    def attempt(batch_size: int) -> int:
        log.append(batch_size)
        if batch_size > fail_above:
            raise ResourceExhaustedError("OOM when allocating tensor")
        return batch_size

    return attempt


def test_out_of_memory_halves_the_batch_once(capsys: pytest.CaptureFixture[str]) -> None:
    log: list[int] = []
    assert halve_on_out_of_memory(_attempts(32, log), 64, label="trial 3: ") == 32
    assert log == [64, 32]
    assert (
        "trial 3: out of memory at batch size 64 (ResourceExhaustedError); retrying once with batch size 32"
        in capsys.readouterr().err
    )


def test_the_smaller_batch_stays_a_multiple_of_the_replicas() -> None:
    log: list[int] = []
    halve_on_out_of_memory(_attempts(24, log), 56, multiple=8)
    assert log == [56, 24]


@pytest.mark.parametrize(("batch_size", "multiple", "expected"), [(64, 1, 32), (1, 1, 1), (12, 8, 12)])
def test_out_of_memory_twice_or_unhalvable_is_out_of_memory(batch_size, multiple, expected) -> None:
    with pytest.raises(OutOfMemory) as raised:
        halve_on_out_of_memory(_attempts(0, []), batch_size, multiple=multiple)
    assert raised.value.batch_size == expected
    assert str(raised.value) == f"out of memory at batch size {expected} (ResourceExhaustedError)"


def test_other_errors_pass_through_untouched() -> None:
    def attempt(batch_size: int) -> int:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        halve_on_out_of_memory(attempt, 64)

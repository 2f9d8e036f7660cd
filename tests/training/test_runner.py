"""Training runs end to end: accuracy on digits, the run folder, resume after SIGKILL, the out-of-memory
retry, mixed precision, and the errors that stop a run before it starts."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

import archbuilder
from archbuilder.training.callbacks import current_learning_rate
from archbuilder.training.data import Dataset, Split
from archbuilder.training.errors import DataError, RunError
from tests.training.conftest import DIGITS_CNN, TINY, with_training

REPO = Path(__file__).resolve().parents[2]


def history_epochs(folder: Path) -> list[int]:
    with (folder / "history.csv").open(newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def test_digits_reaches_95_percent_and_writes_the_run_folder(tmp_path, capsys) -> None:
    result = archbuilder.train(DIGITS_CNN, data="digits", output=tmp_path / "run", verbose=0)
    assert result.test["accuracy"] >= 0.95  # about 0.97 after these 10 epochs
    folder = tmp_path / "run"
    assert sorted(p.name for p in folder.iterdir()) == [
        "best.keras",
        "blueprint.yaml",
        "checkpoint.json",
        "classes.json",
        "curves.png",
        "history.csv",
        "last.keras",
        "logs",
        "metrics.json",
    ]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["test"] == result.test and metrics["epochs"] == {
        "completed": 10,
        "planned": 10,
        "stopped_early": False,
    }
    assert metrics["data"] == {
        "name": "digits",
        "image_shape": [8, 8, 1],
        "classes": 10,
        "train": 1294,
        "validation": 144,
        "test": 359,
    }
    assert metrics["settings"]["precision"] == "float32" and metrics["settings"]["batch_size"] == 32
    assert len(metrics["timing"]["epoch_seconds"]) == len(metrics["timing"]["checkpoint_seconds"]) == 10
    assert metrics["timing"]["train_images_per_second"] > 0
    assert history_epochs(folder) == list(range(1, 11))  # counted from 1
    assert result.history["learning_rate"] == [pytest.approx(0.002)] * 10
    assert metrics["best"]["monitor"] == "val_loss" and 1 <= metrics["best"]["epoch"] <= 10
    resolved = archbuilder.load_blueprint(folder / "blueprint.yaml")
    assert resolved.training.data == "digits" and resolved.training.optimizer.learning_rate == 0.002
    assert json.loads((folder / "classes.json").read_text()) == [str(d) for d in range(10)]
    best = keras.saving.load_model(folder / "best.keras")
    assert best.count_params() == result.model.count_params()
    assert capsys.readouterr().out.splitlines()[-1].startswith("test accuracy ")


def test_the_recipe_reaches_the_compiled_model(tmp_path, monkeypatch) -> None:
    """A full recipe through train(): optimizer, schedule, loss, metrics, augmentation in the pipeline."""
    from archbuilder.training import phases

    seen = {}
    original = phases.create_inputs

    def spy(*args: object, **kwargs: object):
        seen["inputs"] = original(*args, **kwargs)
        return seen["inputs"]

    monkeypatch.setattr(phases, "create_inputs", spy)
    blueprint = with_training(
        TINY,
        (
            "{optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.0005}, "
            "schedule: {type: step, milestones: [1]}, label_smoothing: 0.1, metrics: [accuracy, top5], batch_size: 50, "
            "epochs: 2, augmentation: {flip: horizontal, crop_padding: 2}, early_stopping: {patience: 3}}"
        ),
    )
    result = archbuilder.train(blueprint, data="shapes:200", output=tmp_path / "run", verbose=0)
    optimizer = result.model.optimizer
    assert type(optimizer) is keras.optimizers.SGD
    assert (optimizer.momentum, optimizer.nesterov, optimizer.weight_decay) == (0.9, True, 0.0005)
    assert int(optimizer.iterations) == 2 * 4  # 180 training images in batches of 50
    assert current_learning_rate(optimizer) == pytest.approx(0.01)
    assert result.history["learning_rate"] == [pytest.approx(0.01), pytest.approx(0.01)]
    loss = result.model.get_compile_config()["loss"]["predictions"]
    assert loss["class_name"] == "CategoricalCrossentropy" and loss["config"]["label_smoothing"] == 0.1
    assert {"top5", "val_top5", "accuracy"} <= set(result.history)
    inputs = seen["inputs"]
    assert [type(layer).__name__ for layer in inputs.augmentation.layers] == [
        "ZeroPadding2D",
        "RandomCrop",
        "RandomFlip",
    ]
    assert inputs.kind == "tf.data" and inputs.steps_per_epoch == 4


@pytest.mark.slow  # test_run_folder.py kills a run mid-epoch and resumes it in the quick lane
def test_resume_after_sigkill_continues_at_the_next_epoch(tmp_path, capsys) -> None:
    blueprint = tmp_path / "digits_cnn.yaml"
    blueprint.write_text(DIGITS_CNN)
    folder = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "archbuilder",
        "train",
        str(blueprint),
        "--data",
        "digits",
        "--epochs",
        "40",
        "--batch-size",
        "8",
        "-o",
        str(folder),
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    state_file = folder / "checkpoint.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if state_file.exists() and json.loads(state_file.read_text()).get("completed_epochs", 0) >= 2:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    completed = json.loads(state_file.read_text())["completed_epochs"]
    assert 2 <= completed < 40
    with pytest.raises(RunError) as error:  # a new run must not overwrite the interrupted one
        archbuilder.train(blueprint, data="digits", output=folder)
    assert str(error.value) == (
        f"{folder} holds an interrupted run ({completed} of 40 epochs done). Pass --resume to "
        "continue it, --overwrite to start it over, or --output DIR to train elsewhere."
    )
    steps = 162  # ceil(1294 / 8)
    result = archbuilder.train(blueprint, output=folder, resume=True, epochs=completed + 1, verbose=0)
    assert (
        f"resuming {folder} at epoch {completed + 1}/{completed + 1} (optimizer step {completed * steps})"
        in capsys.readouterr().out
    )
    assert history_epochs(folder) == list(range(1, completed + 2))
    assert int(result.model.optimizer.iterations) == (completed + 1) * steps
    assert json.loads(state_file.read_text())["finished"] is True


def test_resume_errors(tmp_path) -> None:
    folder = tmp_path / "run"
    blueprint = with_training(TINY, "{epochs: 1, batch_size: 64}")
    with pytest.raises(RunError) as error:
        archbuilder.train(blueprint, output=folder, resume=True)
    assert str(error.value) == (
        f"nothing to resume in {folder}: it has no checkpoint.json. Run without --resume to "
        "start a new run (or point --output at the run's folder)."
    )
    archbuilder.train(blueprint, data="shapes:64", output=folder, verbose=0)
    with pytest.raises(RunError) as error:
        archbuilder.train(blueprint, output=folder, resume=True)
    assert str(error.value) == (
        f"the run in {folder} already finished its 1 epoch; pass --epochs N with N above 1 to train it further."
    )
    with pytest.raises(RunError) as error:
        archbuilder.train(blueprint, output=folder, resume=True, epochs=2, batch_size=32)
    assert str(error.value) == (
        f"the run in {folder} used batch_size=64; it cannot resume with batch_size=32. Resume "
        "with the run's own settings (leave batch_size out), or pass --output to start a new "
        "run elsewhere."
    )
    with pytest.raises(RunError) as error:
        archbuilder.train(TINY.replace("filters: 4", "filters: 8"), output=folder, resume=True, epochs=2)
    assert str(error.value) == (
        f"{folder} was trained from a different 'tiny' blueprint; resume with the same "
        "blueprint, or pass --output to start a new run elsewhere."
    )
    with pytest.raises(RunError) as error:
        archbuilder.train(blueprint, output=folder, resume=True, overwrite=True)
    assert str(error.value) == (
        f"resume and overwrite exclude each other: pass --resume to continue the run in {folder}, "
        "or --overwrite to start it over."
    )
    with pytest.raises(RunError) as error:  # a finished run is the user's: replaced only when asked
        archbuilder.train(blueprint, data="shapes:64", output=folder, verbose=0)
    assert str(error.value) == (
        f"{folder} holds a finished run (1 epoch). Pass --overwrite to replace it, --resume with "
        "--epochs N to train it further, or --output DIR to train elsewhere."
    )
    result = archbuilder.train(blueprint, data="shapes:64", output=folder, overwrite=True, verbose=0)
    assert history_epochs(folder) == [1] and result.metrics["epochs"]["completed"] == 1


def test_a_run_that_failed_before_its_first_epoch_is_replaced(tmp_path, capsys) -> None:
    folder = tmp_path / "run"
    with pytest.raises(RunError):  # the plateau schedule needs validation data
        archbuilder.train(
            with_training(TINY, "{epochs: 1, validation_split: 0.0, schedule: {type: plateau}}"),
            data="shapes:64",
            output=folder,
            verbose=0,
        )
    result = archbuilder.train(
        with_training(TINY, "{epochs: 1, schedule: {type: plateau}}"), data="shapes:64", output=folder, verbose=0
    )
    assert f"replacing the unstarted run in {folder}" in capsys.readouterr().out
    assert result.metrics["epochs"]["completed"] == 1


def test_out_of_memory_halves_the_batch_and_retries_once(tmp_path, monkeypatch, capsys) -> None:
    class ResourceExhaustedError(Exception):
        pass

    original_fit = keras.Model.fit
    calls = []

    def fit(self, *args: object, **kwargs: object):
        calls.append(kwargs)
        if len(calls) == 1:
            raise ResourceExhaustedError("OOM when allocating tensor with shape[64,4,8,8]")
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", fit)
    result = archbuilder.train(
        with_training(TINY, "{epochs: 1, batch_size: 64}"), data="shapes:128", output=tmp_path / "run", verbose=0
    )
    assert (
        "out of memory at batch size 64 (ResourceExhaustedError); retrying once with batch size 32"
        in capsys.readouterr().err
    )
    assert len(calls) == 2 and result.metrics["settings"]["batch_size"] == 32
    assert int(result.model.optimizer.iterations) == 4  # 115 images in batches of 32
    assert archbuilder.load_blueprint(tmp_path / "run" / "blueprint.yaml").training.batch_size == 32


def test_out_of_memory_twice_is_a_clear_error(tmp_path, monkeypatch) -> None:
    def fit(self, *args: object, **kwargs: object):
        raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1.00GiB")

    monkeypatch.setattr(keras.Model, "fit", fit)
    with pytest.raises(RunError) as error:
        archbuilder.train(
            with_training(TINY, "{epochs: 1, batch_size: 64}"), data="shapes:128", output=tmp_path / "run", verbose=0
        )
    assert str(error.value) == (
        "out of memory again at batch size 32: pass a smaller --batch-size, or train a smaller "
        "blueprint (`archbuilder summary` estimates the training memory)."
    )


def test_a_nan_loss_stops_the_run_at_once(tmp_path, capsys) -> None:
    recipe = "{epochs: 4, batch_size: 32, optimizer: {type: sgd, learning_rate: 1.0e+30}}"
    result = archbuilder.train(with_training(TINY, recipe), data="shapes:128", output=tmp_path / "run", verbose=0)
    err = capsys.readouterr().err
    assert (
        "the loss became NaN in epoch 1; training stopped. No epoch had a finite monitored value, so the run "
        "keeps this epoch's model; a lower --learning-rate" in err
    )
    assert result.metrics["epochs"] == {"completed": 1, "planned": 4, "stopped_early": True}
    assert result.metrics["test_model"]["file"] == "last.keras"  # no epoch had a finite validation loss


def test_mixed_precision_keeps_the_classifier_in_float32(tmp_path) -> None:
    result = archbuilder.train(
        with_training(TINY, "{epochs: 1, batch_size: 64}"),
        data="shapes:64",
        output=tmp_path / "run",
        mixed_precision=True,
        jit_compile=False,
        verbose=0,
    )
    model = result.model
    assert type(model.optimizer).__name__ == "LossScaleOptimizer"
    assert model.get_layer("stem_0").dtype_policy.name == "mixed_float16"
    assert model.get_layer("predictions").dtype_policy.name == "float32"
    assert model.predict(np.zeros((1, 16, 16, 3), dtype="float32"), verbose=0).dtype == np.float32
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    assert result.metrics["settings"]["precision"] == "mixed_float16"


def test_a_dataset_object_and_the_pixel_range(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (40, 16, 16, 3)).astype("float32"), np.arange(40) % 10
    dataset = Dataset("mine", Split(x, y), Split(x[:10], y[:10]), tuple("abcdefghij"))
    result = archbuilder.train(
        with_training(TINY, "{epochs: 1, pixel_range: [0, 255], validation_split: 0.0}"),
        data=dataset,
        output=tmp_path / "run",
        verbose=0,
    )
    assert result.metrics["data"] == {
        "name": "mine",
        "image_shape": [16, 16, 3],
        "classes": 10,
        "train": 40,
        "test": 10,
    }
    assert result.metrics["best"]["monitor"] == "loss"


@pytest.mark.parametrize(
    "blueprint, data, error_type, message",
    [
        (
            "lenet5",
            "digits",
            DataError,
            "data 'digits' has 8x8x1 images but blueprint 'lenet5' expects 32x32x1. Pass "
            "--resize (resize=True in Python) to resize them to 32x32, or train a blueprint whose input is [8, 8, 1].",
        ),
        (
            TINY,
            None,
            RunError,
            "no data to train on: pass --data (digits, shapes, mnist, fashion_mnist, cifar10, cifar100, "
            "images:DIR, npz:FILE), data=... in Python, or set training.data in the blueprint.",
        ),
        (
            TINY.replace("head: {pool: global_avg, classes: 10}", ""),
            "shapes",
            RunError,
            "blueprint 'tiny' has no head: training needs a classifier. Add `head: {classes: N}` to the blueprint.",
        ),
        (
            with_training(TINY, "{validation_split: 0.0, schedule: {type: plateau}}"),
            "shapes:50",
            RunError,
            "training.schedule.monitor is 'val_loss' but there is no validation data (validation_split is 0 and the "
            "data has no validation split). Set training.validation_split above 0, or monitor 'loss'.",
        ),
    ],
)
def test_errors_before_training(tmp_path, blueprint, data, error_type, message) -> None:
    with pytest.raises(error_type) as error:
        archbuilder.train(blueprint, data=data, output=tmp_path / "run", verbose=0)
    assert str(error.value) == message


def test_importing_archbuilder_does_not_import_keras_and_train_is_a_function() -> None:
    program = (
        "import sys, types, archbuilder, archbuilder.training, archbuilder.training.data\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch'))\n"
        "print(isinstance(archbuilder.train, types.FunctionType), heavy)"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.stdout.strip() == "True []", result.stderr


@pytest.mark.slow  # the same run as `make demo`; test_digits_reaches_95_percent trains to quality in the quick lane
def test_readme_main_job_lenet5_on_resized_digits(tmp_path) -> None:
    """The proposed main job: zoo lenet5 (32x32x1) on digits with --resize and a short modern recipe."""
    from archbuilder.zoo import load_zoo_blueprint

    blueprint = load_zoo_blueprint("lenet5").to_dict()
    blueprint["training"] = {
        "optimizer": {"type": "adam", "learning_rate": 0.003},
        "schedule": {"type": "cosine"},
        "epochs": 30,
        "augmentation": {"translation": 0.08},
    }
    result = archbuilder.train(blueprint, data="digits", resize=True, output=tmp_path / "run", verbose=0)
    assert result.test["accuracy"] >= 0.96  # 0.978 to 0.989 over seeds 0-2
    # The README's sample images (8x8 test digits, which no run trains on): predict reads the model's own recipe.
    from tests.commands import archbuilder as command

    examples = [REPO / "docs" / "examples" / f"digit_{digit}.png" for digit in (3, 7)]
    predicted = command("predict", str(tmp_path / "run" / "best.keras"), *map(str, examples))
    assert predicted.returncode == 0, predicted.stderr
    assert [line.split(": ")[1].split(" ")[0] for line in predicted.stdout.splitlines()[:2]] == ["3", "7"]


def test_resume_keeps_the_patience_of_early_stopping_and_plateau(tmp_path) -> None:
    """A learning rate of 1e-12 leaves the float32 weights as they are, so val_loss never improves after
    epoch 1: early stopping (patience 3) must stop after epoch 4, counting the 2 epochs before the resume."""
    blueprint = with_training(
        TINY,
        "{optimizer: {type: adam, learning_rate: 1.0e-12}, batch_size: 16, "
        "early_stopping: {monitor: val_loss, patience: 3}, "
        "schedule: {type: plateau, monitor: val_loss, patience: 10}}",
    )
    folder = tmp_path / "run"
    archbuilder.train(blueprint, data="shapes:64", epochs=2, output=folder, verbose=0)
    saved = json.loads((folder / "checkpoint.json").read_text())["patience"]
    assert saved["EarlyStopping"]["wait"] == 1 and saved["ReduceLROnPlateau"]["wait"] == 1
    archbuilder.train(blueprint, output=folder, resume=True, epochs=8, verbose=0)
    assert history_epochs(folder) == [1, 2, 3, 4]  # without the restored counters: after epoch 6
    final = json.loads((folder / "checkpoint.json").read_text())["patience"]
    assert final["EarlyStopping"]["wait"] == 3 and final["ReduceLROnPlateau"]["wait"] == 3
    assert final["EarlyStopping"]["best"] == saved["EarlyStopping"]["best"]

"""What a run carries forward (issue 13, point 8), each command as a user types it.

- every ``.keras`` file a run writes records how it was trained, so ``evaluate`` and ``predict``
  need no option again, wherever the file is copied; other models read the files beside them, and
  one that cannot be read is a one-line error naming it;
- the test metrics ``train`` prints and writes are those of ``best.keras``, the model the run keeps,
  and ``metrics.json`` names it and its epoch;
- epochs are counted from 1 in every file and message of a run;
- counts are integers in the JSON.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.commands import archbuilder

REPO = Path(__file__).resolve().parents[2]

# 8x8 digits resized to 12x12 (--resize); two epochs at a sane learning rate, then one at a learning
# rate that wrecks the weights: the best epoch (lowest val_loss) is not the last.
SMALL = """\
name: small
input: {shape: [12, 12, 1]}
stem: [{type: conv, filters: 8, kernel_size: 3}]
head: {pool: global_avg, classes: 10}
training:
  optimizer: {type: adam, learning_rate: 0.01}
  batch_size: 64
  seed: 1
  early_stopping: {patience: 5}
  phases: [{epochs: 2}, {epochs: 1, learning_rate: 3.0}]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("settings")
    (folder / "small.yaml").write_text(SMALL)
    done = archbuilder("train", "small.yaml", "--data", "digits", "--resize", "-o", "run", cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder / "run", done


def metrics_of(run_folder: Path) -> dict:
    return json.loads((run_folder / "metrics.json").read_text())


def test_the_test_metrics_are_those_of_best_keras(run) -> None:
    folder, done = run
    metrics = metrics_of(folder)
    best = metrics["best"]
    assert best["monitor"] == "val_loss" and best["epoch"] < 3  # the third epoch wrecked the weights
    assert metrics["test_model"] == {"file": "best.keras", "epoch": best["epoch"], "chosen_by": "lowest val_loss"}
    last_line = done.stdout.strip().splitlines()[-1]
    assert last_line.startswith(
        f"test accuracy {metrics['test']['accuracy']:.4f}, loss {metrics['test']['loss']:.4f} "
        f"(359 images; best.keras, epoch {best['epoch']} of 3); "
    )
    evaluated = archbuilder("evaluate", str(folder / "best.keras"), "--json", cwd=folder.parent)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    results = json.loads(evaluated.stdout)
    assert set(metrics["test"]) == {"loss", "accuracy"}
    for name in metrics["test"]:
        assert results[name] == pytest.approx(metrics["test"][name], abs=1e-6), name
    assert results["images"] == metrics["data"]["test"] == 359


def test_epochs_are_counted_from_1_in_every_file(run) -> None:
    from archbuilder.training.curves import run_curves_figure

    folder, done = run
    with (folder / "history.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    metrics, state = metrics_of(folder), json.loads((folder / "checkpoint.json").read_text())
    by_epoch = {int(row["epoch"]): float(row["val_loss"]) for row in rows}
    assert metrics["best"]["epoch"] == min(
        by_epoch, key=lambda epoch: by_epoch[epoch]
    )  # the row of the lowest val_loss
    assert metrics["best"]["value"] == pytest.approx(by_epoch[metrics["best"]["epoch"]], rel=1e-6)
    assert state["best"] == metrics["best"] and state["completed_epochs"] == metrics["epochs"]["completed"] == 3
    keras_lines = [line for line in done.stdout.splitlines() if line.startswith("Epoch ")]
    assert keras_lines == ["Epoch 1/2", "Epoch 2/2", "Epoch 3/3"]  # Keras's progress, one fit per phase
    assert "epochs 1-2: learning rate 0.01" in done.stdout and "epochs 3-3: learning rate 3" in done.stdout
    figure = run_curves_figure(folder)
    assert [float(x) for x in figure.axes[0].get_lines()[0].get_xdata()] == [1.0, 2.0, 3.0]
    assert "1) epochs 1-2: lr 0.01; 2) epochs 3-3: lr 3" in figure.get_suptitle()
    with zipfile.ZipFile(folder / "best.keras") as archive:
        assert json.loads(archive.read("archbuilder.json"))["epoch"] == metrics["best"]["epoch"]
    with zipfile.ZipFile(folder / "last.keras") as archive:
        assert json.loads(archive.read("archbuilder.json"))["epoch"] == 3


def test_counts_are_integers_in_the_json(run) -> None:
    folder, _ = run
    metrics = metrics_of(folder)
    assert all(type(metrics["data"][split]) is int for split in ("train", "validation", "test"))
    assert all(type(value) is int for value in metrics["epochs"].values() if not isinstance(value, bool))
    assert type(metrics["best"]["epoch"]) is int and type(metrics["test_model"]["epoch"]) is int
    patience = json.loads((folder / "checkpoint.json").read_text())["patience"]["EarlyStopping"]
    assert type(patience["wait"]) is int and type(patience["best_epoch"]) is int and patience["best_epoch"] >= 1
    assert type(patience["best"]) is float


def test_a_copied_model_needs_none_of_the_runs_options(run, tmp_path: Path) -> None:
    """best.keras copied away from its run folder: its data (digits), --resize (8x8 -> 12x12) and
    class names come with it."""
    folder, _ = run
    shutil.copyfile(folder / "best.keras", tmp_path / "model.keras")
    evaluated = archbuilder("evaluate", "model.keras", "--json", cwd=tmp_path)  # no --data, no --resize
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    results = json.loads(evaluated.stdout)
    assert results["loss"] == pytest.approx(metrics_of(folder)["test"]["loss"], abs=1e-6)
    assert type(results["images"]) is int and all(type(entry["support"]) is int for entry in results["per_class"])
    assert all(type(count) is int for row in results["confusion"]["matrix"] for count in row)

    from archbuilder.training.data import load_dataset

    digit = load_dataset("digits").test
    Image.fromarray((digit.x[0, :, :, 0] * 255).astype("uint8"), mode="L").save(tmp_path / "digit.png")  # 8x8
    predicted = archbuilder("predict", "model.keras", "digit.png", "--top-k", "2", cwd=tmp_path)  # no --resize
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    line = predicted.stdout.strip()
    assert line.startswith("digit.png: ") and line.count("(") == 2


def test_a_model_from_build_reads_its_blueprint_and_a_damaged_one_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(
        SMALL.replace("  seed: 1\n", "  seed: 1\n  data: digits\n  pixel_range: [-1.0, 1.0]\n")
    )
    built = archbuilder("build", "small.yaml", "-o", "model.keras", cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]

    from archbuilder.training.classifier import RunContext, run_context

    context = run_context(tmp_path / "model.keras")  # from model.blueprint.yaml, which build wrote
    assert context == RunContext(pixel_range=(-1.0, 1.0), seed=1, data="digits")

    np.save(tmp_path / "images.npy", np.zeros((2, 12, 12, 1), dtype="float32"))
    blueprint = tmp_path / "model.blueprint.yaml"
    blueprint.write_text(blueprint.read_text().replace("head:", "head: [", 1))  # damaged
    predicted = archbuilder("predict", "model.keras", "images.npy", cwd=tmp_path)
    assert predicted.returncode == 1
    [line] = predicted.stderr.strip().splitlines()[-1:]
    assert (
        line.startswith(
            "model.blueprint.yaml: cannot be read as the model's blueprint, which says which pixel "
            "range the model takes ("
        )
        and "Traceback" not in predicted.stderr
    )
    assert line.endswith("Restore it, or move it away to feed the model pixels in [0, 1].")


def test_an_older_runs_model_reads_its_run_folder(tmp_path: Path) -> None:
    """A model without the record (an older version's run): blueprint.yaml, then checkpoint.json or, once
    that is deleted, metrics.json, then classes.json."""
    from archbuilder.training.classifier import run_context

    model = tmp_path / "best.keras"
    model.write_bytes(b"")  # only the files beside it are read here
    (tmp_path / "blueprint.yaml").write_text(SMALL.replace("  seed: 1\n", "  seed: 1\n  data: digits\n"))
    settings = {
        "data": "digits",
        "batch_size": 64,
        "seed": 1,
        "resize": True,
        "deterministic": False,
        "precision": "float32",
        "jit_compile": False,
    }
    (tmp_path / "metrics.json").write_text(json.dumps({"settings": settings}))
    (tmp_path / "classes.json").write_text(json.dumps([f"digit {i}" for i in range(10)]))
    context = run_context(model)
    assert (context.data, context.resize, context.seed, context.pixel_range) == ("digits", True, 1, (0.0, 1.0))
    assert context.class_names[3] == "digit 3"
    (tmp_path / "checkpoint.json").write_text(json.dumps({"settings": {**settings, "resize": False}}))
    assert run_context(model).resize is False  # checkpoint.json first

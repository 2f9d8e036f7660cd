"""`archbuilder train`, `evaluate` and `predict`: exit codes, one-line user errors, outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from archbuilder.cli import main
from tests.training.conftest import DIGITS_CNN


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A digits model trained for 3 epochs through the command line."""
    folder = tmp_path_factory.mktemp("cli")
    blueprint = folder / "digits_cnn.yaml"
    blueprint.write_text(DIGITS_CNN)
    code = main(
        [
            "train",
            str(blueprint),
            "--data",
            "digits",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--learning-rate",
            "0.003",
            "--seed",
            "1",
            "-o",
            str(folder / "run"),
        ]
    )
    assert code == 0
    return folder / "run"


def test_train_writes_the_run_with_the_overrides(trained) -> None:
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["epochs"]["completed"] == 3 and metrics["test"]["accuracy"] > 0.8
    assert metrics["settings"]["batch_size"] == 16 and metrics["settings"]["seed"] == 1
    assert metrics["settings"]["recipe"]["optimizer"]["learning_rate"] == 0.003
    assert (trained / "logs").is_dir() and any((trained / "logs").rglob("events.out.tfevents.*"))


def test_non_terminal_output_is_one_line_per_epoch(trained, capsys) -> None:
    code = main(
        [
            "train",
            str(trained / "blueprint.yaml"),
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "-o",
            str(trained.parent / "again"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert [line for line in lines if line.startswith("Epoch ")] == ["Epoch 1/2", "Epoch 2/2"]
    assert sum(" - loss: " in line for line in lines) == 2
    assert lines[-1].startswith("test accuracy ") and lines[-1].endswith(f"wrote {trained.parent / 'again'}")


def test_evaluate(trained, capsys) -> None:
    assert main(["evaluate", str(trained / "best.keras")]) == 0  # the run's own data
    line = capsys.readouterr().out.strip()
    assert line.startswith("359 test images: accuracy 0.") and ", loss " in line and ", top5 " in line
    assert main(["evaluate", str(trained / "last.keras"), "--data", "digits", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert set(results) == {"images", "split", "accuracy", "loss", "top5", "per_class", "confusion", "confusion_image"}
    assert results["images"] == 359 and isinstance(results["images"], int) and results["split"] == "test"
    assert (trained / "confusion.png").is_file()


def test_evaluate_says_when_the_data_has_only_a_validation_split(trained, tmp_path, capsys) -> None:
    from archbuilder.training.data import load_dataset

    digits = load_dataset("digits")
    data = tmp_path / "held_out.npz"
    np.savez(data, x=digits.train.x[:40], y=digits.train.y[:40], x_val=digits.test.x[:30], y_val=digits.test.y[:30])
    assert main(["evaluate", str(trained / "best.keras"), "--data", f"npz:{data}"]) == 0
    assert capsys.readouterr().out.startswith("30 validation images: accuracy ")


def test_evaluate_prepares_the_runs_own_data_as_the_run_did(tmp_path, capsys) -> None:
    blueprint = tmp_path / "small.yaml"
    blueprint.write_text(
        "name: small\ninput: {shape: [12, 12, 1]}\nstem: [{type: conv, filters: 4, kernel_size: 3}]\n"
        "head: {pool: global_avg, classes: 10}\ntraining: {epochs: 1, batch_size: 128}\n"
    )
    assert main(["train", str(blueprint), "--data", "digits", "--resize", "-o", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run" / "last.keras")]) == 0  # digits, resized to 12x12
    assert capsys.readouterr().out.startswith("359 test images: accuracy ")
    assert main(["evaluate", str(tmp_path / "run" / "last.keras"), "--data", "digits"]) == 0  # resized as the run did
    assert capsys.readouterr().out.startswith("359 test images: accuracy ")


def test_predict_images_and_arrays(trained, tmp_path, capsys) -> None:
    from archbuilder.training.data import load_dataset

    digits = load_dataset("digits")
    picture = tmp_path / "digit.png"
    Image.fromarray((digits.test.x[0, :, :, 0] * 255).astype("uint8"), mode="L").save(picture)
    array = tmp_path / "digits.npy"
    np.save(array, digits.test.x[:2])
    assert main(["predict", str(trained / "best.keras"), str(picture), str(array), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(picture), f"{array}[0]", f"{array}[1]"]
    assert all(line.count("(") == 3 for line in lines)
    assert lines[1].split(": ")[1].startswith(str(digits.test.y[0]) + " (")  # the likeliest class, by name
    big = tmp_path / "big.png"
    Image.new("L", (16, 16)).save(big)
    assert main(["predict", str(trained / "best.keras"), str(big)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"{big}: 16x16x1 image(s) but the model expects 8x8x1. Pass --resize to resize them."
    )
    assert main(["predict", str(trained / "best.keras"), str(big), "--resize"]) == 0


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["train", "lenet5", "--data", "digits"],
            "data 'digits' has 8x8x1 images but blueprint 'lenet5' expects 32x32x1. Pass --resize (resize=True in "
            "Python) to resize them to 32x32, or train a blueprint whose input is [8, 8, 1].",
        ),
        (
            ["train", "lenet5", "--data", "cifar"],
            "unknown data 'cifar'. Did you mean 'cifar10'? Known: digits, shapes, mnist, fashion_mnist, cifar10, "
            "cifar100, images:DIR, npz:FILE.",
        ),
        (
            ["train", "lenet", "--data", "digits"],
            "lenet: no such file, and no zoo blueprint 'lenet'. Did you mean 'lenet5'? See `archbuilder zoo list` "
            "for the",
        ),
        (
            ["evaluate", "missing.keras", "--data", "digits"],
            "missing.keras: no such model file. Pass a .keras file, e.g. runs/<name>/best.keras.",
        ),
    ],
)
def test_user_errors_are_one_line_with_exit_1(arguments, message, tmp_path, capsys) -> None:
    code = main(arguments + (["-o", str(tmp_path / "run")] if arguments[0] == "train" else []))
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().startswith(message) and "Traceback" not in err


def test_train_help_lists_the_options(capsys) -> None:
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--data",
        "--epochs",
        "--batch-size",
        "--learning-rate",
        "--output",
        "--resume",
        "--seed",
        "--deterministic",
        "--resize",
        "--no-mixed-precision",
        "--no-jit",
    ):
        assert option in out

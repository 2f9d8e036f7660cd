"""The README's examples run as written: its Python blocks, its YAML blueprints, its error listing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import archbuilder
from archbuilder.cli import EXIT_INVALID, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_the_quickstart_next_step_runs_as_printed() -> None:
    """The commands after ``make demo``, as the README prints them, from the checkout's root in a fresh shell."""
    [step] = [block for block in blocks("sh") if block.startswith("source .venv/bin/activate")]
    if not (ROOT / ".venv" / "bin" / "activate").exists():
        pytest.skip("no .venv here: make demo or make test creates it")
    environment = {name: value for name, value in os.environ.items() if name not in ("VIRTUAL_ENV", "PYTHONHOME")}
    environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # a new terminal: no archbuilder on PATH before the step
    result = subprocess.run(
        ["bash", "-c", f"set -e\n{step}"], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("lenet5"), result.stdout


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run(index: int, tmp_path: Path) -> None:
    """Each Python block runs as a user pastes it: alone, in a fresh interpreter, in an empty folder (no
    checkout files at hand: a path like ``blueprints/x.yaml`` would only work from the repository)."""
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", blocks("python")[index]],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_yaml_examples_are_the_zoo_files(name: str) -> None:
    shown = next(block for block in blocks("yaml") if f"name: {name}\n" in block)
    zoo = archbuilder.load_blueprint(ROOT / "blueprints" / f"{name}.yaml")
    assert archbuilder.load_blueprint(shown) == zoo.model_copy(update={"training": None})  # the README omits the recipe


def test_training_example_is_the_lenet5_recipe() -> None:
    shown = next(block for block in blocks("yaml") if block.startswith("training:"))
    recipe = archbuilder.load_blueprint(ROOT / "blueprints" / "lenet5.yaml").training
    assert (
        archbuilder.load_blueprint(f"name: x\ninput: {{shape: [8, 8, 1]}}\nstem: [{{type: flatten}}]\n{shown}").training
        == recipe
    )


BAD = next(block for block in blocks("yaml") if block.startswith("name: x\ninput: {shape: [32, 32, 3]}"))  # bad.yaml


def test_error_listing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(BAD)
    assert main(["validate", "bad.yaml"]) == EXIT_INVALID
    printed = capsys.readouterr().out.splitlines()
    listing = next(block for block in blocks("text") if "archbuilder validate bad.yaml" in block)
    shown = [line.split("...")[0] for line in listing.splitlines()[1:]]
    assert len(printed) == len(shown)
    for expected, actual in zip(shown, printed):
        assert actual.startswith(expected)


def test_transfer_learning_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's two-step transfer example runs and reports what it took, as shown."""
    monkeypatch.chdir(tmp_path)
    body = next(block for block in blocks("yaml") if block.startswith("# body.yaml"))
    recipe = next(block for block in blocks("yaml") if "init_weights:" in block)
    (tmp_path / "body.yaml").write_text(body)
    new = body.split("training:")[0].replace("small_body", "small_transfer").replace("classes: 4", "classes: 8")
    (tmp_path / "new.yaml").write_text(new + recipe)
    assert main(["train", "body.yaml"]) == 0
    capsys.readouterr()
    assert main(["train", "new.yaml"]) == 0
    printed = capsys.readouterr().out
    listing = next(block for block in blocks("text") if block.startswith("init_weights"))
    for line in listing.splitlines():
        assert line in printed


def _flowers() -> str:
    return next(block for block in blocks("yaml") if block.startswith("# flowers.yaml"))


def test_backbone_summary_is_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flowers.yaml").write_text(_flowers())
    assert main(["summary", "flowers.yaml"]) == 0
    printed = capsys.readouterr().out.splitlines()
    listing = next(block for block in blocks("text") if "archbuilder summary flowers.yaml" in block).splitlines()[1:]
    assert printed[: len(listing)] == listing


def test_backbone_example_trains_its_phases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The flowers recipe, on the procedural shapes at 32x32 with weights from a local file (no download)."""
    import keras
    import numpy as np

    monkeypatch.chdir(tmp_path)
    source = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    for layer in source.layers:  # "pretrain" the BN statistics, so that the features do not vanish
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.0
    source(np.random.default_rng(0).uniform(-1, 1, (64, 32, 32, 3)).astype("float32"), training=True)
    source.save_weights(tmp_path / "mobilenet_v2.weights.h5")
    text = (
        _flowers()
        .replace("[160, 160, 3]", "[32, 32, 3]")
        .replace("weights: imagenet", "weights: mobilenet_v2.weights.h5")
        .replace("classes: 5", "classes: 4")
        .replace("{epochs: 5}", "{epochs: 1}")
        .replace("{epochs: 5,", "{epochs: 1,")
    )
    result = archbuilder.train(text, data="shapes:64", batch_size=16, output=tmp_path / "run", verbose=0)
    # result.model holds best.keras's epoch (maybe phase 1's); the last epoch is phase 2's.
    assert result.metrics["test_model"]["file"] in ("best.keras", "last.keras")
    network = keras.saving.load_model(tmp_path / "run" / "last.keras").get_layer("backbone")
    # Phase 2 trained blocks 10-16 and left blocks 1-9, the stem and every BatchNorm as loaded.
    for layer, loaded in zip(network.layers, source.layers):
        changed = any(not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(layer.weights, loaded.weights))
        expected = layer.name.startswith(tuple(f"block_{i}_" for i in range(10, 17))) or layer.name == "Conv_1"
        expected = expected and bool(layer.weights) and not isinstance(layer, keras.layers.BatchNormalization)
        assert changed == expected, layer.name
    assert archbuilder.load_blueprint(tmp_path / "run" / "blueprint.yaml").training.pixel_range == (0.0, 255.0)

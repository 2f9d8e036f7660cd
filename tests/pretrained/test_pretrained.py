"""Zoo twins of keras.applications with pretrained weights (issue 14): create_model, build/train --weights.

No test needs the network: the weights are files saved from ``keras.applications.X(weights=None)``
(MobileNet, its batch-norm statistics randomized so that its outputs are not all alike), put where
the test needs them: passed by path, or in a temporary Keras cache where ``weights="imagenet"``
finds them as it finds Keras's downloads.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

import archbuilder
from archbuilder.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from archbuilder.errors import ArchbuilderError
from archbuilder.pretrained import TWINS, pretrained_blueprint, pretrained_model
from archbuilder.training.data import Dataset, Split

REPO = Path(__file__).resolve().parents[2]
SHAPE = (64, 64, 3)  # MobileNet at 64x64 keeps the tests fast (keras.applications allows 32 and up)


def randomize_batch_norm(model: keras.Model, seed: int = 1) -> None:
    """Batch-norm statistics away from (0, 1), so a random network's outputs differ from input to input."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.get_weights()[0].shape
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, shape),
                    rng.normal(0, 0.1, shape),
                    rng.normal(0, 0.1, shape),
                    rng.uniform(0.5, 1.5, shape),
                ]
            )


def save_legacy_h5(model: keras.Model, path: Path) -> Path:
    """The weights in the HDF5 layout of the files keras.applications downloads."""
    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, model)
    return path


@pytest.fixture(scope="module")
def mobilenet(tmp_path_factory: pytest.TempPathFactory) -> tuple[keras.Model, Path]:
    """keras.applications.MobileNet at 64x64 with its top, and its weights saved as save_weights writes them."""
    model = keras.applications.MobileNet(weights=None, input_shape=SHAPE)
    randomize_batch_norm(model)
    path = tmp_path_factory.mktemp("weights") / "mobilenet.weights.h5"
    model.save_weights(path)
    return model, path


def random_images(shape: tuple[int, ...] = SHAPE, count: int = 2) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (count, *shape)).astype("float32")


def features(model: keras.Model, x: np.ndarray, layer: str) -> np.ndarray:
    return keras.Model(model.inputs, model.get_layer(layer).output).predict(x, verbose=0)


def assert_same_outputs(ours: keras.Model, theirs: keras.Model, x: np.ndarray) -> None:
    """Outputs within 1e-5, and the classifier's pre-softmax outputs within 1e-5 of their scale."""
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5, rtol=0)
    mine = features(ours, x, "head_classifier")
    reference = features(theirs, x, "conv_preds")
    assert float(np.abs(reference).max()) > 0.1  # a network whose outputs say something
    np.testing.assert_allclose(mine, reference, atol=1e-5 * float(np.abs(reference).max()), rtol=0)


def body(model: keras.Model, top: int = 1) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if layer.weights][:-top]


# -- create_model ---------------------------------------------------------------------------------


def test_weights_file_gives_the_keras_application_predictions(mobilenet, capsys) -> None:
    theirs, path = mobilenet
    model, report = pretrained_model("mobilenet", path, input_shape=SHAPE)
    assert_same_outputs(model, theirs, random_images())
    assert len(report.loaded) == 55 and report.new == [] and report.tensors == len(theirs.weights)
    assert report.values == theirs.count_params()
    assert "loaded 55 of 55 layers with weights (137 tensors, 4,253,864 values), 0 new" in capsys.readouterr().out


def test_new_classes_keep_every_body_weight_and_replace_the_head(mobilenet) -> None:
    theirs, path = mobilenet
    model = archbuilder.create_model("mobilenet", weights=path, classes=10, input_shape=SHAPE, verbose=False)
    assert model.output_shape == (None, 10)
    mine, reference = body(model), body(theirs)
    assert len(mine) == len(reference) == 54
    for layer, source in zip(mine, reference):
        for value, expected in zip(layer.get_weights(), source.get_weights()):
            np.testing.assert_array_equal(value, expected)
    assert [tuple(w.shape) for w in model.get_layer("head_classifier").weights] == [(1, 1, 1024, 10), (10,)]
    x = random_images()
    pooled = [layer.name for layer in model.layers if "pool" in layer.name][-1]
    np.testing.assert_allclose(
        features(model, x, pooled).reshape(2, -1),
        features(theirs, x, "global_average_pooling2d").reshape(2, -1),
        atol=1e-5,
        rtol=1e-5,
    )
    _, report = pretrained_model("mobilenet", path, classes=10, input_shape=SHAPE, verbose=False)
    assert report.new == [("head_classifier", "10 classes instead of the weights' 1000")]


def test_downloaded_h5_files_with_and_without_top(mobilenet, tmp_path) -> None:
    theirs, _ = mobilenet
    top = save_legacy_h5(theirs, tmp_path / "mobilenet_1_0_224_tf.h5")
    model, report = pretrained_model("mobilenet", top, input_shape=SHAPE, verbose=False)
    assert_same_outputs(model, theirs, random_images())
    no_top = keras.applications.MobileNet(weights=None, input_shape=SHAPE, include_top=False)
    no_top.set_weights(theirs.get_weights()[:-2])
    path = save_legacy_h5(no_top, tmp_path / "mobilenet_1_0_224_tf_no_top.h5")
    model, report = pretrained_model("mobilenet", path, input_shape=SHAPE, verbose=False)
    assert len(report.loaded) == 54
    assert report.new == [("head_classifier", "the weights have no top (saved with include_top=False)")]
    np.testing.assert_array_equal(
        model.get_layer("stem_0").get_weights()[0], theirs.get_layer("conv1").get_weights()[0]
    )


def test_a_keras_model_of_the_same_application(mobilenet, tmp_path) -> None:
    theirs, _ = mobilenet
    path = tmp_path / "mobilenet.keras"
    theirs.save(path)
    model, report = pretrained_model("mobilenet", path, input_shape=SHAPE, verbose=False)
    assert_same_outputs(model, theirs, random_images())
    assert len(report.loaded) == 55


def test_imagenet_comes_from_the_keras_cache(mobilenet, tmp_path, monkeypatch) -> None:
    """weights="imagenet" asks keras.applications, which finds its file in the cache and does not download."""
    theirs, _ = mobilenet
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(tmp_path))
    (tmp_path / "models").mkdir()
    save_legacy_h5(theirs, tmp_path / "models" / "mobilenet_1_0_224_tf.h5")  # what Keras downloads for 224x224
    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", _no_network)
    model, report = pretrained_model("mobilenet", "imagenet", verbose=False)
    reference = keras.applications.MobileNet(weights="imagenet")
    assert_same_outputs(model, reference, random_images((224, 224, 3)))
    assert report.source == "imagenet" and len(report.loaded) == 55


def _no_network(url: str, *args: object, **kwargs: object) -> None:
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def test_imagenet_offline_names_the_file_and_where_to_put_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(tmp_path))
    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", _no_network)
    with pytest.raises(ArchbuilderError) as caught:
        archbuilder.create_model("mobilenet", weights="imagenet", classes=5)
    message = str(caught.value)
    assert "\n" not in message
    assert "mobilenet_1_0_224_tf_no_top.h5" in message  # a new head needs the file without the top
    assert str(tmp_path / "models" / "mobilenet_1_0_224_tf_no_top.h5") in message
    assert "--weights PATH" in message and "Temporary failure in name resolution" in message


@pytest.mark.slow
def test_efficientnet_imagenet_weights_predict_as_keras(tmp_path, monkeypatch) -> None:
    """Keras adds a per-channel Rescaling to EfficientNet with weights='imagenet' only; it is folded in."""
    source = keras.applications.EfficientNetB0(weights=None)
    rng = np.random.default_rng(2)
    normalization = next(layer for layer in source.layers if isinstance(layer, keras.layers.Normalization))
    mean, variance, count = normalization.get_weights()
    normalization.set_weights([rng.uniform(100, 150, mean.shape), rng.uniform(2000, 4000, variance.shape), count])
    monkeypatch.setattr("keras.src.backend.config._KERAS_DIR", str(tmp_path))
    (tmp_path / "models").mkdir()
    path = save_legacy_h5(source, tmp_path / "models" / "efficientnetb0.h5")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    from keras.src.applications import efficientnet

    monkeypatch.setitem(efficientnet.WEIGHTS_HASHES, "b0", (digest, efficientnet.WEIGHTS_HASHES["b0"][1]))
    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", _no_network)
    model, report = pretrained_model("efficientnet_b0", "imagenet", verbose=False)
    reference = keras.applications.EfficientNetB0(weights="imagenet")
    x = random_images((224, 224, 3))
    ours, theirs = (features(m, x, "predictions") for m in (model, reference))
    np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0)
    mine = keras.Model(model.inputs, model.get_layer("predictions").input).predict(x, verbose=0)
    expected = keras.Model(reference.inputs, reference.get_layer("predictions").input).predict(x, verbose=0)
    np.testing.assert_allclose(mine, expected, atol=1e-5 * float(np.abs(expected).max()), rtol=0)
    assert any("folded" in note for note in report.notes)
    # The same file by path is recognized as Keras's ImageNet file (its hash), and predicts the same.
    by_path, report = pretrained_model("efficientnet_b0", path, verbose=False)
    mine = keras.Model(by_path.inputs, by_path.get_layer("predictions").input).predict(x, verbose=0)
    np.testing.assert_allclose(mine, expected, atol=1e-5 * float(np.abs(expected).max()), rtol=0)
    assert any("folded" in note for note in report.notes)


# -- what is refused, in one line -----------------------------------------------------------------


def one_line_error(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ArchbuilderError) as caught:
        call()
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_an_entry_that_is_not_a_twin_lists_the_twins() -> None:
    message = one_line_error(lambda: archbuilder.create_model("resnet18", weights="imagenet"))
    assert "'resnet18' has no pretrained weights" in message
    assert all(name in message for name in TWINS) and len(TWINS) == 17


def test_inputs_and_files_that_cannot_take_the_weights(mobilenet, tmp_path) -> None:
    _, path = mobilenet
    assert "at least 32x32" in one_line_error(lambda: pretrained_blueprint("mobilenet", input_shape=(16, 16, 3)))
    assert "3 channels" in one_line_error(lambda: pretrained_blueprint("mobilenet", input_shape=(64, 64, 1)))
    assert "is not a file" in one_line_error(lambda: archbuilder.create_model("mobilenet", weights=tmp_path / "no.h5"))
    message = one_line_error(lambda: archbuilder.create_model("mobilenet_v2", weights=path, input_shape=SHAPE))
    assert "does not hold the weights of keras.applications.MobileNetV2" in message


def test_vgg_at_another_size_replaces_its_top_and_says_why() -> None:
    from archbuilder.pretrained.transfer import _top_reason
    from archbuilder.zoo import load_zoo_blueprint

    native = load_zoo_blueprint("vgg16").resolve()
    assert _top_reason(pretrained_blueprint("vgg16", input_shape=(64, 64, 3)), native, 1000) == (
        "input 64x64x3 instead of 224x224x3: the FC layers after the Flatten take another size"
    )
    assert (
        _top_reason(
            pretrained_blueprint("resnet50", input_shape=(64, 64, 3)), load_zoo_blueprint("resnet50").resolve(), 1000
        )
        is None
    )  # global pooling: the top fits


def test_without_weights_any_zoo_entry_with_new_classes() -> None:
    assert archbuilder.create_model("lenet5", classes=3).output_shape == (None, 3)


def test_preprocessing_is_for_twins_only() -> None:
    message = one_line_error(lambda: archbuilder.create_model("lenet5", preprocessing=True))
    assert message.startswith("preprocessing puts a keras.applications network's preprocess_input first; 'lenet5'")
    assert pretrained_blueprint("MobileNet", preprocessing=True, pretrained=False).name == "mobilenet"


# -- command line ---------------------------------------------------------------------------------


@pytest.mark.slow  # a fresh process building MobileNet: the quick lane's 10 minutes (train --weights stays there)
def test_build_with_weights_in_a_fresh_process(mobilenet, tmp_path) -> None:
    theirs, path = mobilenet
    output = tmp_path / "mobilenet10.keras"
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "archbuilder",
            "build",
            "mobilenet",
            "--weights",
            str(path),
            "--classes",
            "10",
            "--input-shape",
            "64,64,3",
            "-o",
            str(output),
        ],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == EXIT_OK, result.stderr[-3000:]
    assert "loaded 54 of 55 layers with weights" in result.stdout
    assert "new (fresh weights): head_classifier: 10 classes instead of the weights' 1000" in result.stdout
    model = keras.saving.load_model(output)
    assert model.output_shape == (None, 10)
    for layer, source in zip(body(model), body(theirs)):
        for value, expected in zip(layer.get_weights(), source.get_weights()):
            np.testing.assert_array_equal(value, expected)
    assert "--weights" in (tmp_path / "mobilenet10.blueprint.yaml").read_text().splitlines()[0]


def test_build_and_train_refuse_in_one_line(capsys) -> None:
    assert main(["build", "resnet18", "--weights", "imagenet", "-o", "x.keras"]) == EXIT_INVALID
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "vgg16, vgg19, resnet50" in error
    assert main(["build", "mobilenet", "--classes", "3", "-o", "x.keras"]) == EXIT_USAGE
    assert main(["train", "mobilenet", "--classes", "3"]) == EXIT_USAGE
    assert "go with --weights" in capsys.readouterr().err
    assert (
        main(["build", "mobilenet", "--weights", "imagenet", "--set", "head.classes=3", "-o", "x.keras"]) == EXIT_USAGE
    )
    assert main(["train", "mobilenet", "--weights", "imagenet", "--set", "head.classes=3"]) == EXIT_USAGE
    assert "--set does not go with --weights" in capsys.readouterr().err


@pytest.mark.slow  # test_train_command_with_weights trains from the weights in the quick lane
def test_train_starts_from_the_weights_with_the_preprocessing_in_the_model(mobilenet, tmp_path) -> None:
    _, path = mobilenet
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (24, 32, 32, 3)).astype("float32"), rng.integers(0, 3, 24)
    data = Dataset("tiny", Split(x, y), Split(x[:6], y[:6]), ("a", "b", "c"))
    blueprint = pretrained_blueprint("mobilenet", classes=3, input_shape=(32, 32, 3))
    result = archbuilder.train(
        blueprint, data=data, epochs=1, batch_size=8, output=tmp_path / "run", verbose=0, weights=path
    )
    transfer = json.loads((tmp_path / "run" / "metrics.json").read_text())["transfer"]
    assert len(transfer["loaded"]) == 54 and transfer["new"][0]["layer"] == "head_classifier"
    saved = archbuilder.load_blueprint(tmp_path / "run" / "blueprint.yaml")
    assert saved.stem[0].type == "imagenet_preprocessing" and saved.stem[0].mode == "tf"
    assert tuple(saved.training.pixel_range) == (0.0, 255.0)
    assert result.model.output_shape == (None, 3)


def test_train_command_with_weights(mobilenet, tmp_path, capsys) -> None:
    _, path = mobilenet
    rng = np.random.default_rng(0)
    data = tmp_path / "tiny.npz"
    np.savez(
        data,
        x=rng.integers(0, 256, (16, 32, 32, 3)).astype("uint8"),
        y=rng.integers(0, 2, 16),
        x_test=rng.integers(0, 256, (4, 32, 32, 3)).astype("uint8"),
        y_test=rng.integers(0, 2, 4),
    )
    assert (
        main(
            [
                "train",
                "mobilenet",
                "--weights",
                str(path),
                "--classes",
                "2",
                "--input-shape",
                "32,32,3",
                "--data",
                f"npz:{data}",
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "-o",
                str(tmp_path / "run"),
            ]
        )
        == EXIT_OK
    )
    printed = capsys.readouterr().out
    assert "loaded 54 of 55 layers with weights" in printed and "2 classes instead of the weights' 1000" in printed
    assert (
        main(
            [
                "train",
                "mobilenet",
                "--weights",
                str(path),
                "--init-weights",
                str(path),
                "--data",
                f"npz:{data}",
                "-o",
                str(tmp_path / "other"),
            ]
        )
        == EXIT_INVALID
    )
    assert "pass one of them" in capsys.readouterr().err

"""``backbone: {keras_application: ...}``: the analyzer's figures equal the Keras model's, the model
holds the application (as one nested model) and its own preprocessing, and weights load from a file
or fail clearly (offline ImageNet download, a missing or mismatched file)."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import keras
import numpy as np
import pytest

import archbuilder
from archbuilder.blueprint import BlueprintError
from archbuilder.blueprint.applications import APPLICATIONS
from archbuilder.compile import build_model
from archbuilder.compile.custom_layers import ImagenetPreprocessing

from .support import assert_analysis_equals_model


def backbone_blueprint(
    application: str,
    *,
    shape: tuple[int, int, int] = (33, 33, 3),
    weights: str = "none",
    trainable: bool | None = None,
    stages: list | None = None,
    **backbone: object,
) -> dict:
    spec = {"keras_application": application, "weights": weights, **backbone}
    if trainable is not None:
        spec["trainable"] = trainable
    blueprint = {"name": "transfer", "input": {"shape": list(shape)}, "backbone": spec, "head": {"classes": 3}}
    if stages:
        blueprint["stages"] = stages
    return blueprint


#: Deeper or compound-scaled siblings of an application the quick lane checks (same blocks, more of them).
SIBLINGS = {"ResNet101", "ResNet152", *(f"EfficientNetB{i}" for i in range(1, 8))}


@pytest.mark.parametrize(
    "application", [pytest.param(a, marks=pytest.mark.slow) if a in SIBLINGS else a for a in sorted(APPLICATIONS)]
)
def test_analysis_equals_keras_for_every_application(application: str) -> None:
    # 33x33: an odd side, where EfficientNet's and MobileNetV2's correct_pad padding depends on the size.
    blueprint = backbone_blueprint(application)
    model = build_model(blueprint)
    analysis = archbuilder.analyze(blueprint)
    assert_analysis_equals_model(analysis, model)
    network = model.get_layer("backbone")
    assert isinstance(network, keras.Model)
    reference = getattr(keras.applications, application)(include_top=False, weights=None, input_shape=(33, 33, 3))
    assert network.count_params() == reference.count_params()
    assert [w.shape for w in network.weights] == [w.shape for w in reference.weights]


@pytest.mark.parametrize("application, trainable", [("ResNet50", False), ("MobileNetV2", False), ("VGG16", True)])
def test_trainable_flag_and_stages_after_the_backbone(application: str, trainable: bool) -> None:
    blueprint = backbone_blueprint(
        application,
        shape=(48, 40, 3),
        trainable=trainable,
        stages=[{"block": {"type": "conv", "filters": 8, "kernel_size": 1}}],
    )
    model = build_model(blueprint)
    assert model.get_layer("backbone").trainable is trainable
    assert_analysis_equals_model(archbuilder.analyze(blueprint), model)


def test_default_trainable_follows_the_weights() -> None:
    assert archbuilder.analyze(backbone_blueprint("MobileNet")).blueprint.backbone.trainable is True
    pretrained = {**backbone_blueprint("MobileNet"), "backbone": {"keras_application": "MobileNet"}}
    resolved = archbuilder.analyze(pretrained).blueprint
    assert resolved.backbone.weights == "imagenet" and resolved.backbone.trainable is False
    assert resolved.training.pixel_range == (0.0, 255.0)


@pytest.mark.parametrize(
    "application, module",
    [
        ("ResNet50", "resnet50"),
        ("VGG16", "vgg16"),
        ("ResNet50V2", "resnet_v2"),
        ("MobileNetV2", "mobilenet_v2"),
        ("DenseNet121", "densenet"),
    ],
)
def test_preprocessing_is_the_applications_own(application: str, module: str) -> None:
    model = build_model(backbone_blueprint(application, shape=(32, 32, 3)))
    layer = model.get_layer("backbone_preprocessing")
    assert isinstance(layer, ImagenetPreprocessing) and layer.mode == APPLICATIONS[application].preprocessing
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = getattr(keras.applications, module).preprocess_input(images.copy())
    np.testing.assert_allclose(np.asarray(layer(images)), expected, rtol=1e-5, atol=1e-4)


def test_efficientnet_has_no_extra_preprocessing_and_preprocessing_can_be_left_out() -> None:
    names = [layer.name for layer in build_model(backbone_blueprint("EfficientNetB0", shape=(32, 32, 3))).layers]
    assert "backbone_preprocessing" not in names
    names = [layer.name for layer in build_model(backbone_blueprint("ResNet50", preprocessing=False)).layers]
    assert names[:2] == ["input", "backbone"]


def _saved_weights(tmp_path: Path, application: str, shape: tuple[int, int, int]) -> tuple[Path, keras.Model]:
    source = getattr(keras.applications, application)(include_top=False, weights=None, input_shape=shape)
    for weight in source.weights:  # distinct values, so a copy is recognisable
        weight.assign(
            np.random.default_rng(len(weight.path)).normal(size=weight.shape).astype("float32") * 0.01
            + (1.0 if "variance" in weight.path else 0.0)
        )
    path = tmp_path / f"{application}.weights.h5"
    source.save_weights(path)
    return path, source


@pytest.mark.parametrize("trainable", [False, True])
def test_weights_from_a_local_file_and_inference_mode_batch_norm(tmp_path: Path, trainable: bool) -> None:
    path, source = _saved_weights(tmp_path, "MobileNetV2", (32, 32, 3))
    blueprint = backbone_blueprint("MobileNetV2", shape=(32, 32, 3), weights=str(path), trainable=trainable)
    model = build_model(blueprint)
    network = model.get_layer("backbone")
    for mine, theirs in zip(network.weights, source.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert network.trainable is trainable
    # Pretrained, trained or not: its BatchNormalization layers stay frozen, so a training step runs
    # them in inference mode (the statistics kept); the analyzer counts their gamma/beta as non-trainable.
    assert not any(layer.trainable for layer in network.layers if isinstance(layer, keras.layers.BatchNormalization))
    assert any(w.trainable for w in network.weights) is trainable
    assert_analysis_equals_model(archbuilder.analyze(blueprint), model)
    images = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(model(images, training=True)), np.asarray(model(images, training=False)), rtol=1e-5, atol=1e-6
    )


def test_untrained_backbone_trains_its_batch_norm() -> None:
    model = build_model(backbone_blueprint("MobileNetV2", shape=(32, 32, 3)))
    images = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    assert not np.allclose(np.asarray(model(images, training=True)), np.asarray(model(images, training=False)))


def test_saved_model_loads_with_plain_keras(tmp_path: Path) -> None:
    model = build_model(backbone_blueprint("ResNet50V2", shape=(32, 32, 3), trainable=False))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    images = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(model(images)), rtol=1e-5, atol=1e-6)
    assert loaded.get_layer("backbone").trainable is False


def _build_error(blueprint: dict) -> str:
    with pytest.raises(BlueprintError) as caught:
        build_model(blueprint)
    (problem,) = caught.value.problems
    return f"{'.'.join(map(str, problem.location))}: {problem.message}"


def test_missing_weights_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.weights.h5"
    assert _build_error(backbone_blueprint("ResNet50", weights=str(missing))) == (
        f"backbone: weights: {missing} is not a file. Give the path of a .weights.h5 file saved from "
        "keras.applications.ResNet50(include_top=False), 'imagenet' or 'none'"
    )


def test_weights_of_another_application(tmp_path: Path) -> None:
    path, _ = _saved_weights(tmp_path, "MobileNet", (32, 32, 3))
    message = _build_error(backbone_blueprint("MobileNetV2", shape=(32, 32, 3), weights=str(path)))
    assert message.startswith(f"backbone: weights: {path} does not hold the weights of MobileNetV2 without its top (")
    assert message.endswith("Save them with keras.applications.MobileNetV2(include_top=False, ...).save_weights(...)")


def test_offline_imagenet_download_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from keras.src.utils import file_utils

    def offline(url: str, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    monkeypatch.setattr(file_utils.config, "keras_home", lambda: str(tmp_path))  # nothing cached
    monkeypatch.setattr("keras.src.backend.config.keras_home", lambda: str(tmp_path))
    message = _build_error(backbone_blueprint("MobileNet", shape=(32, 32, 3), weights="imagenet"))
    assert message.startswith(
        "backbone: could not download the ImageNet weights of MobileNet (URL fetch failure on "
        "https://storage.googleapis.com/"
    )
    assert message.endswith(
        f"Is this machine offline? Download that file where there is internet access and put it "
        f"in {tmp_path / 'models'} (Keras looks there first), or set `weights:` to a local "
        ".weights.h5 file, or to none"
    )


def test_as_a_layer_kind_inside_stages() -> None:
    blueprint = {
        "name": "nested",
        "input": {"shape": [32, 32, 3]},
        "stem": [{"type": "imagenet_preprocessing", "mode": "tf"}],
        "stages": [{"block": {"type": "keras_application", "application": "MobileNet", "weights": "none"}}],
        "head": {"classes": 2},
    }
    model = build_model(blueprint)
    assert isinstance(model.get_layer("stages_0_blocks_0"), keras.Model)
    assert_analysis_equals_model(archbuilder.analyze(blueprint), model)

"""A keras.applications backbone, analyzed without Keras through its zoo twin: Keras's published
figures for the networks without their top, the receptive field, and the errors a user can cause."""

from __future__ import annotations

import subprocess
import sys

import pytest

import archbuilder
from archbuilder.blueprint import BlueprintError
from archbuilder.blueprint.applications import APPLICATIONS
from archbuilder.zoo import list_blueprints, load_zoo_blueprint


def blueprint(application: str, shape: str = "[224, 224, 3]", backbone: str = "weights: none", extra: str = "") -> str:
    return (
        f"name: transfer\ninput: {{shape: {shape}}}\nbackbone: {{keras_application: {application}, {backbone}}}\n"
        f"{extra}head: {{classes: 10}}\n"
    )


def backbone_row(text: str):  # noqa: ANN201
    return next(layer for layer in archbuilder.analyze(text).layers if layer.name == "backbone")


# keras.applications.<Name>(include_top=False, weights=None).count_params() at 224x224 (Keras's
# documented sizes less their top) and output shapes.
PUBLISHED = [
    ("VGG16", 14_714_688, (7, 7, 512)),
    ("ResNet50", 23_587_712, (7, 7, 2048)),
    ("ResNet50V2", 23_564_800, (7, 7, 2048)),
    ("MobileNetV2", 2_257_984, (7, 7, 1280)),
    ("DenseNet121", 7_037_504, (7, 7, 1024)),
    ("EfficientNetB0", 4_049_571, (7, 7, 1280)),
]


@pytest.mark.parametrize("application, params, shape", PUBLISHED)
def test_keras_figures_without_the_top(application: str, params: int, shape: tuple[int, ...]) -> None:
    row = backbone_row(blueprint(application))
    assert (row.params, row.output_shape) == (params, shape)


def test_every_application_has_a_zoo_twin() -> None:
    assert {a.zoo_twin for a in APPLICATIONS.values()} <= set(list_blueprints())


def test_resnet50_costs_its_twin_less_the_classifier() -> None:
    twin = archbuilder.analyze(load_zoo_blueprint("resnet50"))
    row = backbone_row(blueprint("ResNet50"))
    classifier = 2048 * 1000 + 1000
    assert row.params == twin.params - classifier
    assert row.macs == twin.macs - 2048 * 1000
    assert (row.receptive_field, row.jump) == (twin.layers[-3].receptive_field, (32, 32))  # before the pool


def test_frozen_by_default_when_pretrained_with_batch_norm_kept_frozen_when_trained() -> None:
    frozen = backbone_row(blueprint("ResNet50", backbone="weights: imagenet"))
    assert (frozen.trainable_params, frozen.non_trainable_params) == (0, 23_587_712)
    trained = backbone_row(blueprint("ResNet50", backbone="weights: imagenet, trainable: true"))
    batch_norm_gamma_beta = 53_120  # = ResNet50's BN statistics: 2 per channel either way
    assert (trained.trainable_params, trained.non_trainable_params) == (
        23_587_712 - 2 * 53_120,
        53_120 + batch_norm_gamma_beta,
    )
    scratch = backbone_row(blueprint("ResNet50"))
    assert (scratch.trainable_params, scratch.non_trainable_params) == (23_534_592, 53_120)


def test_preprocessing_layer_and_pixel_range() -> None:
    analysis = archbuilder.analyze(blueprint("DenseNet121"))
    assert [layer.name for layer in analysis.layers[:3]] == ["input", "backbone_preprocessing", "backbone"]
    assert analysis.blueprint.training.pixel_range == (0.0, 255.0)
    explicit = archbuilder.analyze(blueprint("DenseNet121", extra="training: {pixel_range: [0, 1]}\n"))
    assert explicit.blueprint.training.pixel_range == (0.0, 1.0)
    assert "backbone_preprocessing" not in [
        layer.name for layer in archbuilder.analyze(blueprint("EfficientNetB0")).layers
    ]


def test_inner_activations_count_toward_memory() -> None:
    row = backbone_row(blueprint("MobileNetV2", shape="[96, 96, 3]"))
    assert row.activation_elements > 10 * (3 * 3 * 1280)


ERRORS = [
    pytest.param(
        blueprint("ResNet50", extra="pattern: {N: 1, M: 1, filters: {start: 8}}\n"),
        "<blueprint>",
        "a `backbone` is the start of the body: remove `pattern` and `stem` (blocks after the backbone go in `stages`)",
        (1, 1),
        id="with-pattern",
    ),
    pytest.param(
        blueprint("ResNet51"),
        "backbone.keras_application",
        "expected 'VGG16', 'VGG19', 'ResNet50', 'ResNet101', 'ResNet152', 'ResNet50V2', 'MobileNet', "
        "'MobileNetV2', 'DenseNet121', 'EfficientNetB0', 'EfficientNetB1', 'EfficientNetB2', 'EfficientNetB3', "
        "'EfficientNetB4', 'EfficientNetB5', 'EfficientNetB6' or 'EfficientNetB7'. Received: 'ResNet51'. "
        "Did you mean 'ResNet50'?",
        (3, 31),
        id="unknown-application",
    ),
    pytest.param(
        blueprint("ResNet50", backbone="weight: none"),
        "backbone.weight",
        "unknown key 'weight'. Did you mean 'weights'? Valid keys here: keras_application, preprocessing, "
        "trainable, weights.",
        (3, 41),
        id="unknown-key",
    ),
    pytest.param(
        blueprint("ResNet50", shape="[64, 64, 1]"),
        "backbone.preprocessing",
        "the ImageNet preprocessing (caffe mode) takes RGB images (3 channels). Received: 1 channel(s). Give "
        "the blueprint input 3 channels (archbuilder train --resize repeats a grayscale channel)",
        (3, 11),
        id="grayscale",
    ),
    pytest.param(
        blueprint("EfficientNetB0", shape="[64, 64, 4]"),
        "backbone",
        "EfficientNetB0 takes RGB images (3 channels). Received: 4 channel(s). Give the blueprint input 3 "
        "channels (archbuilder train --resize repeats a grayscale channel)",
        (3, 11),
        id="four-channels",
    ),
    pytest.param(
        blueprint("MobileNetV2", shape="[28, 28, 3]"),
        "backbone",
        "MobileNetV2 needs an input of at least 32x32 (Keras's limit). Received: 28x28. Enlarge the blueprint "
        "input (archbuilder train --resize resizes the images to it)",
        (3, 11),
        id="too-small",
    ),
    pytest.param(
        blueprint("VGG16", shape="[32, 32, 3]", extra="stages:\n  - {block: {type: conv, filters: 4}}\n"),
        "stages[0].blocks[0]",
        "output size would be 0x0 (input 1x1, kernel_size=3, strides=1, "
        "padding='valid'). Use padding='same', a smaller kernel, or remove a downsampling stage.",
        (5, 13),
        id="stage-after-backbone",
    ),
]


@pytest.mark.parametrize("text, path, message, position", ERRORS)
def test_errors(text: str, path: str, message: str, position: tuple[int, int]) -> None:
    with pytest.raises(BlueprintError) as caught:
        archbuilder.analyze(text)
    (problem,) = caught.value.problems
    assert (problem.path, problem.message, (problem.line, problem.column)) == (path, message, position)


def test_analysis_does_not_import_keras() -> None:
    code = (
        "import sys, archbuilder; a = archbuilder.analyze({'name': 'x', 'input': {'shape': [64, 64, 3]}, "
        "'backbone': {'keras_application': 'EfficientNetB3'}, 'head': {'classes': 2}}); "
        "assert a.params > 10_000_000; "
        "assert not {'keras', 'tensorflow'} & set(sys.modules), sorted(m for m in sys.modules if 'keras' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_training_memory_keeps_no_activations_of_a_frozen_backbone() -> None:
    frozen = archbuilder.analyze(blueprint("MobileNetV2", shape="[96, 96, 3]", backbone="weights: imagenet"))
    trained = archbuilder.analyze(blueprint("MobileNetV2", shape="[96, 96, 3]", backbone="weights: none"))
    # Frozen: only what the classifier's gradient needs (its input, its output), per example.
    classifier = frozen.layers[-1]
    assert frozen.backward_activation_elements == 1280 + classifier.activation_elements
    assert trained.backward_activation_elements == trained.activation_elements - 96 * 96 * 3  # all but the raw input
    assert frozen.training_memory(8)["activations"] == frozen.backward_activation_elements * 4 * 8

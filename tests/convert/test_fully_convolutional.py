"""FC -> CONV conversion (CS231n, "Converting FC layers to CONV layers"): the converted network equals
the original on the training size and, on a larger image, gives a map of class scores whose cells
are the original network on the crops under them."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

import archbuilder.cli
from archbuilder.compile import build_model
from archbuilder.convert import (
    ConversionError,
    convert_file,
    describe_conversion,
    output_stride,
    to_fully_convolutional,
    with_open_input,
)

from ..compile.support import blueprint_with

# A small VGG-style network with no padding anywhere (so every cell of the score map is exactly the
# original network on a crop): 32 -> conv 30 -> pool 15 -> conv 13 -> pool 6 -> conv 4 -> pool 2,
# total stride 8, then flatten (2x2x8) and FC 16, 12, classes 5.
SMALL_VGG = {
    "name": "small_vgg",
    "input": {"shape": [32, 32, 3]},
    "pattern": {
        "conv": {"kernel_size": 3, "padding": "valid"},
        "stages": [{"filters": 8}, {"filters": 8}, {"filters": 8}],
        "pool": {"type": "max_pool", "pool_size": 2, "strides": 2},
        "fc": [16, 12],
        "dropout": 0.5,
    },
    "head": {"classes": 5, "activation": "linear"},
}

CONV = [{"type": "conv", "filters": 4, "kernel_size": 3}]
AUX = blueprint_with(
    stem=[
        {"type": "conv", "filters": 4, "kernel_size": 3, "id": "early"},
        {"type": "conv", "filters": 4, "kernel_size": 3},
    ],
    head={"classes": 3, "pool": "flatten"},
    aux_heads=[{"name": "aux1", "at": "early", "pool": "flatten", "fc": [8], "classes": 3}],
    shape=[12, 12, 3],
)


def with_head(blueprint: dict[str, Any], **head: Any) -> dict[str, Any]:
    return {**blueprint, "head": {**blueprint["head"], **head}}


def run(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(x))


def weights(layer: keras.layers.Layer, name: str) -> np.ndarray:
    return keras.ops.convert_to_numpy(getattr(layer, name))


def images(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.fixture(scope="module")
def small_vgg() -> tuple[keras.Model, keras.Model]:
    model = build_model(SMALL_VGG)
    return model, to_fully_convolutional(model)


def test_training_size_gives_the_original_scores(small_vgg: tuple[keras.Model, keras.Model]) -> None:
    model, converted = small_vgg
    x = images(4, 32, 32, 3)
    scores = converted.predict(x, verbose=0)
    assert scores.shape == (4, 1, 1, 5)
    np.testing.assert_allclose(scores[:, 0, 0], model.predict(x, verbose=0), atol=1e-5)


def test_softmax_head_is_kept_per_position() -> None:
    model = build_model(with_head(SMALL_VGG, activation="softmax"))
    converted = to_fully_convolutional(model)
    assert converted.get_layer("predictions").activation is keras.activations.softmax
    x = images(3, 32, 32, 3, seed=1)
    np.testing.assert_allclose(converted.predict(x, verbose=0)[:, 0, 0], model.predict(x, verbose=0), atol=1e-5)
    score_map = converted.predict(images(1, 56, 48, 3), verbose=0)
    assert score_map.shape == (1, 4, 3, 5)
    np.testing.assert_allclose(score_map.sum(axis=-1), 1.0, atol=1e-5)  # a distribution in every cell


def test_head_layers_become_named_convolutions(small_vgg: tuple[keras.Model, keras.Model]) -> None:
    model, converted = small_vgg
    layers = {layer.name: layer for layer in converted.layers}
    assert "head_flatten" not in layers
    assert converted.input.shape == (None, None, None, 3)
    assert converted.name == "small_vgg_fully_convolutional"
    for name, kernel_size, filters in (
        ("head_fc_0", (2, 2), 16),
        ("head_fc_1", (1, 1), 12),
        ("predictions", (1, 1), 5),
    ):
        assert isinstance(layers[name], keras.layers.Conv2D), name
        assert (layers[name].kernel_size, layers[name].filters, layers[name].padding) == (kernel_size, filters, "valid")
    assert layers["head_fc_0"].activation is keras.activations.relu
    for name in ("head_fc_0_dropout", "head_fc_1_dropout"):  # kept: identity at inference, dropout in training
        assert isinstance(layers[name], keras.layers.Dropout) and layers[name].rate == 0.5
    # The body is a copy, not the original layers: the original keeps its weights when the copy changes.
    body = [layer.name for layer in model.layers if layer.name.startswith("stages_")]
    assert body == [layer.name for layer in converted.layers if layer.name.startswith("stages_")]
    assert all(converted.get_layer(name) is not model.get_layer(name) for name in body)


def test_first_kernel_is_the_dense_kernel_reshaped_row_major(small_vgg: tuple[keras.Model, keras.Model]) -> None:
    model, converted = small_vgg
    dense = weights(model.get_layer("head_fc_0"), "kernel")  # (2*2*8, 16): Flatten is row-major over (H, W, C)
    conv = weights(converted.get_layer("head_fc_0"), "kernel")  # (2, 2, 8, 16)
    assert conv.shape == (2, 2, 8, 16)
    for h, w, c in ((0, 0, 0), (0, 1, 3), (1, 0, 7), (1, 1, 5)):
        np.testing.assert_array_equal(conv[h, w, c], dense[(h * 2 + w) * 8 + c])
    np.testing.assert_array_equal(
        weights(converted.get_layer("head_fc_1"), "kernel")[0, 0], weights(model.get_layer("head_fc_1"), "kernel")
    )
    np.testing.assert_array_equal(
        weights(converted.get_layer("predictions"), "bias"), weights(model.get_layer("predictions"), "bias")
    )


@pytest.mark.parametrize("height, width, rows, columns", [(48, 48, 3, 3), (40, 56, 2, 4)])
def test_larger_input_gives_the_scores_of_every_crop(
    small_vgg: tuple[keras.Model, keras.Model], height: int, width: int, rows: int, columns: int
) -> None:
    model, converted = small_vgg
    image = images(1, height, width, 3, seed=2)
    score_map = converted.predict(image, verbose=0)
    assert score_map.shape == (1, rows, columns, 5)
    crops = np.stack([image[0, 8 * i : 8 * i + 32, 8 * j : 8 * j + 32] for i in range(rows) for j in range(columns)])
    expected = model.predict(crops, verbose=0).reshape(rows, columns, 5)
    np.testing.assert_allclose(score_map[0], expected, atol=1e-4)


def test_same_padding_makes_cells_close_to_but_not_the_crops() -> None:
    """The documented limit: with padding='same' a crop sees zeros at its border where the large
    image has pixels, so the converted network slides, but its cells differ from the crops' scores."""
    blueprint = {**SMALL_VGG, "pattern": {**SMALL_VGG["pattern"], "conv": {"kernel_size": 3, "padding": "same"}}}
    model = build_model(blueprint)  # 32 -> 16 -> 8 -> 4: a 4x4x8 map, stride 8
    converted = to_fully_convolutional(model)
    image = images(1, 48, 48, 3, seed=3)
    score_map = converted.predict(image, verbose=0)
    assert score_map.shape == (1, 3, 3, 5)
    crops = np.stack([image[0, 8 * i : 8 * i + 32, 8 * j : 8 * j + 32] for i in range(3) for j in range(3)])
    expected = model.predict(crops, verbose=0).reshape(3, 3, 5)
    assert np.abs(score_map[0] - expected).max() > 1e-3
    np.testing.assert_allclose(converted.predict(crops[:1], verbose=0)[0, 0, 0], expected[0, 0], atol=1e-5)


def test_describe_conversion_names_the_layers_and_the_stride(small_vgg: tuple[keras.Model, keras.Model]) -> None:
    model, converted = small_vgg
    assert output_stride(converted, (32, 32, 3)) == 8
    assert describe_conversion(model, converted) == (
        "  head_fc_0: Dense(16) -> Conv2D(16, kernel_size=2x2)\n"
        "  head_fc_1: Dense(12) -> Conv2D(12, kernel_size=1x1)\n"
        "  predictions: Dense(5) -> Conv2D(5, kernel_size=1x1)\n"
        "input: 32x32x3 -> any size (None, None, 3); a 32x32 image gives a 1x1 map of 5 scores\n"
        "total stride 8: a 48x48 image gives a 3x3 map, cell (i, j) scoring the 32x32 crop at (8*i, 8*j)"
    )


# -- the zoo -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_vgg16_224_to_384_gives_a_6x6_map() -> None:
    """The seeds' example: 224 -> 7x7x512 (stride 32); on 384, 12x12x512, then FC6 as a 7x7 conv
    gives (12 - 7)/1 + 1 = 6: a 6x6x1000 array of class scores in one forward pass."""
    model = build_model("vgg16")
    converted = to_fully_convolutional(model)
    assert [converted.get_layer(name).kernel_size for name in ("head_fc_0", "head_fc_1", "predictions")] == [
        (7, 7),
        (1, 1),
        (1, 1),
    ]
    body = keras.Model(converted.input, converted.get_layer("stages_4_blocks_3").output)
    assert body.compute_output_shape((1, 384, 384, 3)) == (1, 12, 12, 512)  # 384/32 = 12
    assert converted.compute_output_shape((1, 384, 384, 3)) == (1, 6, 6, 1000)
    assert output_stride(converted, (224, 224, 3)) == 32
    assert converted.count_params() == model.count_params() == 138_357_544
    x = images(1, 224, 224, 3, seed=4)
    np.testing.assert_allclose(run(converted, x)[:, 0, 0], run(model, x), rtol=1e-4, atol=1e-7)
    scores = run(converted, np.zeros((1, 384, 384, 3), "float32"))  # ~45 GFLOPs, once
    assert scores.shape == (1, 6, 6, 1000)
    np.testing.assert_allclose(scores.sum(axis=-1), 1.0, atol=1e-4)


def test_alexnet_with_lrn_converts() -> None:
    model = build_model("alexnet")
    converted = to_fully_convolutional(model)
    assert converted.get_layer("head_fc_0").kernel_size == (6, 6)  # POOL3 gives 6x6x256
    x = images(1, 227, 227, 3, seed=5)
    np.testing.assert_allclose(run(converted, x)[:, 0, 0], run(model, x), rtol=1e-4, atol=1e-7)
    assert converted.compute_output_shape((1, 227 + 32, 227 + 64, 3)) == (1, 2, 3, 1000)


# A body with BN, LRN, residual blocks (one with squeeze-and-excitation) and a Normalization layer,
# a LeakyReLU (a separate layer, not fused) after each FC.
RESIDUAL = {
    "name": "residual_fc",
    "input": {"shape": [32, 32, 3]},
    "defaults": {"batch_norm": True, "activation": "leaky_relu"},
    "stem": [
        {"type": "normalization", "mean": [0.5, 0.4, 0.3], "variance": [0.1, 0.2, 0.3]},
        {"type": "conv", "filters": 8, "kernel_size": 3, "padding": "valid"},
        {"type": "lrn", "size": 3},
        {"type": "max_pool", "pool_size": 2, "strides": 2},
    ],
    "stages": [
        {"block": {"type": "residual", "filters": 8}, "repeat": 2},
        {"block": {"type": "residual", "filters": 16, "se_ratio": 0.25}, "strides": 2},
    ],
    "head": {"pool": "flatten", "fc": [16], "fc_dropout": 0.5, "classes": 5, "activation": "softmax"},
}


@pytest.fixture(scope="module")
def residual() -> tuple[keras.Model, keras.Model]:
    model = build_model(RESIDUAL)
    rng = np.random.default_rng(6)
    weights = []
    for variable, value in zip(model.weights, model.get_weights()):
        if variable.path.startswith("stem_0/"):  # the Normalization keeps the blueprint's statistics
            weights.append(value)
        elif variable.path.endswith("moving_variance"):
            weights.append(rng.uniform(0.5, 1.5, value.shape).astype("float32"))
        else:  # BN statistics and scales included, so a weight left behind would show
            weights.append(rng.normal(0.0, 0.3, value.shape).astype("float32"))
    model.set_weights(weights)
    return model, to_fully_convolutional(model)


def test_batch_norm_residual_body_converts(residual: tuple[keras.Model, keras.Model]) -> None:
    model, converted = residual
    assert isinstance(converted.get_layer("head_fc_0_leaky_relu"), keras.layers.LeakyReLU)
    assert converted.get_layer("head_fc_0").kernel_size == (8, 8)
    x = images(3, 32, 32, 3, seed=7)
    expected = model.predict(x, verbose=0)
    assert expected.max(axis=-1).min() < 0.999  # the scores are not saturated, so the comparison means something
    np.testing.assert_allclose(converted.predict(x, verbose=0)[:, 0, 0], expected, atol=1e-5)
    assert converted.predict(images(1, 48, 40, 3), verbose=0).shape == (1, 5, 3, 5)  # total stride 4


def test_converted_model_saves_and_loads(residual: tuple[keras.Model, keras.Model], tmp_path: Path) -> None:
    _, converted = residual
    path = tmp_path / "converted.keras"
    converted.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: LRN is registered
    assert loaded.input.shape == (None, None, None, 3)
    image = images(2, 48, 40, 3, seed=8)
    np.testing.assert_allclose(loaded.predict(image, verbose=0), converted.predict(image, verbose=0), atol=1e-6)


def test_sequential_models_convert() -> None:
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(6, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(3),
        ],
        name="plain",
    )
    converted = to_fully_convolutional(model)
    x = images(2, 8, 8, 3, seed=9)
    np.testing.assert_allclose(run(converted, x)[:, 0, 0], run(model, x), atol=1e-5)
    assert converted.compute_output_shape((1, 10, 12, 3)) == (1, 3, 5, 3)


def test_main_output_of_a_model_with_aux_heads_converts() -> None:
    model = build_model(AUX)
    converted = to_fully_convolutional(keras.Model(model.inputs, model.outputs[0]))  # what the error suggests
    x = images(2, 12, 12, 3, seed=10)
    np.testing.assert_allclose(run(converted, x)[:, 0, 0], keras.ops.convert_to_numpy(model(x)[0]), atol=1e-5)


# -- what cannot be converted ------------------------------------------------------------------

GLOBAL_POOL = (
    "model 'case' has a global-pooling head ('head_pool', GlobalAveragePooling2D), not a Flatten+Dense one: its "
    "classifier sees the pooled features, so the network already applies to any input size and there is nothing to "
    "convert. To run it on larger images, give it an open input size with "
    "archbuilder.convert.with_open_input(model) (one score vector per image)"
)


def _flatten_batch_norm_dense() -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.BatchNormalization(name="flat_bn")(keras.layers.Flatten(name="flat")(inputs))
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def _reshape_dense() -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Reshape((-1,), name="to_vector")(keras.layers.Conv2D(4, 3)(inputs))
    return keras.Model(inputs, keras.layers.Dense(3)(x), name="reshaped")


def _dense_on_map() -> keras.Model:
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, keras.layers.Dense(3, name="per_pixel")(inputs), name="pixels")


class _Subclassed(keras.Model):
    def __init__(self) -> None:
        super().__init__(name="custom")
        self.dense = keras.layers.Dense(3)

    def call(self, x: Any) -> Any:
        return self.dense(keras.ops.reshape(x, (-1, 8 * 8 * 3)))


def _subclassed() -> keras.Model:
    model = _Subclassed()
    model(np.zeros((1, 8, 8, 3), "float32"))
    return model


def _two_inputs() -> keras.Model:
    first, second = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    x = keras.layers.Flatten()(keras.layers.Add()([first, second]))
    return keras.Model([first, second], keras.layers.Dense(3)(x), name="pair")


ERROR_CASES = [
    ("global_avg_pool_head", lambda: build_model(blueprint_with(stem=CONV)), GLOBAL_POOL),
    (
        "conv_classifier_head",
        lambda: build_model(blueprint_with(stem=CONV, head={"classes": 5, "pool": "global_avg", "classifier": "conv"})),
        GLOBAL_POOL,
    ),
    (
        "no_head",
        lambda: build_model(blueprint_with(stem=CONV, head=None)),
        "model 'case' has no Flatten+Dense head (its output (None, 14, 14, 4) comes from 'stem_0', Conv2D); a network "
        "without FC layers is fully convolutional already: give it an open input size with "
        "archbuilder.convert.with_open_input(model)",
    ),
    (
        "flatten_without_dense",
        lambda: build_model(
            blueprint_with(
                stem=[{"type": "conv", "filters": 5, "kernel_size": 3}],
                shape=[3, 3, 3],
                head={"classes": 5, "pool": "flatten", "classifier": "none"},
            )
        ),
        "model 'case': its Flatten 'head_flatten' is followed by no Dense layer, so there is no FC layer to turn into "
        "a convolution",
    ),
    (
        "aux_heads",
        lambda: build_model(AUX),
        "model 'case' has 2 outputs ('predictions', 'aux1'); only a single-output classifier can be converted. "
        "Auxiliary heads matter only in training: convert the main output alone, "
        "e.g. to_fully_convolutional(keras.Model(model.inputs, model.outputs[0]))",
    ),
    (
        "batch_norm_on_flat_features",
        _flatten_batch_norm_dense,
        "layer 'flat_bn' (BatchNormalization) normalizes the flattened features between the Flatten 'flat' and the "
        "first Dense: its statistics belong to fixed positions, so it cannot slide over a larger input",
    ),
    (
        "reshape_instead_of_flatten",
        _reshape_dense,
        "model 'reshaped' has no Flatten+Dense head that converts: going back from the output, 'to_vector' (Reshape) "
        "comes before any Flatten and cannot be applied at each position (between a Flatten and the output only "
        "Dense, dropout, activation and, after the first Dense, BatchNormalization/LayerNormalization layers are "
        "converted)",
    ),
    (
        "dense_on_the_input_map",
        _dense_on_map,
        "model 'pixels' has no Flatten+Dense head (its output (None, 8, 8, 3) comes from 'per_pixel', Dense); a "
        "network without FC layers is fully convolutional already: give it an open input size with "
        "archbuilder.convert.with_open_input(model)",
    ),
    ("two_inputs", _two_inputs, "model 'pair' has 2 inputs; only a model with one image input can be converted"),
    (
        "subclassed",
        _subclassed,
        "model 'custom' is a subclassed model; only functional and Sequential models (such as archbuilder's "
        "build_model returns) have a layer graph to convert",
    ),
    ("not_a_model", lambda: "vgg16.keras", "expected a keras.Model. Received: str"),
]


@pytest.mark.parametrize("make, message", [case[1:] for case in ERROR_CASES], ids=[case[0] for case in ERROR_CASES])
def test_what_cannot_be_converted_says_why(make: Any, message: str) -> None:
    with pytest.raises(ConversionError) as caught:
        to_fully_convolutional(make())
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_with_open_input_runs_a_global_pool_model_on_any_size() -> None:
    model = build_model(
        blueprint_with(stem=CONV, stages=[{"block": {"type": "residual", "filters": 4}}], defaults={"batch_norm": True})
    )
    opened = with_open_input(model)
    assert opened.input.shape == (None, None, None, 3)
    x = images(2, 16, 16, 3, seed=11)
    np.testing.assert_allclose(opened.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert opened.predict(images(1, 40, 24, 3), verbose=0).shape == (1, 5)


def test_with_open_input_points_a_flatten_model_to_the_conversion(small_vgg: tuple[keras.Model, keras.Model]) -> None:
    with pytest.raises(ConversionError, match=r"\(it has a Flatten: 'head_flatten'; use to_fully_convolutional\)"):
        with_open_input(small_vgg[0])


# -- files and the command line ------------------------------------------------------------------


def test_convert_file_writes_the_converted_model(small_vgg: tuple[keras.Model, keras.Model], tmp_path: Path) -> None:
    model, _ = small_vgg
    source = tmp_path / "small.keras"
    model.save(source)
    original, converted = convert_file(source, tmp_path / "out" / "small_fcn.keras")
    loaded = keras.saving.load_model(tmp_path / "out" / "small_fcn.keras")
    image = images(1, 48, 48, 3, seed=12)
    np.testing.assert_allclose(loaded.predict(image, verbose=0), converted.predict(image, verbose=0), atol=1e-6)
    assert original.count_params() == loaded.count_params()


def test_convert_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.keras"
    with pytest.raises(ConversionError, match="^" + f"{missing}: no such model file. Pass a .keras file"):
        convert_file(missing, tmp_path / "out.keras")
    with pytest.raises(
        ConversionError,
        match=r"model.h5: MODEL must be a \.keras file \(make one from a blueprint with "
        r"`archbuilder build BLUEPRINT -o MODEL\.keras`\)$",
    ):
        convert_file(tmp_path / "model.h5", tmp_path / "out.keras")
    broken = tmp_path / "broken.keras"
    broken.write_text("not a zip")
    with pytest.raises(ConversionError, match=r"broken\.keras: cannot load it as a Keras model \("):
        convert_file(broken, tmp_path / "out.keras")
    global_pool = tmp_path / "gap.keras"
    build_model(blueprint_with(stem=CONV)).save(global_pool)
    with pytest.raises(ConversionError) as caught:
        convert_file(global_pool, tmp_path / "out.keras")
    assert str(caught.value) == f"{global_pool}: {GLOBAL_POOL}"


needs_command = pytest.mark.skipif(
    not hasattr(archbuilder.cli, "command_convert"), reason="archbuilder.cli has no `convert` command yet"
)


@needs_command
def test_command_line_converts(
    small_vgg: tuple[keras.Model, keras.Model], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, output = tmp_path / "small.keras", tmp_path / "small_fcn.keras"
    small_vgg[0].save(source)
    assert archbuilder.cli.main(["convert", "fully-convolutional", str(source), "-o", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "head_fc_0: Dense(16) -> Conv2D(16, kernel_size=2x2)" in printed and f"wrote {output}" in printed
    assert keras.saving.load_model(output).input.shape == (None, None, None, 3)
    # Run again: the converted model is the user's now, replaced only when asked.
    assert archbuilder.cli.main(["convert", "fully-convolutional", str(source), "-o", str(output)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"{output}: already exists. Pass --overwrite to replace it, or -o to write elsewhere."
    )
    command = ["convert", "fully-convolutional", str(source), "-o", str(output), "--overwrite"]
    assert archbuilder.cli.main(command) == 0
    capsys.readouterr()
    # predict and evaluate give one class per image of a fixed size: the converted model's grid is refused in a line.
    np.save(tmp_path / "image.npy", np.zeros((16, 16, 3), "float32"))
    for argv in (["predict", str(output), str(tmp_path / "image.npy")], ["evaluate", str(output), "--data", "digits"]):
        assert archbuilder.cli.main(argv) == 1
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(f"{output}: takes images of any size (input (None, None, 3);"), line


@needs_command
def test_command_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "gap.keras"
    build_model(blueprint_with(stem=CONV)).save(source)
    assert archbuilder.cli.main(["convert", "fully-convolutional", str(source), "-o", str(tmp_path / "o.keras")]) == 1
    assert capsys.readouterr().err.strip() == f"{source}: {GLOBAL_POOL}"
    assert archbuilder.cli.main(["convert", "fully-convolutional", str(source), "-o", str(tmp_path / "o.h5")]) == 2
    assert "-o must name a .keras file" in capsys.readouterr().err
    assert archbuilder.cli.main(["convert", "fully-convolutional", str(source)]) == 2  # -o is required


# -- other backends ------------------------------------------------------------------------------

BACKEND_SCRIPT = """
import json, os, sys, tempfile
import keras, numpy as np
from archbuilder.compile import build_model
from archbuilder.convert import to_fully_convolutional
model = build_model(json.loads(sys.argv[1]))
converted = to_fully_convolutional(model)
rng = np.random.default_rng(0)
x, image = rng.normal(size=(2, 32, 32, 3)).astype("float32"), rng.normal(size=(1, 48, 48, 3)).astype("float32")
crops = np.stack([image[0, 8 * i : 8 * i + 32, 8 * j : 8 * j + 32] for i in range(3) for j in range(3)])
score_map = converted.predict(image, verbose=0)
path = os.path.join(tempfile.mkdtemp(), "converted.keras")
converted.save(path)
print(json.dumps({
    "backend": keras.backend.backend(),
    "training_size": float(np.abs(converted.predict(x, verbose=0)[:, 0, 0] - model.predict(x, verbose=0)).max()),
    "crops": float(np.abs(score_map[0] - model.predict(crops, verbose=0).reshape(3, 3, -1)).max()),
    "reloaded": float(np.abs(keras.saving.load_model(path).predict(image, verbose=0) - score_map).max()),
}))
"""


@pytest.mark.backends
@pytest.mark.slow  # a fresh process per backend; the quick lane converts under TensorFlow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_conversion_under_backend(backend: str) -> None:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (make test installs it)")
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", BACKEND_SCRIPT, json.dumps(SMALL_VGG)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert report["training_size"] < 1e-5 and report["crops"] < 1e-4 and report["reloaded"] < 1e-6

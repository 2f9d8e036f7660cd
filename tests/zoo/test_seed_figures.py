"""`archbuilder summary` of the zoo's AlexNet and VGG16 reproduces the lecture notes' worked numbers
(the tables and the notes' errors are documented in tests/analysis/test_seeds.py)."""

from __future__ import annotations

import json

import pytest

from archbuilder.cli import EXIT_OK, main

from ..analysis.test_seeds import ALEXNET_LAYERS, VGG16_TABLE


def summary_json(name: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["summary", name, "--json"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def test_alexnet_per_layer_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    report = summary_json("alexnet", capsys)
    weighted = [(tuple(layer["output_shape"]), layer["params"]) for layer in report["layers"] if layer["params"]]
    expected = [(shape, params) for _, shape, params in ALEXNET_LAYERS if params]
    assert weighted == expected
    # 62,378,344: the sum of the notes' P_C1..P_ff (conv1 34,944 ... fc8 4,097,000).
    assert report["params"] == sum(params for _, params in expected) == 62_378_344


def test_vgg16_per_layer_memory_and_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    report = summary_json("vgg16", capsys)
    layers = {layer["name"]: layer for layer in report["layers"]}
    for name, shape, elements, weights, biases, _ in VGG16_TABLE:
        layer = layers[name]
        # The notes' "params" column counts weights only; Keras (and archbuilder) adds the biases.
        assert (tuple(layer["output_shape"]), layer["activation_elements"], layer["params"]) == (
            shape,
            elements,
            weights + biases,
        ), name
    # The notes' TOTAL params "138M" is right; their TOTAL memory "24M" is not: the rows sum to 15.2M.
    assert report["params"] == 138_357_544
    table_memory = sum(row[2] for row in VGG16_TABLE)
    assert table_memory == 15_237_608


def test_vgg16_table_rows_read_like_the_notes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "vgg16"]) == EXIT_OK
    rows = capsys.readouterr().out.splitlines()
    first_conv = next(row for row in rows if row.startswith("CONV3-64"))
    assert first_conv.split()[:6] == ["CONV3-64", "stages[0].blocks[0]", "[224x224x64]", "3.2M", "1,792", "86.7M"]

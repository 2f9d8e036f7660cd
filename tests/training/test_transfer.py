"""Transfer learning: weights by layer name, freezing blueprint paths, frozen BatchNorm, phased runs."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import archbuilder
from archbuilder.analysis import analyze
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.compile import build_model
from archbuilder.training.errors import RunError
from archbuilder.training.transfer import freeze, load_weights_by_name, match_layers

BODY = """\
name: small_body
input: {shape: [16, 16, 3]}
defaults: {batch_norm: true}
stem:
  - {type: conv, filters: 8, kernel_size: 3, padding: same}
stages:
  - {block: {type: residual, filters: 8}, repeat: 2}
  - {block: {type: residual, filters: 16, strides: 2}, repeat: 1}
head: {pool: global_avg, classes: 4}
"""


def model_of(text: str) -> keras.Model:
    return build_model(analyze(text).blueprint)


@pytest.fixture
def saved_body(tmp_path):
    model = model_of(BODY)
    path = tmp_path / "body.keras"
    model.save(path)
    return model, path


def test_weights_load_by_name_and_the_report_says_what_did_not_fit(saved_body, capsys) -> None:
    source, path = saved_body
    target = model_of(BODY.replace("classes: 4}", "fc: [12], classes: 8}"))
    report = load_weights_by_name(target, path)
    body = [layer.name for layer in source.layers if layer.weights and layer.name != "predictions"]
    assert report.loaded == body and len(body) > 10
    assert report.new == ["head_fc_0"] and report.unused == []
    assert report.mismatched == [("predictions", [(12, 8), (8,)], [(16, 4), (4,)])]
    for name in body:
        for mine, theirs in zip(target.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    printed = capsys.readouterr().out
    assert "did not fit: predictions: model (12, 8), (8,) vs source (16, 4), (4,)" in printed
    assert "new (not in the source): head_fc_0" in printed
    assert report.to_dict()["mismatched"][0]["source"] == [[16, 4], [4]]


def test_weights_h5_needs_its_blueprint_beside_it(tmp_path) -> None:
    source = model_of(BODY)
    path = tmp_path / "body.weights.h5"
    source.save_weights(path)
    with pytest.raises(RunError, match="blueprint.yaml beside it"):
        load_weights_by_name(model_of(BODY), path)
    (tmp_path / "blueprint.yaml").write_text(BODY, encoding="utf-8")
    report = load_weights_by_name(model_of(BODY), path, verbose=False)
    assert "predictions" in report.loaded and not report.mismatched and not report.new
    with pytest.raises(RunError, match="does not exist"):
        load_weights_by_name(source, tmp_path / "missing.keras")
    with pytest.raises(RunError, match=r"\.keras model or a \.weights\.h5"):
        (tmp_path / "w.npz").write_bytes(b"")
        load_weights_by_name(source, tmp_path / "w.npz")


def test_freeze_patterns_follow_blueprint_paths() -> None:
    model = model_of(BODY)
    assert match_layers(model, "stem") == ["stem_0", "stem_0_bn", "stem_0_relu"]
    stage0 = match_layers(model, "stages[0]")
    assert stage0 and all(name.startswith("stages_0_") for name in stage0)
    assert match_layers(model, "stages[0:1]") == stage0
    assert match_layers(model, "stages[-1:]") == match_layers(model, "stages[1]")
    firsts = match_layers(model, "stages[*].blocks[0]")
    assert {name.split("_blocks_")[1][0] for name in firsts} == {"0"} and any(n.startswith("stages_1") for n in firsts)
    assert "predictions" in match_layers(model, "head") and "stages_0_blocks_1_conv1" in match_layers(model, "st*s[0]")
    frozen = freeze(model, ["stem", "stages[0]"])
    assert sorted(frozen) == sorted(match_layers(model, "stem") + stage0)
    assert not model.get_layer("stem_0").trainable and model.get_layer("stages_1_blocks_0_conv1").trainable
    assert len(model.trainable_weights) < len(model.weights)
    freeze(model, [])
    assert all(layer.trainable for layer in model.layers)
    with pytest.raises(RunError, match="'stages\\[7\\]' matches no layer"):
        freeze(model, ["stem", "stages[7]"])
    with pytest.raises(RunError, match="not an index"):
        freeze(model, ["stages[a]"])


def test_frozen_batch_norm_runs_in_inference_mode(saved_body) -> None:
    model, _ = saved_body
    freeze(model, ["stem", "stages"])
    bn = model.get_layer("stem_0_bn")
    x = np.random.default_rng(0).normal(3.0, 2.0, (8, 16, 16, 3)).astype("float32")
    # Training mode on a frozen BatchNorm uses the moving statistics, as inference does.
    np.testing.assert_allclose(model(x, training=True), model(x, training=False), rtol=1e-5, atol=1e-6)
    before = [w.copy() for w in bn.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    model.fit(x, np.zeros(8, "int32"), epochs=1, verbose=0)
    for old, new in zip(before, bn.get_weights()):  # gamma, beta and the moving statistics
        np.testing.assert_array_equal(old, new)
    unfrozen = model_of(BODY).get_layer("stem_0_bn")
    assert unfrozen.trainable  # the contrast: an unfrozen BatchNorm would update them


def test_phases_validate_their_epochs() -> None:
    recipe = TrainingRecipe.model_validate({"phases": [{"epochs": 2}, {"epochs": 3, "learning_rate": 1e-4}]})
    assert recipe.epochs == 5
    with pytest.raises(ValueError, match="sum of the phases"):
        TrainingRecipe.model_validate({"epochs": 4, "phases": [{"epochs": 2}]})


def test_phased_transfer_run(tmp_path, saved_body) -> None:
    source, path = saved_body
    training = (
        f"training: {{init_weights: '{path}', batch_size: 32, optimizer: {{learning_rate: 0.01}}, "
        "phases: [{epochs: 1, freeze: [stem, stages]}, {epochs: 1, learning_rate: 0.001, freeze: [stem]}]}\n"
    )
    blueprint = BODY.replace("classes: 4", "classes: 6") + training
    result = archbuilder.train(blueprint, data="shapes:120", output=tmp_path / "run", verbose=0)
    # The weights after the last phase (result.model holds best.keras's, which may be phase 1's).
    model = keras.saving.load_model(result.output_dir / "last.keras", compile=False)
    assert result.history["epoch"] == [1, 2]  # counted from 1
    assert result.history["learning_rate"] == [pytest.approx(0.01), pytest.approx(0.001)]
    transfer = result.metrics["transfer"]
    assert transfer["mismatched"][0]["layer"] == "predictions" and "stem_0" in transfer["loaded"]
    # The stem stayed frozen throughout; stage 0 was trained in phase 2 only.
    for name in ("stem_0", "stem_0_bn"):
        for mine, theirs in zip(model.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(mine, theirs)
    assert not np.array_equal(
        model.get_layer("stages_0_blocks_0_conv1").get_weights()[0],
        source.get_layer("stages_0_blocks_0_conv1").get_weights()[0],
    )
    assert not model.get_layer("stem_0").trainable and model.get_layer("stages_0_blocks_0_conv1").trainable


def test_unknown_freeze_pattern_stops_the_run(tmp_path) -> None:
    blueprint = BODY + "training: {freeze: ['stages[9]'], epochs: 1}\n"
    with pytest.raises(RunError, match="'stages\\[9\\]' matches no layer"):
        archbuilder.train(blueprint, data="shapes:40", output=tmp_path / "run", verbose=0)


BACKBONE = """\
name: on_mobilenet
input: {shape: [32, 32, 3]}
backbone: {keras_application: MobileNet, weights: none}
stages:
  - {block: {type: conv, filters: 8, kernel_size: 1}}
head: {classes: 3}
"""


def test_freeze_patterns_reach_into_a_backbone() -> None:
    model = model_of(BACKBONE)
    assert match_layers(model, "backbone.conv_pw_13*") == [
        "backbone_conv_pw_13",
        "backbone_conv_pw_13_bn",
        "backbone_conv_pw_13_relu",
    ]
    everything = match_layers(model, "backbone")
    inner = [layer for layer in model.get_layer("backbone").layers if not isinstance(layer, keras.layers.InputLayer)]
    assert everything == ["backbone_preprocessing", "backbone"] + [f"backbone_{layer.name}" for layer in inner]
    frozen = freeze(model, ["backbone.conv1*", "backbone.conv_dw_?", "backbone.conv_pw_?"])  # blocks 1-9
    network = model.get_layer("backbone")
    assert network.trainable and "backbone_conv_pw_9" in frozen and "backbone_conv_pw_10" not in frozen
    assert not network.get_layer("conv_pw_9").trainable and network.get_layer("conv_pw_10").trainable
    assert network.get_layer("conv_pw_10_bn").trainable  # weights: none, its BatchNorm trains
    freeze(model, [], pretrained=("backbone",))  # as a pretrained backbone: BatchNorm stays frozen
    assert network.get_layer("conv_pw_10").trainable and not network.get_layer("conv_pw_10_bn").trainable
    freeze(model, ["backbone"])
    assert not network.trainable and not any(layer.trainable for layer in network.layers)
    assert model.get_layer("stages_0_blocks_0").trainable


def test_a_frozen_backbone_stays_frozen_under_other_freeze_patterns(tmp_path) -> None:
    text = BACKBONE.replace("weights: none}", "weights: none, trainable: false}") + (
        "training: {epochs: 1, batch_size: 16, freeze: ['stages[0]']}\n"
    )
    result = archbuilder.train(text, data="shapes:48", output=tmp_path / "run", verbose=0)
    assert not result.model.get_layer("backbone").trainable
    assert not result.model.get_layer("stages_0_blocks_0").trainable and result.model.get_layer("predictions").trainable

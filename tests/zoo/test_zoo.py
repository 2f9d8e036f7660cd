"""The zoo, walked file by file: every blueprint validates, analyzes, builds, the analyzer equals
Keras layer by layer, and the parameter count equals the reference in the file's header."""

from __future__ import annotations

import re

import keras
import pytest

import archbuilder
from archbuilder.compile import build_model
from archbuilder.zoo import blueprint_path, list_blueprints

from ..compile.support import assert_analysis_equals_model

ZOO = list_blueprints()
HEADER_PARAMS = re.compile(r"^# Params: ([\d,]+)", re.MULTILINE)

#: The set the zoo promises (file names are part of the interface).
PROMISED = {
    "lenet5",
    "alexnet",
    "zfnet",
    "vgg11",
    "vgg11_lrn",
    "vgg13",
    "vgg16_c",
    "vgg16",
    "vgg19",
    "nin_cifar",
    "allcnn_a",
    "allcnn_b",
    "allcnn_c",
    "strided_cnn_c",
    "convpool_cnn_c",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet50v2",
    "resnet20_cifar",
    "resnet56_cifar",
    "wrn28_10",
    "resnext50_32x4d",
    "se_resnet50",
    "densenet121",
    "mobilenet",
    "mobilenet_v2",
    "squeezenet",
    *(f"efficientnet_b{i}" for i in range(8)),
}


def test_the_zoo_holds_the_promised_set() -> None:
    assert PROMISED <= set(ZOO)


def header_params(name: str) -> int:
    match = HEADER_PARAMS.search(blueprint_path(name).read_text())
    assert match, f"{name}.yaml: the header must state '# Params: N' (the reference count)"
    return int(match.group(1).replace(",", ""))


@pytest.mark.parametrize("name", ZOO)
def test_zoo_blueprint_has_its_reference_parameter_count(name: str) -> None:
    assert archbuilder.analyze(blueprint_path(name)).params == header_params(name)


#: Input sides tried, smallest first, for the quick build: the first the network accepts.
SMALL_SIDES = (32, 64, 96, 128, 160, 192, 224)


def small_analysis(name: str) -> archbuilder.Analysis:
    """The network at the smallest input side it accepts: every layer as at native size, fewer weights
    in its dense layers, so Keras builds it in a fraction of the time."""
    native = archbuilder.load_blueprint(blueprint_path(name))
    height, width, channels = archbuilder.analyze(native).blueprint.input.shape
    for side in SMALL_SIDES:
        if side >= min(height, width):
            break
        try:
            overrides: dict[str, object] = {"input.shape": [side, side, channels]}
            if native.scaling is not None and native.scaling.resolution is not None:
                overrides["scaling.resolution"] = side  # the compound-scaled EfficientNets
            small = archbuilder.load_blueprint(blueprint_path(name), overrides)
            return archbuilder.analyze(small)
        except archbuilder.BlueprintError:
            continue
    return archbuilder.analyze(native)


def assert_builds_as_analyzed(analysis: archbuilder.Analysis) -> None:
    model = build_model(analysis.blueprint)
    assert_analysis_equals_model(analysis, model)
    assert model.name == analysis.blueprint.name
    del model
    keras.backend.clear_session()


#: Deeper, wider or compound-scaled siblings of a network the quick lane builds (the same blocks, more of
#: them): built in the slow lane only (make test-all), at native size.
SIBLINGS = {"vgg13", "vgg19", "resnet101", "resnet152", *(f"efficientnet_b{i}" for i in range(1, 8))}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SIBLINGS else n for n in ZOO])
def test_zoo_blueprint_builds_and_equals_its_analysis_at_a_small_input(name: str) -> None:
    assert_builds_as_analyzed(small_analysis(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", ZOO)
def test_zoo_blueprint_builds_and_equals_its_analysis_at_native_size(name: str) -> None:
    assert_builds_as_analyzed(archbuilder.analyze(blueprint_path(name)))


@pytest.mark.parametrize("name", ZOO)
def test_zoo_blueprint_is_in_canonical_round_trip(name: str) -> None:
    blueprint = archbuilder.load_blueprint(blueprint_path(name))
    resolved = blueprint.resolve()
    assert archbuilder.load_blueprint(resolved.to_yaml()) == resolved
    assert resolved.resolve() == resolved


def test_the_shipped_json_schema_is_current() -> None:
    """blueprints/*.yaml point editors at ../archbuilder-blueprint.schema.json; it must match the format."""
    import json

    from archbuilder.cli import blueprint_schema
    from archbuilder.zoo import zoo_dir

    shipped = json.loads((zoo_dir().parent / "archbuilder-blueprint.schema.json").read_text())
    assert shipped == json.loads(json.dumps(blueprint_schema())), (
        "regenerate: archbuilder schema -o archbuilder/zoo/archbuilder-blueprint.schema.json"
    )
    for name in ZOO:
        first_line = blueprint_path(name).read_text().splitlines()[0]
        assert first_line == "# yaml-language-server: $schema=../archbuilder-blueprint.schema.json", name


WITH_RECIPES = [name for name in ZOO if archbuilder.load_blueprint(blueprint_path(name)).training is not None]


@pytest.mark.parametrize("name", WITH_RECIPES)
def test_zoo_recipe_builds_its_optimizer_and_schedule(name: str) -> None:
    """The papers' recipes in the zoo are real: Keras optimizers and schedules come out of them."""
    from archbuilder.training.recipe import create_optimizer

    recipe = archbuilder.load_blueprint(blueprint_path(name)).training
    optimizer = create_optimizer(recipe, steps_per_epoch=100)
    assert type(optimizer).__name__.lower() == recipe.optimizer.type
    assert optimizer.weight_decay == recipe.optimizer.weight_decay
    start = recipe.optimizer.learning_rate
    learning_rate = optimizer.learning_rate
    first = float(learning_rate(0)) if callable(learning_rate) else float(learning_rate)
    assert first == pytest.approx(start, rel=1e-6) or recipe.schedule.type == "cosine"

"""TrainOptions: the options of a run typed once (the command line and ``archbuilder.train`` build it)."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

import archbuilder
from archbuilder.blueprint import BlueprintError
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.cli import build_parser
from archbuilder.cli.common import options_from
from archbuilder.training.data import Dataset, Split
from archbuilder.training.errors import RunError
from archbuilder.training.options import RUN_SETTINGS, TrainOptions


def test_train_takes_exactly_the_options_with_their_defaults() -> None:
    parameters = inspect.signature(archbuilder.train).parameters
    assert list(parameters)[0] == "blueprint"
    options = {field.name: field.default for field in fields(TrainOptions)}
    assert {name: parameters[name].default for name in list(parameters)[1:]} == options
    assert set(RUN_SETTINGS) <= set(options)


def test_every_train_option_of_the_command_line_reaches_train_options() -> None:
    args = build_parser().parse_args(
        ["train", "lenet5", "--data", "digits", "--epochs", "2", "--batch-size", "16", "--learning-rate", "0.1"]
        + ["--seed", "3", "--resize", "--deterministic", "--no-mixed-precision", "--no-jit", "-o", "out"]
        + ["--overwrite", "--distribution", "mirrored"]
    )
    options = options_from(TrainOptions, args)
    assert options == TrainOptions(
        data="digits",
        epochs=2,
        batch_size=16,
        learning_rate=0.1,
        seed=3,
        output="out",
        overwrite=True,
        deterministic=True,
        resize=True,
        mixed_precision=False,
        jit_compile=False,
        distribution="mirrored",
    )
    # every field but ``verbose`` (the API's) is an option of the command, under the field's name
    assert {field.name for field in fields(TrainOptions)} - set(vars(args)) == {"verbose"}


def test_resume_and_overwrite_exclude_each_other() -> None:
    with pytest.raises(
        RunError, match=r"^resume and overwrite exclude each other: pass --resume to continue the run in"
    ):
        TrainOptions(output="runs/x", resume=True, overwrite=True)


def test_the_folder_defaults_to_runs_and_the_blueprint_name() -> None:
    assert TrainOptions().folder("lenet5") == Path("runs/lenet5")
    assert TrainOptions(output="elsewhere").folder("lenet5") == Path("elsewhere")


def test_a_dataset_object_is_asked_by_its_name() -> None:
    split = Split(np.zeros((2, 4, 4, 1), "float32"), np.zeros(2, "int64"))
    dataset = Dataset("my_images", split, None, ("a", "b"))
    options = TrainOptions(data=dataset, batch_size=16)
    assert options.loaded_data is dataset and TrainOptions(data="digits").loaded_data is None
    assert options.requested_settings() == {name: None for name in RUN_SETTINGS} | {
        "data": "my_images",
        "batch_size": 16,
    }
    assert options.recipe(None).data == "my_images"


def test_the_recipe_takes_the_options_and_validates_them() -> None:
    recipe = TrainOptions(epochs=3, learning_rate=0.5, seed=7, distribution="mirrored").recipe(TrainingRecipe())
    assert (recipe.epochs, recipe.optimizer.learning_rate, recipe.seed, recipe.distribution) == (3, 0.5, 7, "mirrored")
    with pytest.raises(BlueprintError, match="training.epochs"):
        TrainOptions(epochs=0).recipe(None)


@pytest.mark.parametrize(("verbose", "terminal", "expected"), [("auto", True, 1), ("auto", False, 2), (0, True, 0)])
def test_verbosity(verbose, terminal, expected) -> None:
    assert TrainOptions(verbose=verbose).verbosity(terminal) == expected

"""SearchOptions: the options of a search typed once (the command line and ``archbuilder.search.run`` build it)."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path

import numpy as np

from archbuilder.cli import build_parser
from archbuilder.cli.common import options_from
from archbuilder.search import load_space, run
from archbuilder.search.options import SPACE_SETTINGS, SearchOptions
from archbuilder.training.data import Dataset, Split
from tests.search.conftest import TINY


def test_run_takes_exactly_the_options_with_their_defaults() -> None:
    parameters = inspect.signature(run).parameters
    assert list(parameters)[0] == "space"
    options = {field.name: field.default for field in fields(SearchOptions)}
    assert {name: parameters[name].default for name in list(parameters)[1:]} == options
    assert set(SPACE_SETTINGS) <= set(options)


def test_every_search_option_of_the_command_line_reaches_search_options() -> None:
    args = build_parser().parse_args(
        ["search", "pattern", "--data", "shapes:200", "--max-trials", "5", "--max-time", "30m", "--epochs", "2"]
        + ["--tuner", "evolution", "--seed", "3", "--batch-size", "16", "--executions-per-trial", "2"]
        + ["--final-epochs", "4", "--save-top", "--no-tensorboard", "-o", "out", "--resume"]
    )
    assert options_from(SearchOptions, args) == SearchOptions(
        data="shapes:200",
        max_trials=5,
        max_time=1800.0,
        epochs=2,
        tuner="evolution",
        seed=3,
        executions_per_trial=2,
        batch_size=16,
        final_epochs=4,
        output="out",
        resume=True,
        save_top=True,
        tensorboard=False,
    )
    # every field but ``progress`` (the API's) is an option of the command, under the field's name
    assert {field.name for field in fields(SearchOptions)} - set(vars(args)) == {"progress"}


def test_the_settings_replace_the_space_s_own() -> None:
    options = SearchOptions(max_trials=2, epochs=3, tuner="grid", batch_size=8, output="elsewhere")
    settings = load_space(TINY, **options.settings()).settings
    assert (settings.max_trials, settings.epochs, settings.tuner.type, settings.batch_size) == (2, 3, "grid", 8)
    assert settings.seed == 1 and settings.data == "digits"  # not asked: the space's
    assert options.folder("tiny") == Path("elsewhere") and SearchOptions().folder("tiny") == Path("searches/tiny")


def test_a_dataset_object_sets_no_data_setting() -> None:
    split = Split(np.zeros((2, 8, 8, 1), "float32"), np.zeros(2, "int64"))
    dataset = Dataset("my_images", split, None, ("a", "b"))
    options = SearchOptions(data=dataset)
    assert options.loaded_data is dataset and SearchOptions(data="digits").loaded_data is None
    assert options.settings() == {name: None for name in SPACE_SETTINGS}

"""The tuners' registry: each tuner's own settings (``tuner: {type: ...}``), the flat spelling kept as an
alias, the fingerprint of spaces unchanged by it, older search.json files resumed, and an oracle per tuner."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest

from archbuilder.blueprint.errors import BlueprintError
from archbuilder.search import SearchSettings, load_space
from archbuilder.search.errors import SearchError
from archbuilder.search.folder import effective_space
from archbuilder.search.settings import settings_from_record
from archbuilder.search.tuners import (
    DEFAULT_TUNER,
    TUNER_BY_TAG,
    TUNER_CLASSES,
    TUNER_NAMES,
    AnyTuner,
    EvolutionTuner,
    GridTuner,
    HyperbandTuner,
    RandomTuner,
)

HEAD = """\
name: t
input: {shape: [8, 8, 1]}
stem: [{type: conv, filters: {choice: [4, 8]}}]
head: {classes: 10}
"""


def space(search: str, **overrides: Any) -> Any:
    return load_space(HEAD + "search: {" + search + "}\n", **overrides)


GOOD = [
    ("", RandomTuner()),
    ("tuner: random", RandomTuner()),
    ("tuner: {type: random}", RandomTuner()),
    ("tuner: {type: grid}", GridTuner()),
    ("tuner: grid", GridTuner()),
    ("tuner: evolution", EvolutionTuner()),
    ("tuner: {type: evolution, population: 8, sample_size: 2}", EvolutionTuner(population=8, sample_size=2)),
    ("tuner: evolution, population: 8, sample_size: 2", EvolutionTuner(population=8, sample_size=2)),
    ("tuner: {type: evolution, population: 8}, population: 8", EvolutionTuner(population=8)),
    ("tuner: {type: evolution, population: 3}", EvolutionTuner(population=3)),  # the default sample shrinks
    ("tuner: {type: hyperband, factor: 2}", HyperbandTuner(factor=2)),
    ("tuner: hyperband, hyperband_factor: 2", HyperbandTuner(factor=2)),
    ("tuner: hyperband", HyperbandTuner(factor=3)),
]


@pytest.mark.parametrize(("search", "tuner"), GOOD)
def test_each_tuner_has_its_own_settings_and_the_flat_spelling_sets_them(search: str, tuner: Any) -> None:
    settings = space(search).settings
    assert settings.tuner == tuner and type(settings.tuner) is type(tuner)
    assert (settings.population, settings.sample_size, settings.hyperband_factor) == (None, None, None)
    assert "population" not in settings.model_dump()  # recorded once, under the tuner
    assert SearchSettings.model_validate(settings_from_record(settings.model_dump(mode="json"))) == settings


BAD = [
    (
        "tuner: randm",
        "<string>:5:17: search.tuner: expected 'random', 'grid', 'bayesian', 'hyperband' or 'evolution'. Received: "
        "'randm'. Did you mean 'random'?",
    ),
    (
        "tuner: {type: randm}",
        "<string>:5:24: search.tuner.type: unknown type 'randm'. Did you mean 'random'? Known types: bayesian, "
        "evolution, grid, hyperband, random.",
    ),
    (
        "tuner: {population: 3}",
        "<string>:5:17: search.tuner: missing `type`: say which tuner this is (type: random, grid, bayesian, "
        "hyperband, evolution)",
    ),
    (
        "tuner: 3",
        "<string>:5:17: search.tuner: expected a tuner's name (random, grid, bayesian, hyperband, evolution) or its "
        "settings, {type: NAME, ...}. Received: 3",
    ),
    (
        "tuner: {type: random, population: 3}",
        "<string>:5:44: search.tuner.population: unknown key 'population'. Valid keys here: type.",
    ),
    (
        "tuner: {type: hyperband, factr: 2}",
        "<string>:5:42: search.tuner.factr: unknown key 'factr'. Did you mean 'factor'? Valid keys here: factor, type.",
    ),
    ("tuner: {type: hyperband, factor: 1}", "<string>:5:43: search.tuner.factor: must be >= 2. Received: 1"),
    ("tuner: hyperband, hyperband_factor: 1", "<string>:5:46: search.hyperband_factor: must be >= 2. Received: 1"),
    ("tuner: {type: evolution, population: 0}", "<string>:5:47: search.tuner.population: must be >= 1. Received: 0"),
    ("tuner: evolution, population: 0", "<string>:5:40: search.population: must be >= 1. Received: 0"),
    (
        "tuner: {type: evolution, population: 2, sample_size: 3}",
        "<string>:5:17: search.tuner: sample_size (3) must be at most population (2)",
    ),
    (
        "tuner: evolution, population: 2, sample_size: 3",
        "<string>:5:17: search.tuner: sample_size (3) must be at most population (2)",
    ),
    (
        "tuner: random, population: 3",
        "<string>:5:37: search.population: population is a setting of tuner 'evolution', and this search's tuner "
        "is 'random'. Received: 3. Remove population, or write tuner: {type: evolution, population: 3}.",
    ),
    (
        "population: 4",
        "<string>:5:22: search.population: population is a setting of tuner 'evolution', and this search's tuner "
        "is 'random'. Received: 4. Remove population, or write tuner: {type: evolution, population: 4}.",
    ),
    (
        "tuner: grid, hyperband_factor: 2",
        "<string>:5:41: search.hyperband_factor: hyperband_factor is a setting of tuner 'hyperband', and this "
        "search's tuner is 'grid'. Received: 2. Remove hyperband_factor, or write tuner: {type: hyperband, factor: 2}.",
    ),
    (
        "tuner: {type: evolution, population: 3}, population: 4",
        "<string>:5:63: search.population: population is given twice: 4 here and 3 as tuner.population. Keep "
        "tuner.population and remove population.",
    ),
]


@pytest.mark.parametrize(("search", "message"), BAD)
def test_invalid_tuner_settings_say_where_and_what_to_do(search: str, message: str) -> None:
    with pytest.raises(BlueprintError) as caught:
        space(search)
    assert str(caught.value) == message


def test_the_registry_is_the_union_and_random_is_the_default() -> None:
    union = get_args(get_args(AnyTuner)[0])
    assert tuple(TUNER_BY_TAG) == TUNER_NAMES == tuple(cls.tag() for cls in union)
    assert union == TUNER_CLASSES
    assert DEFAULT_TUNER == "random" and SearchSettings.model_fields["tuner"].default == DEFAULT_TUNER
    assert SearchSettings().tuner == TUNER_BY_TAG[DEFAULT_TUNER]()
    assert [cls.tag() for cls in TUNER_CLASSES if cls.continues_trials] == ["hyperband"]
    assert [cls.tag() for cls in TUNER_CLASSES if cls.walks_grid] == ["grid"]


def test_overrides_by_name_and_flat_field_as_before() -> None:
    evolution = space("tuner: evolution, population: 8")
    assert evolution.with_settings(tuner="evolution").settings.tuner == EvolutionTuner(population=8)  # kept
    assert evolution.with_settings(population=4).settings.tuner == EvolutionTuner(population=4)
    assert evolution.with_settings(tuner="random").settings.tuner == RandomTuner()
    assert evolution.with_settings(tuner="hyperband").settings.tuner == HyperbandTuner()
    assert space("", tuner="evolution", population=4).settings.tuner == EvolutionTuner(population=4)
    assert space("", tuner="hyperband", hyperband_factor=2).settings.tuner == HyperbandTuner(factor=2)
    assert space("", tuner={"type": "evolution", "sample_size": 2}).settings.tuner == EvolutionTuner(sample_size=2)
    with pytest.raises(BlueprintError, match=r"^search.population: population is a setting of tuner 'evolution'"):
        space("", population=4)


# Computed before tuners had settings of their own: a search folder made then must still --resume.
FINGERPRINTS = [
    ("pattern", {}, "ad7e2d8fbc0149ff"),
    ("pattern", {"tuner": "evolution", "population": 8, "sample_size": 2}, "6a173c736b182d8b"),
    ("pattern", {"tuner": {"type": "evolution", "population": 8, "sample_size": 2}}, "6a173c736b182d8b"),
    ("pattern", {"tuner": "hyperband", "hyperband_factor": 2}, "451e4b0e956c4474"),
    ("blocks", {}, "f03499ed63494f81"),
    ("compound_scaling", {"tuner": "evolution"}, "61c87166630c8af6"),
]


@pytest.mark.parametrize(("name", "overrides", "fingerprint"), FINGERPRINTS)
def test_the_fingerprint_of_a_shipped_space_is_unchanged(
    name: str, overrides: dict[str, Any], fingerprint: str
) -> None:
    assert load_space(name, **overrides).fingerprint() == fingerprint


def old_record(space: Any, **settings: Any) -> dict[str, Any]:
    """search.json's settings as archbuilder wrote them before tuners had settings: every flat field."""
    flat = {"hyperband_factor": 3, "population": 20, "sample_size": 5}
    return {"fingerprint": "x", "settings": {**space.settings.model_dump(mode="json"), **flat, **settings}}


def test_an_older_search_json_resumes_with_its_settings(tmp_path: Path) -> None:
    pattern = load_space("pattern")
    resumed = effective_space(pattern, {}, old_record(pattern, tuner="random", max_trials=8), tmp_path)
    assert resumed.settings.tuner == RandomTuner() and resumed.fingerprint() == pattern.fingerprint()
    # An evolution search with a population under the default sample size (that one shrinks to it).
    state = old_record(pattern, tuner="evolution", population=4, max_trials=8)
    resumed = effective_space(pattern, {"tuner": "evolution"}, state, tmp_path)
    assert resumed.settings.tuner == EvolutionTuner(population=4)
    state = old_record(pattern, tuner="hyperband", hyperband_factor=2, max_trials=8)
    assert effective_space(pattern, {}, state, tmp_path).settings.tuner == HyperbandTuner(factor=2)
    with pytest.raises(
        SearchError, match=r"^--tuner random conflicts with the search in .*, which runs with tuner hyperband"
    ):
        effective_space(pattern, {"tuner": "random"}, state, tmp_path)
    # Today's record resumes too, and keeps its tuner's settings.
    today = {"settings": space("tuner: {type: evolution, population: 3}").settings.model_dump(mode="json")}
    recorded = space("tuner: {type: evolution, population: 8}").settings.model_dump(mode="json")
    assert settings_from_record(recorded) == recorded
    assert effective_space(pattern, {"tuner": "evolution"}, today, tmp_path).settings.tuner == EvolutionTuner(
        population=3
    )


ORACLES = [
    ("tuner: {type: random}", "RandomOracle"),
    ("tuner: {type: grid}", "GridOracle"),
    ("tuner: {type: hyperband, factor: 2}", "HyperbandOracle"),
    ("tuner: {type: evolution, population: 4, sample_size: 2}", "EvolutionOracle"),
]


@pytest.mark.parametrize(("search", "oracle"), ORACLES)
def test_create_oracle_looks_the_tuner_up(search: str, oracle: str) -> None:
    pytest.importorskip("keras_tuner")
    from archbuilder.search.oracle_factory import create_oracle
    from archbuilder.search.oracle_registry import ORACLE_BUILDERS

    assert set(ORACLE_BUILDERS) == set(TUNER_NAMES)
    made = create_oracle(space(search + ", max_trials: 20"))
    assert type(made).__name__ == oracle and made.max_trials == 20
    if oracle == "HyperbandOracle":
        assert made.factor == 2
    if oracle == "EvolutionOracle":
        assert (made.population_size, made.sample_size) == (4, 2)

"""The tuners, written once: each tuner's own settings class, keyed by its ``type`` tag.

``search.tuner`` is one of these classes: ``tuner: {type: evolution, population: 20, sample_size: 5}``,
or a bare name for the tuner with its defaults (``tuner: evolution``). The oracle that runs a tuner
is registered under the same tag in :data:`archbuilder.search.oracle_registry.ORACLE_BUILDERS`
(by the oracle's own module); a test checks that the two key sets are equal. Code that needs to know
how a tuner behaves asks its settings (:attr:`TunerSettings.continues_trials`,
:attr:`TunerSettings.walks_grid`), never its name.

Adding a tuner = a settings class here (listed in :data:`TUNER_CLASSES`) + its oracle, registered
with :func:`~archbuilder.search.oracle_registry.builds_oracle` + tests.

Nothing here imports Keras or KerasTuner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias, Union, get_args

from pydantic import BeforeValidator, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from archbuilder.blueprint.errors import did_you_mean
from archbuilder.blueprint.fields import Spec

#: The tuner of a space whose ``search:`` names none.
DEFAULT_TUNER = "random"


class TunerSettings(Spec):
    """Base of every tuner's settings: its ``type`` tag and what the rest of the search asks of it."""

    type: str

    #: Whether a trial may continue an earlier trial's training (Hyperband's promotions): each trial's
    #: weights are then kept as a checkpoint.
    continues_trials: ClassVar[bool] = False
    #: Whether the tuner walks every combination of values (then every float marker needs a ``step``).
    walks_grid: ClassVar[bool] = False
    #: The older flat spelling: ``search:`` fields beside ``tuner`` -> this tuner's field they set.
    flat_fields: ClassVar[dict[str, str]] = {}

    @classmethod
    def tag(cls) -> str:
        """The ``type`` tag of this tuner (``"evolution"``)."""
        return str(get_args(cls.model_fields["type"].annotation)[0])

    @classmethod
    def from_record(cls, recorded: dict[str, Any]) -> dict[str, Any]:
        """This tuner's settings as a search recorded them (``model_dump``), ready to validate again.

        Args:
            recorded: the tuner's recorded mapping (with its ``type``).

        Returns:
            The mapping to validate; this base returns ``recorded`` itself.
        """
        return recorded


class RandomTuner(TunerSettings):
    """Random search: every trial is a random sample of the space that passes the screen."""

    type: Literal["random"] = "random"


class GridTuner(TunerSettings):
    """Every combination of the active values, in order (every float marker needs a `step`)."""

    type: Literal["grid"] = "grid"
    walks_grid: ClassVar[bool] = True


class BayesianTuner(TunerSettings):
    """Bayesian optimization with a Gaussian process (KerasTuner's; needs scikit-learn)."""

    type: Literal["bayesian"] = "bayesian"


class HyperbandTuner(TunerSettings):
    """Hyperband: many candidates trained for a few epochs, the best continued up to `search.epochs`."""

    type: Literal["hyperband"] = "hyperband"
    factor: int = Field(3, ge=2, le=100, description="Hyperband's reduction factor.")
    continues_trials: ClassVar[bool] = True
    flat_fields: ClassVar[dict[str, str]] = {"hyperband_factor": "factor"}


class EvolutionTuner(TunerSettings):
    """Regularized (aging) evolution (Real et al., 2019): after `population` random trials, each trial
    changes one value of the best of `sample_size` members drawn from the population, and the oldest
    member leaves."""

    type: Literal["evolution"] = "evolution"
    population: int = Field(
        20,
        ge=1,
        le=100_000,
        description="Members of the population (the first ones are random; at most half of max_trials).",
    )
    sample_size: int = Field(
        5,
        ge=1,
        le=100_000,
        description="Members drawn per new trial, the best of them is mutated (at most the population).",
    )
    flat_fields: ClassVar[dict[str, str]] = {"population": "population", "sample_size": "sample_size"}

    @classmethod
    def from_record(cls, recorded: dict[str, Any]) -> dict[str, Any]:
        """A recorded ``sample_size`` above the population was the default (an explicit one is refused):
        it is left out, and shrinks to the population again.

        Args:
            recorded: the tuner's recorded mapping (with its ``type``).

        Returns:
            The mapping to validate.
        """
        population, sample_size = recorded.get("population"), recorded.get("sample_size")
        if isinstance(population, int) and isinstance(sample_size, int) and sample_size > population:
            return {key: value for key, value in recorded.items() if key != "sample_size"}
        return recorded

    @model_validator(mode="after")
    def _sample_of_population(self) -> EvolutionTuner:
        # An explicit sample_size must fit the population; the default shrinks to a smaller one.
        if "sample_size" in self.model_fields_set and self.sample_size > self.population:
            raise ValueError(f"sample_size ({self.sample_size}) must be at most population ({self.population})")
        return self


#: Every tuner, in the order names are listed to users.
TUNER_CLASSES: tuple[type[TunerSettings], ...] = (RandomTuner, GridTuner, BayesianTuner, HyperbandTuner, EvolutionTuner)
TUNER_BY_TAG: dict[str, type[TunerSettings]] = {cls.tag(): cls for cls in TUNER_CLASSES}
#: The tuners' names, as ``--tuner`` and ``tuner: NAME`` take them.
TUNER_NAMES: tuple[str, ...] = tuple(TUNER_BY_TAG)
#: The older flat ``search:`` fields -> the tuner that owns each.
FLAT_FIELD_OWNERS: dict[str, type[TunerSettings]] = {flat: cls for cls in TUNER_CLASSES for flat in cls.flat_fields}

#: Any tuner's settings, chosen by its ``type`` tag.
if TYPE_CHECKING:
    # A union built at run time from a tuple is no static type: a checker sees the base class, and
    # code that needs one tuner's fields narrows with isinstance.
    AnyTuner: TypeAlias = TunerSettings
else:
    AnyTuner = Annotated[Union[TUNER_CLASSES], Field(discriminator="type")]


def listed(names: tuple[str, ...] | list[str]) -> str:
    """``'random', 'grid' or 'evolution'``: names quoted and joined the way messages list them."""
    quoted = [f"'{name}'" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def tuner_from_name(value: Any) -> Any:
    """``"evolution"`` -> ``{"type": "evolution"}`` (the tuner with its defaults); other values as given.

    Args:
        value: the value given for ``search.tuner``.

    Returns:
        The tuner's mapping for a known name; ``value`` itself otherwise (a mapping is left to the union).

    Raises:
        ValueError: a name that is no tuner's (with a did-you-mean), a mapping without ``type``, or
            another value.
    """
    if isinstance(value, TunerSettings):
        return value
    if isinstance(value, dict):
        if "type" not in value:
            raise ValueError(f"missing `type`: say which tuner this is (type: {', '.join(TUNER_NAMES)})")
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"expected a tuner's name ({', '.join(TUNER_NAMES)}) or its settings, {{type: NAME, ...}}. "
            f"Received: {value!r}"
        )
    if value not in TUNER_BY_TAG:
        raise ValueError(f"expected {listed(TUNER_NAMES)}. Received: {value!r}.{did_you_mean(value, TUNER_NAMES)}")
    return {"type": value}


class _NameOrSettings:
    """The JSON Schema of ``search.tuner``: a tuner's name, or a tuner's settings (the union's schema)."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"anyOf": [{"type": "string", "enum": list(TUNER_NAMES)}, handler(schema)]}


#: The type of ``search.tuner``: a tuner's name (its defaults) or its settings, validated as the tuner's settings.
if TYPE_CHECKING:
    TunerField: TypeAlias = TunerSettings
else:
    TunerField = Annotated[AnyTuner, BeforeValidator(tuner_from_name), _NameOrSettings()]


def tuner_name(value: Any) -> str | None:
    """The tuner named by a ``search.tuner`` value (a name, a mapping with ``type``, or settings); ``None`` if none."""
    if isinstance(value, TunerSettings):
        return value.type
    if isinstance(value, dict):
        value = value.get("type")
    return value if isinstance(value, str) else None


__all__ = [
    "DEFAULT_TUNER",
    "FLAT_FIELD_OWNERS",
    "TUNER_BY_TAG",
    "TUNER_CLASSES",
    "TUNER_NAMES",
    "AnyTuner",
    "TunerField",
    "BayesianTuner",
    "EvolutionTuner",
    "GridTuner",
    "HyperbandTuner",
    "RandomTuner",
    "TunerSettings",
    "listed",
    "tuner_from_name",
    "tuner_name",
]

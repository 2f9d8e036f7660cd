"""The ``search:`` section of a search space: tuner, objective, trials, data, budgets, constraints."""

from __future__ import annotations

import functools
import math
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, WithJsonSchema, model_validator

from archbuilder.blueprint.errors import FieldError
from archbuilder.blueprint.fields import PositiveInt, Spec
from archbuilder.search.tuners import (
    DEFAULT_TUNER,
    FLAT_FIELD_OWNERS,
    TUNER_BY_TAG,
    TUNER_NAMES,
    TunerField,
    TunerSettings,
    tuner_name,
)

Count = Annotated[int, Field(ge=1)]
Cost = Literal["params", "macs", "activation_memory"]
#: Metrics where lower is better; any other objective is maximized unless the space says otherwise.
MINIMIZED = ("loss", "val_loss")


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_HELP = "a duration: seconds (600) or numbers with s, m, h or d (90s, 30m, 1.5h, 1h30m)"


def parse_duration(value: Any) -> Any:
    """Seconds from ``600``, ``"600"``, ``"90s"``, ``"30m"``, ``"1.5h"`` or ``"1h30m"`` (other values are
    left to the field's type, which refuses them).

    Args:
        value: the value given for a duration field.

    Returns:
        The duration in seconds (a float) for a number or a duration text; ``value`` itself otherwise.

    Raises:
        ValueError: a text that is not a duration, or a duration of 0 or less.
    """
    if value is None:
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected {_DURATION_HELP}. Received: {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION_PART.findall(text)
            if not parts or _DURATION_PART.sub("", text).strip():
                raise ValueError(f"expected {_DURATION_HELP}. Received: {value!r}") from None
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    else:
        return value
    if math.isfinite(seconds) and seconds <= 0:
        raise ValueError(f"expected {_DURATION_HELP}, more than 0. Received: {value!r}")
    return seconds  # infinity and NaN are refused by the field, as in every float field


def format_duration(seconds: float) -> str:
    """``90`` -> ``"1m30s"``, ``5400`` -> ``"1h30m"``: a duration the way a user writes it."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or f"{seconds:g}s"


#: Seconds, written as a number or as ``90s``, ``30m``, ``1.5h``, ``1h30m``.
Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?|(\d+(\.\d+)?\s*[smhdSMHD]\s*)+)\s*$"},
            ],
            "description": "Seconds, or a duration such as 90s, 30m, 1.5h or 1h30m.",
        }
    ),
]


class Budgets(Spec):
    """Hard limits, checked by the analyzer before a candidate is built."""

    max_params: Count | None = Field(None, description="Most parameters (trainable and not) a candidate may have.")
    max_macs: Count | None = Field(None, description="Most multiply-accumulates per example (forward pass).")
    max_activation_memory: Count | None = Field(
        None, description="Most bytes of layer outputs per example (float32 forward pass)."
    )

    @model_validator(mode="before")
    @classmethod
    def _whole_floats(cls, data: Any) -> Any:
        # YAML `2e6` is a float; budgets are counts.
        if isinstance(data, dict):
            return {
                key: int(value) if isinstance(value, float) and value.is_integer() else value
                for key, value in data.items()
            }
        return data

    def items(self) -> list[tuple[str, int]]:
        """The budgets that are set, as ``(field name, limit)`` in field order."""
        return [(name, getattr(self, name)) for name in type(self).model_fields if getattr(self, name) is not None]


class Objective(Spec):
    """``{maximize: val_accuracy}``, optionally with a soft penalty on a cost (MnasNet's reward):
    score = metric * (cost / target) ** -weight when maximizing (``** weight`` when minimizing)."""

    maximize: str | None = Field(None, description="Metric to maximize (e.g. val_accuracy).")
    minimize: str | None = Field(None, description="Metric to minimize (e.g. val_loss).")
    penalize: Cost | None = Field(None, description="Cost that lowers the score: params, macs or activation_memory.")
    weight: float = Field(0.07, gt=0.0, le=10.0, description="Strength of the penalty (MnasNet uses 0.07).")
    target: float | None = Field(
        None, gt=0.0, description="Cost at which the penalty is neutral (default: its budget)."
    )

    @model_validator(mode="after")
    def _one_metric(self) -> Objective:
        if (self.maximize is None) == (self.minimize is None):
            raise ValueError("the objective needs exactly one of `maximize` or `minimize`")
        return self

    @property
    def metric(self) -> str:
        """The metric named by ``maximize`` or ``minimize``."""
        metric = self.maximize if self.maximize is not None else self.minimize
        assert metric is not None  # _one_metric: exactly one of the two is set
        return metric

    @property
    def direction(self) -> Literal["max", "min"]:
        """``"max"`` with ``maximize``, ``"min"`` with ``minimize``."""
        return "max" if self.maximize is not None else "min"


class SearchSettings(Spec):
    """How to search: every field can be overridden from the command line or ``run(...)``."""

    tuner: TunerField = Field(
        DEFAULT_TUNER,
        validate_default=True,
        description=(
            f"The tuner: its name ({', '.join(TUNER_NAMES)}), or {{type: NAME, ...}} with its own settings "
            "(see the tuners below)."
        ),
    )
    objective: str | Objective = Field(
        "val_accuracy", description="Metric to optimize, or {maximize|minimize, penalize, ...}."
    )
    max_trials: PositiveInt = Field(
        10, le=100_000, description="Trained trials at most (rejected candidates do not count)."
    )
    max_time: Duration | None = Field(
        None,
        description=(
            "Start no trial once the search has run this long (seconds, or 90s, 30m, 1.5h, 1h30m); the trial "
            "running then finishes. Counted over the whole search, resumes included."
        ),
    )
    epochs: PositiveInt = Field(1, le=10_000, description="Epochs per trial (hyperband: the most epochs of a trial).")
    executions_per_trial: PositiveInt = Field(1, le=100, description="Trainings per trial, averaged.")
    final_epochs: PositiveInt | None = Field(
        None,
        le=10_000,
        description=(
            "Retrain the top_k trials for this many epochs with their full recipe and keep the best (default: keep "
            "the best trial's own model)."
        ),
    )
    seed: int = Field(0, description="Seed of the sampling and of the trainings.")
    data: str | None = Field(None, description="Dataset (digits, shapes[:N], mnist, ...); default: training.data.")
    batch_size: PositiveInt | None = Field(
        None, description="Batch size of every trial (default: training.batch_size)."
    )
    resize: bool = Field(
        False,
        description="Resize the data to each candidate's input (needed when resolution is searched on real images).",
    )
    budgets: Budgets = Field(default_factory=Budgets, description="Hard limits checked before building.")
    variables: dict[str, Any] = Field(
        default_factory=dict, description="Named markers used by `expr` values and constraints."
    )
    constraints: list[str] = Field(
        default_factory=list,
        max_length=64,
        description=(
            "Expressions every candidate must satisfy, over named values and params, macs, activation_memory."
        ),
    )
    pareto: Cost = Field("macs", description="Cost of the Pareto front (objective vs this).")
    top_k: PositiveInt = Field(5, le=1000, description="How many of the best blueprints to export to top/.")
    hyperband_factor: int | None = Field(
        None, ge=2, le=100, exclude=True, description="Older spelling of tuner: {type: hyperband, factor: N}."
    )
    population: int | None = Field(
        None, ge=1, le=100_000, exclude=True, description="Older spelling of tuner: {type: evolution, population: N}."
    )
    sample_size: int | None = Field(
        None, ge=1, le=100_000, exclude=True, description="Older spelling of tuner: {type: evolution, sample_size: N}."
    )
    max_attempts: PositiveInt = Field(
        2000,
        le=1_000_000,
        description=(
            "Samples tried per trial before the space counts as exhausted (rejected and duplicates included)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _fold_flat_fields(cls, data: Any) -> Any:
        # The older flat spelling (`population: 20` beside `tuner: evolution`) sets the tuner's own settings.
        # A flat value out of its bounds stays where it is, so that its error names the place it was written.
        if not isinstance(data, dict):
            return data
        flat = {
            name: data[name] for name in FLAT_FIELD_OWNERS if data.get(name) is not None and _fits(name, data[name])
        }
        tuner = data.get("tuner", DEFAULT_TUNER)
        name = tuner_name(tuner)
        if not flat or name not in TUNER_BY_TAG:
            return data  # nothing to fold, or no tuner to fold it into (the tuner's own error says why)
        own = dict(tuner) if isinstance(tuner, dict) else {"type": name}
        if isinstance(tuner, TunerSettings):
            own.update(tuner.model_dump(exclude_unset=True))
        for flat_name, value in flat.items():
            owner = FLAT_FIELD_OWNERS[flat_name]
            field = owner.flat_fields[flat_name]
            if owner.tag() != name:
                raise FieldError(
                    (flat_name,),
                    f"{flat_name} is a setting of tuner '{owner.tag()}', and this search's tuner is '{name}'. "
                    f"Received: {value!r}. Remove {flat_name}, or write tuner: {{type: {owner.tag()}, {field}: "
                    f"{value}}}.",
                )
            if field in own and own[field] != value:
                raise FieldError(
                    (flat_name,),
                    f"{flat_name} is given twice: {value!r} here and {own[field]!r} as tuner.{field}. "
                    f"Keep tuner.{field} and remove {flat_name}.",
                )
            own[field] = value
        return {**{key: value for key, value in data.items() if key not in flat}, "tuner": own}

    @property
    def objective_spec(self) -> Objective:
        """``objective`` as an :class:`Objective`; a bare metric name is minimized when it is a loss, else maximized."""
        if isinstance(self.objective, Objective):
            return self.objective
        if self.objective in MINIMIZED or self.objective.endswith("loss"):
            return Objective(minimize=self.objective)
        return Objective(maximize=self.objective)

    @property
    def score_name(self) -> str:
        """What KerasTuner optimizes: the metric itself, or ``score`` when a cost is penalized."""
        spec = self.objective_spec
        return "score" if spec.penalize else spec.metric


@functools.cache
def _flat_adapter(name: str) -> TypeAdapter[Any]:
    info = SearchSettings.model_fields[name]
    annotated: Any = Annotated  # the field's type with its bounds, built at run time
    return TypeAdapter(annotated[(info.annotation, *info.metadata)])


def _fits(name: str, value: Any) -> bool:
    """Whether ``value`` is valid for the flat field ``name`` (its type and bounds)."""
    try:
        _flat_adapter(name).validate_python(value)
    except ValidationError:
        return False
    return True


def settings_from_record(recorded: dict[str, Any]) -> dict[str, Any]:
    """Settings a search recorded (``search.json``, ``summary.json``), in today's spelling, ready to validate.

    An older archbuilder recorded the flat per-tuner fields (``population``, ``sample_size``,
    ``hyperband_factor``) beside every tuner: those of the recorded tuner go under it, the others
    are dropped. Each tuner then reads its own record (:meth:`TunerSettings.from_record`).

    Args:
        recorded: the ``settings`` mapping of a search's state file.

    Returns:
        The settings as :class:`SearchSettings` validates them (``recorded`` is not changed).
    """
    settings = {key: value for key, value in recorded.items() if key not in FLAT_FIELD_OWNERS or value is None}
    name = tuner_name(recorded.get("tuner"))
    if name is None:
        return settings
    tuner = dict(recorded["tuner"]) if isinstance(recorded.get("tuner"), dict) else {"type": name}
    for flat, flat_owner in FLAT_FIELD_OWNERS.items():
        if flat_owner.tag() == name and recorded.get(flat) is not None:
            tuner.setdefault(flat_owner.flat_fields[flat], recorded[flat])
    owner = TUNER_BY_TAG.get(name)
    settings["tuner"] = owner.from_record(tuner) if owner is not None else tuner
    return settings


__all__ = ["Budgets", "Cost", "Objective", "SearchSettings", "settings_from_record"]

"""The blueprint: input, defaults, body (pattern form or stem + stages), head, auxiliary heads.

The fields and their checks are :class:`~archbuilder.blueprint.base.BlueprintBase`'s, the sections are
defined in :mod:`archbuilder.blueprint.sections` and exported here too; the Blueprint adds :meth:`Blueprint.resolve`.
"""

from __future__ import annotations

from archbuilder.blueprint.base import BlueprintBase
from archbuilder.blueprint.resolve import resolve
from archbuilder.blueprint.sections import (
    MAX_REPEAT,
    MAX_RESOLVED_ITEMS,
    AuxHead,
    Backbone,
    ConvTemplate,
    Defaults,
    FilterProgression,
    Head,
    InputSpec,
    Pattern,
    PatternStage,
    Scaling,
    Stage,
)


class Blueprint(BlueprintBase):
    """A whole network."""

    def resolve(self) -> Blueprint:
        """The canonical form: pattern, repeats, strides, defaults and scaling expanded."""
        return resolve(self)


__all__ = [
    "AuxHead",
    "Backbone",
    "Blueprint",
    "ConvTemplate",
    "Defaults",
    "FilterProgression",
    "Head",
    "InputSpec",
    "MAX_REPEAT",
    "MAX_RESOLVED_ITEMS",
    "Pattern",
    "PatternStage",
    "Scaling",
    "Stage",
]

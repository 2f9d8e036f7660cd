"""The fields of a blueprint: input, defaults, body (pattern form or stem + stages), head, auxiliary heads.

:class:`BlueprintBase` holds them and the checks between them; :class:`~archbuilder.blueprint.model.Blueprint`
adds :meth:`~archbuilder.blueprint.model.Blueprint.resolve`. The resolver works on this class, so
:mod:`archbuilder.blueprint.resolve` needs no import of :mod:`archbuilder.blueprint.model`.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, model_validator

from archbuilder.blueprint.errors import FieldError, Location
from archbuilder.blueprint.fields import Identifier, Spec
from archbuilder.blueprint.kinds import AnyKind
from archbuilder.blueprint.sections import (
    MAX_REPEAT,
    AuxHead,
    Backbone,
    Defaults,
    Head,
    InputSpec,
    Pattern,
    Scaling,
    Stage,
)
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.blueprint.yaml_dump import dump_yaml


def _fc_text(pattern: Pattern) -> str:
    return str(pattern.fc) if isinstance(pattern.fc, list) else f"{pattern.K} x {pattern.fc}"


class BlueprintBase(Spec):
    """A whole network's fields and the checks between them.

    :class:`~archbuilder.blueprint.model.Blueprint` is this with :meth:`~archbuilder.blueprint.model.Blueprint.resolve`;
    the resolver (:mod:`archbuilder.blueprint.resolve`) works on this class, so it and the Blueprint import one way.
    """

    name: Identifier = Field(description="Name of the network (the Keras model's name).")
    description: str | None = Field(None, max_length=10_000, description="Free text.")
    input: InputSpec = Field(description="Input shape.")
    defaults: Defaults = Field(default_factory=Defaults, description="Settings applied wherever not overridden.")
    scaling: Scaling | None = Field(None, description="Width/depth/resolution multipliers (compound scaling).")
    strict_fit: bool = Field(False, description="Make an inexact 'valid' fit (dropped border pixels) an error.")
    backbone: Backbone | None = Field(
        None,
        description="A keras.applications network as the body (transfer "
        "learning); `stages` may follow it, `pattern` and `stem` may not.",
    )
    pattern: Pattern | None = Field(None, description="The plain-stack form; excludes stem and stages.")
    stem: list[AnyKind] = Field(default_factory=list, max_length=MAX_REPEAT, description="Layers before the stages.")
    stages: list[Stage] = Field(default_factory=list, max_length=256, description="Stages of blocks.")
    head: Head | None = Field(None, description="Classifier (absent: the model outputs the last feature map).")
    aux_heads: list[AuxHead] = Field(default_factory=list, max_length=16, description="Auxiliary classifiers.")
    training: TrainingRecipe | None = Field(None, description="How to train it (optimizer, schedule, data, ...).")

    @model_validator(mode="after")
    def _one_body(self) -> Self:
        if self.pattern is not None and (self.stem or self.stages):
            raise ValueError("give either `pattern` or `stem`/`stages`, not both")
        if self.backbone is not None and (self.pattern is not None or self.stem):
            raise ValueError(
                "a `backbone` is the start of the body: remove `pattern` and `stem` (blocks after the "
                "backbone go in `stages`)"
            )
        if self.pattern is None and not self.stem and not self.stages and self.backbone is None:
            raise ValueError("the blueprint has no body: add `pattern`, `stem` and/or `stages`, or a `backbone`")
        if self.pattern is not None and self.pattern.fc and self.head is not None and self.head.fc:
            raise ValueError("FC layers are given twice: in pattern.fc and in head.fc; keep one")
        if self.pattern is not None:
            self._check_pattern_heads(self.pattern)
        names = ([("head", self.head.name)] if self.head else []) + [
            (f"aux_heads[{i}]", aux.name) for i, aux in enumerate(self.aux_heads)
        ]
        for name in dict.fromkeys(n for _, n in names):
            users = [where for where, n in names if n == name]
            if len(users) > 1:
                raise ValueError(f"output name '{name}' is used by {' and '.join(users)}; output names must be unique")
        return self

    def _check_pattern_heads(self, pattern: Pattern) -> None:
        """What resolving the pattern form does to the heads (flatten by default, pattern.fc moved into
        the head) must leave them valid: say so here, at what the user wrote."""
        if pattern.fc and self.head is None:
            raise FieldError(
                ("pattern", "fc"), "the pattern has FC layers but the blueprint has no `head`; add head: {classes: N}"
            )
        heads: list[tuple[Location, Head]] = [(("head",), self.head)] if self.head is not None else []
        heads += [(("aux_heads", index), aux) for index, aux in enumerate(self.aux_heads)]
        for where, head in heads:
            if head.classifier != "conv":
                continue
            if head.pool is None:
                raise FieldError(
                    where + ("classifier",),
                    (
                        "classifier: conv needs pool: global_avg or global_max, and the pattern form flattens by "
                        "default (pool: flatten); add pool: global_avg to this head (or use classifier: dense)"
                    ),
                )
            if pattern.fc and where == ("head",):
                raise FieldError(
                    where + ("classifier",),
                    (
                        f"classifier: conv takes no FC layers, and pattern.fc gives {_fc_text(pattern)} (they move "
                        "into the head); remove pattern.fc or use classifier: dense"
                    ),
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain data, defaults left out; ``Blueprint.model_validate(bp.to_dict()) == bp``."""
        return self.model_dump(mode="json", exclude_defaults=True)

    def to_yaml(self) -> str:
        """The blueprint as YAML (:meth:`to_dict`: defaults left out), keys in field order, short items on one line."""
        return dump_yaml(self.to_dict())


__all__ = ["BlueprintBase"]

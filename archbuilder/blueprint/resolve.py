"""Resolution: from what the user wrote to the canonical form every later step reads.

The canonical form is itself a valid :class:`Blueprint`: the pattern becomes stages of plain
layers, every stage lists its blocks (``repeat`` expanded, ``strides`` placed on its block),
scaling is applied (and removed), and every field that defaults to ``defaults`` is filled in.
Resolving a canonical blueprint gives it back unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from archbuilder.blueprint.applications import NO_WEIGHTS
from archbuilder.blueprint.base import BlueprintBase
from archbuilder.blueprint.errors import BlueprintError, FieldError, Location, Problem
from archbuilder.blueprint.fields import make_divisible, pair
from archbuilder.blueprint.layers import Conv, Kind
from archbuilder.blueprint.sections import MAX_RESOLVED_ITEMS, Backbone, Defaults, Head, Pattern, Scaling, Stage
from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.blueprint.translate import problem_from_error, relevant_errors

#: The blueprint's class: :class:`~archbuilder.blueprint.model.Blueprint` (which imports this module for its
#: ``resolve()``); a resolved blueprint is built from the given one's class.
B = TypeVar("B", bound=BlueprintBase)

#: Field of a kind -> field of ``defaults`` that fills it when unset.
_DEFAULTED_FIELDS = {
    "activation": "activation",
    "batch_norm": "batch_norm",
    "use_bias": "use_bias",
    "kernel_initializer": "kernel_initializer",
    "kernel_regularizer": "kernel_regularizer",
    "epsilon": "batch_norm_epsilon",
    "momentum": "batch_norm_momentum",
    "rate": "dropout",
}


@dataclass
class Resolution(Generic[B]):
    """A resolved blueprint and, for each resolved stage item, where it came from."""

    blueprint: B
    origins: dict[Location, Location] = field(default_factory=dict)

    def origin_of(self, location: Location) -> Location:
        """The user's path for a resolved path (longest known prefix replaced)."""
        for cut in range(len(location), 0, -1):
            source = self.origins.get(location[:cut])
            if source is not None:
                return source + location[cut:]
        return location


def resolve(blueprint: B) -> B:
    """The canonical form of ``blueprint``: what every later step (analysis, Keras) reads.

    The pattern becomes stages of plain layers, every stage lists its blocks (``repeat`` expanded,
    ``strides`` placed on its block), scaling is applied (and removed), and every field that
    defaults to ``defaults`` is filled in. Resolving a canonical blueprint gives it back unchanged.

    Args:
        blueprint: a validated :class:`Blueprint` as the user wrote it (load a path, YAML text, a
            dict or a zoo name with :func:`load_blueprint` first).

    Returns:
        A new :class:`Blueprint` in canonical form.

    Raises:
        BlueprintError: resolving breaks a rule (too many items after scaling and repeats, a width
            multiplier that makes a layer invalid, strides set twice, a pattern that leaves
            nothing, ...); problems are located at what the user wrote.
    """
    return resolve_with_origins(blueprint).blueprint


def resolve_with_origins(blueprint: B) -> Resolution[B]:
    """Resolve ``blueprint`` to its canonical form, keeping where each resolved item came from.

    Args:
        blueprint: The blueprint as the user wrote it.

    Returns:
        The canonical blueprint (as :func:`resolve` gives it), with a map from each resolved stage item's
        path to the path the user wrote it at (:meth:`Resolution.origin_of`).

    Raises:
        BlueprintError: Resolving breaks a rule (too many items after scaling and repeats, strides set
            twice, a pattern that leaves nothing, ...); problems are located at what the user wrote.
    """
    resolver = _Resolver(blueprint.defaults, blueprint.scaling or Scaling())
    stem: list[Kind] = [resolver.fill(item) for item in blueprint.stem]
    head = blueprint.head
    if blueprint.pattern is not None:
        stages, head = resolver.expand_pattern(blueprint.pattern, head)
    else:
        stages = [resolver.expand_stage(index, stage) for index, stage in enumerate(blueprint.stages)]
    stages = _with_stochastic_depth(stages, blueprint.defaults.stochastic_depth)
    resolver.count(len(stem))
    input_shape = blueprint.input.shape
    if resolver.scaling.resolution is not None:
        input_shape = (resolver.scaling.resolution, resolver.scaling.resolution, input_shape[2])
    pool_default = "flatten" if blueprint.pattern is not None else "global_avg"
    backbone, training = _resolve_backbone(blueprint)
    if blueprint.pattern is not None:
        resolver.origins[("stages",)] = ("pattern", "stages") if blueprint.pattern.stages is not None else ("pattern",)
    resolution = Resolution(blueprint, resolver.origins)
    resolution.blueprint = _revalidated_blueprint(
        resolution,
        dict(
            name=blueprint.name,
            description=blueprint.description,
            input={"shape": input_shape},
            defaults=blueprint.defaults,
            strict_fit=blueprint.strict_fit,
            backbone=backbone,
            stem=stem,
            stages=stages,
            head=resolver.resolve_head(head, pool_default) if head is not None else None,
            aux_heads=[resolver.resolve_head(aux, pool_default) for aux in blueprint.aux_heads],
            training=training,
        ),
    )
    return resolution


def _revalidated_blueprint(resolution: Resolution[B], fields: dict[str, Any]) -> B:
    """The resolved blueprint, validated again; a rule it breaks is reported at what the user wrote.

    Validation rejects what resolving would break (an empty pattern, a conv classifier on a flattened
    pattern head, ...); this is the net under it, so no pydantic error ever leaves ``resolve``.
    """
    try:
        return type(resolution.blueprint)(**fields)  # the given blueprint's class (Blueprint)
    except ValidationError as exc:
        problems = []
        model = type(resolution.blueprint)
        for error in relevant_errors(exc.errors(), fields, model):
            problem = problem_from_error(error, model)
            # A rule about the whole blueprint that resolving can break is about its body (no stages left).
            location = resolution.origin_of(problem.location or ("stages",))
            problems.append(replace(problem, location=location))
        raise BlueprintError(problems) from None


def _with_stochastic_depth(stages: list[Stage], largest: float) -> list[Stage]:
    """Fill each residual block's unset ``drop_path``: the i-th of n gets ``largest * i / n`` (from 0)."""
    total = sum("drop_path" in type(block).model_fields for stage in stages for block in stage.blocks or [])
    index = 0
    filled: list[Stage] = []
    for stage in stages:
        blocks = []
        for block in stage.blocks or []:
            if "drop_path" in type(block).model_fields:
                if getattr(block, "drop_path", None) is None:
                    block = block.model_copy(update={"drop_path": largest * index / total})
                index += 1
            blocks.append(block)
        filled.append(stage.model_copy(update={"blocks": blocks}))
    return filled


#: What a keras.applications backbone (its preprocessing, or EfficientNet's own Rescaling) expects.
BACKBONE_PIXEL_RANGE = (0.0, 255.0)


def _resolve_backbone(blueprint: BlueprintBase) -> tuple[Backbone | None, TrainingRecipe | None]:
    """The backbone with ``trainable`` decided, and the recipe feeding it [0, 255] pixels unless it says otherwise."""
    backbone, training = blueprint.backbone, blueprint.training
    if backbone is None:
        return None, training
    if backbone.trainable is None:
        backbone = backbone.model_copy(update={"trainable": backbone.weights == NO_WEIGHTS})
    if training is None or "pixel_range" not in training.model_fields_set:
        training = (training or TrainingRecipe()).model_copy(update={"pixel_range": BACKBONE_PIXEL_RANGE})
    return backbone, training


class _Resolver:
    def __init__(self, defaults: Defaults, scaling: Scaling) -> None:
        self.defaults = defaults
        self.scaling = scaling
        self.origins: dict[Location, Location] = {}
        self.items = 0

    def count(self, number: int) -> None:
        self.items += number
        if self.items > MAX_RESOLVED_ITEMS:
            raise BlueprintError(
                [
                    Problem(
                        f"the resolved network has more than {MAX_RESOLVED_ITEMS:,} layers and blocks; "
                        "check the `repeat`, `convs` and `N` values (and scaling.depth_multiplier)",
                        ("stages",),
                    )
                ]
            )

    # -- defaults and width scaling ------------------------------------------------------------
    def fill(self, kind: Kind) -> Kind:
        """Fill unset fields from ``defaults`` and apply the width multiplier."""
        update: dict[str, Any] = {}
        for name, default_name in _DEFAULTED_FIELDS.items():
            if name in type(kind).model_fields and getattr(kind, name) is None:
                value = getattr(self.defaults, default_name)
                if value is not None:
                    update[name] = value
        if self.scaling.width_multiplier != 1.0:
            for name in kind.width_fields:
                value = getattr(kind, name)
                if value is not None:
                    update[name] = self.scale_width(value)
        if not update:
            return kind
        if any(name in kind.width_fields for name in update):
            return self._revalidated(kind, update)
        return kind.model_copy(update=update)

    def _revalidated(self, kind: Kind, update: dict[str, Any]) -> Kind:
        """A width-scaled kind, validated again (scaling can break a rule such as groups | filters)."""
        try:
            return type(kind).model_validate({**kind.model_dump(), **update})
        except ValidationError as exc:
            first = problem_from_error(exc.errors()[0], root=type(kind))
            reason = f"{first.path}: {first.message}" if first.location else first.message
            scaled = ", ".join(
                f"{name} {getattr(kind, name)} -> {update[name]}" for name in kind.width_fields if name in update
            )
            raise BlueprintError(
                [
                    Problem(
                        f"width_multiplier={self.scaling.width_multiplier} makes a '{kind.type}' invalid ({scaled}): "
                        f"{reason}. Choose a multiplier (or divisor) that keeps it valid",
                        ("scaling", "width_multiplier"),
                    )
                ]
            ) from None

    def scale_width(self, value: int | list[int]) -> int | list[int]:
        if isinstance(value, list):
            return [self._scale_one_width(v) for v in value]
        return self._scale_one_width(value)

    def _scale_one_width(self, value: int) -> int:
        return make_divisible(value * self.scaling.width_multiplier, self.scaling.divisor)

    def scale_depth(self, repeat: int) -> int:
        if self.scaling.depth_multiplier == 1.0:
            return repeat
        return int(math.ceil(self.scaling.depth_multiplier * repeat))

    # -- stages ---------------------------------------------------------------------------------
    def expand_stage(self, index: int, stage: Stage) -> Stage:
        if stage.blocks is not None:
            template = list(stage.blocks)
            sources: list[Location] = [("stages", index, "blocks", j) for j in range(len(template))]
        else:
            assert stage.block is not None  # a stage has `blocks` or `block` (validation says so)
            template = [stage.block]
            sources = [("stages", index, "block")]
        repeat = self.scale_depth(stage.repeat)
        self.count(repeat * len(template))
        blocks = [self.fill(item) for _ in range(repeat) for item in template]
        for position in range(len(blocks)):
            self.origins[("stages", index, "blocks", position)] = sources[position % len(template)]
        if stage.strides is not None:
            target = 0 if stage.stride_block == "first" else len(blocks) - 1
            blocks[target] = self._with_strides(index, blocks[target], stage.strides, sources[target % len(template)])
        self._check_repeated_ids(blocks, sources)
        return Stage(blocks=blocks, id=stage.id)

    def _with_strides(self, index: int, block: Kind, strides: Any, source: Location) -> Kind:
        if pair(strides) == (1, 1):
            # A stride of 1 downsamples nothing: accepted on every kind (a searched `strides: {choice:
            # [1, 2]}` may pick it for a block that cannot stride) and leaves the block as written.
            if getattr(block, "strides", None) not in (None, 1, (1, 1)):
                raise self._strides_set_twice(strides, block, source)
            return block
        if "strides" not in type(block).model_fields:
            raise BlueprintError(
                [
                    Problem(
                        f"the stage's strides={strides} cannot be applied: '{block.type}' takes no strides; start the "
                        "stage with a block or layer that does (e.g. conv, bottleneck), or add a pooling layer",
                        ("stages", index, "strides"),
                    )
                ]
            )
        dilation_rate = getattr(block, "dilation_rate", 1)
        if max(pair(dilation_rate)) > 1:
            raise BlueprintError(
                [
                    Problem(
                        f"the stage's strides={strides} cannot go on a dilated '{block.type}' "
                        f"(dilation_rate={dilation_rate}): Keras rejects strides > 1 with dilation_rate > 1. "
                        "Start the stage with a pooling layer or an undilated conv",
                        ("stages", index, "strides"),
                    )
                ]
            )
        if getattr(block, "strides", None) not in (None, 1, (1, 1)):
            raise self._strides_set_twice(strides, block, source)
        return block.model_copy(update={"strides": strides})

    @staticmethod
    def _strides_set_twice(strides: Any, block: Kind, source: Location) -> BlueprintError:
        return BlueprintError(
            [
                Problem(
                    f"strides are set twice: on the stage (strides={strides}) and on its block "
                    f"(strides={getattr(block, 'strides', None)}); keep one",
                    source + ("strides",),
                )
            ]
        )

    @staticmethod
    def _check_repeated_ids(blocks: list[Kind], sources: list[Location]) -> None:
        if len(blocks) == len(sources):
            return
        for block, source in zip(blocks, sources):
            if block.id is not None:
                raise BlueprintError(
                    [
                        Problem(
                            f"id '{block.id}' would be repeated by `repeat`; ids must be unique. "
                            "Put the id on the stage (its output) instead",
                            source + ("id",),
                        )
                    ]
                )

    # -- the pattern form -----------------------------------------------------------------------
    def expand_pattern(self, pattern: Pattern, head: Head | None) -> tuple[list[Stage], Head | None]:
        stages: list[Stage] = []
        conv_fields = pattern.conv.model_dump(exclude_none=True)
        if pattern.stages is not None:
            plan = [(s.filters, s.convs, s.pool) for s in pattern.stages]
        else:
            assert pattern.filters is not None and pattern.M is not None and pattern.N is not None
            try:
                plan = [(filters, pattern.N, True) for filters in pattern.widths()]
            except FieldError as error:  # validation said so already, unless the pattern was built unchecked
                raise BlueprintError([Problem(str(error), ("pattern", "filters") + error.location)]) from None
        for m, (filters, convs, pool) in enumerate(plan):
            source: Location = ("pattern", "stages", m) if pattern.stages is not None else ("pattern",)
            layers: list[Kind] = [
                Conv(filters=filters, **conv_fields) for _ in range(self.scale_depth(convs) if convs else 0)
            ]
            if pool and pattern.pool is not None:
                layers.append(pattern.pool)
            if not layers:
                raise BlueprintError(
                    [Problem("this stage has no convs and no pool; remove it or give it convs", source)]
                )
            self.count(len(layers))
            for position in range(len(layers)):
                self.origins[("stages", m, "blocks", position)] = source
            stages.append(Stage(blocks=[self.fill(layer) for layer in layers]))
        fc = pattern.fc if isinstance(pattern.fc, list) else [pattern.fc] * (pattern.K or 0) if pattern.fc else []
        if head is None:
            if fc:
                raise BlueprintError(
                    [
                        Problem(
                            "the pattern has FC layers but the blueprint has no `head`; add head: {classes: N}",
                            ("pattern", "fc"),
                        )
                    ]
                )
            return stages, None
        update: dict[str, Any] = {}
        if fc:
            update["fc"] = fc
        if pattern.dropout is not None:
            update["fc_dropout"] = pattern.dropout
        return stages, head.model_copy(update=update)

    # -- heads ----------------------------------------------------------------------------------
    def resolve_head(self, head: Head, pool_default: str) -> Head:
        update: dict[str, Any] = {"layers": [self.fill(layer) for layer in head.layers]}
        if head.pool is None:
            update["pool"] = pool_default
        if head.fc_dropout is None:
            update["fc_dropout"] = self.defaults.dropout
        return head.model_copy(update=update)


def fill_defaults(kind: Kind, defaults: Defaults) -> Kind:
    """One layer or block with its unset fields taken from ``defaults`` (no scaling)."""
    return _Resolver(defaults, Scaling()).fill(kind)

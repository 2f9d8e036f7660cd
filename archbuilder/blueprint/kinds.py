"""The list of kinds, written once: every layer and block class, keyed by its ``type`` tag.

The analyzer's rules and the compiler's builders are keyed by the same tags; a test checks
that the three sets are equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias, Union, get_args

from pydantic import Field

from archbuilder.blueprint.blocks import BLOCK_CLASSES
from archbuilder.blueprint.layers import LAYER_CLASSES, Kind


def _tags_of(cls: type[Kind]) -> tuple[str, ...]:
    return get_args(cls.model_fields["type"].annotation)


KIND_CLASSES: tuple[type[Kind], ...] = LAYER_CLASSES + BLOCK_CLASSES
KIND_BY_TAG: dict[str, type[Kind]] = {tag: cls for cls in KIND_CLASSES for tag in _tags_of(cls)}
LAYER_KINDS: frozenset[str] = frozenset(tag for cls in LAYER_CLASSES for tag in _tags_of(cls))
BLOCK_KINDS: frozenset[str] = frozenset(tag for cls in BLOCK_CLASSES for tag in _tags_of(cls))
ALL_KINDS: frozenset[str] = LAYER_KINDS | BLOCK_KINDS

#: Any layer or block, chosen by its ``type`` tag.
if TYPE_CHECKING:
    # A union built at run time from a tuple is no static type: a checker sees the base class, and
    # code that needs one kind's fields narrows with isinstance.
    AnyKind: TypeAlias = Kind
else:
    AnyKind = Annotated[Union[KIND_CLASSES], Field(discriminator="type")]

"""The list of kinds, written once: every layer and block class, keyed by its ``type`` tag.

A kind is listed by defining its class in :mod:`~archbuilder.blueprint.layers` or
:mod:`~archbuilder.blueprint.blocks` (``LAYER_CLASSES`` and ``BLOCK_CLASSES`` are the classes each
module defines), and the union is formed here. The analyzer's rules and the compiler's builders are
keyed by the same tags; tests/test_registries.py checks that the sets are equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias, Union

from pydantic import Field

from archbuilder.blueprint.blocks import BLOCK_CLASSES
from archbuilder.blueprint.layers import LAYER_CLASSES, Kind

KIND_CLASSES: tuple[type[Kind], ...] = LAYER_CLASSES + BLOCK_CLASSES
KIND_BY_TAG: dict[str, type[Kind]] = {tag: cls for cls in KIND_CLASSES for tag in cls.tags()}
LAYER_KINDS: frozenset[str] = frozenset(tag for cls in LAYER_CLASSES for tag in cls.tags())
BLOCK_KINDS: frozenset[str] = frozenset(tag for cls in BLOCK_CLASSES for tag in cls.tags())
ALL_KINDS: frozenset[str] = LAYER_KINDS | BLOCK_KINDS

#: Any layer or block, chosen by its ``type`` tag.
if TYPE_CHECKING:
    # A union built at run time from a tuple is no static type: a checker sees the base class, and
    # code that needs one kind's fields narrows with isinstance.
    AnyKind: TypeAlias = Kind
else:
    AnyKind = Annotated[Union[KIND_CLASSES], Field(discriminator="type")]

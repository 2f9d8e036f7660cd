"""Field types shared by the blueprint classes: spatial pairs, padding, activations, ids.

Pairs and padding use plain validators so that one bad value gives one short error, not one
error per union member.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias, TypeGuard, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_serializer,
)

from archbuilder.blueprint.errors import FieldError

#: The largest value of a positive integer field: a width (channels, units, classes), a size, a count.
MAX_INT = 1_000_000
#: The largest magnitude of a float field: Keras keeps these numbers as float32, which overflows
#: to infinity above it.
MAX_FLOAT = 3.4e38

ActivationName = Literal[
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "gelu",
    "swish",
    "silu",
    "sigmoid",
    "hard_sigmoid",
    "tanh",
    "softmax",
    "linear",
]
#: Every activation, written once (above): the ``activation`` option of layers, blocks and heads, and
#: the activation layer kinds (``{type: relu}``, classes in :mod:`archbuilder.blueprint.layers`) that
#: the analyzer's rules and the compiler's builders are keyed by. Other lists of activations are
#: derived from it.
ACTIVATIONS: tuple[str, ...] = get_args(ActivationName)


class Spec(BaseModel):
    """Base of every blueprint class: strict (unknown keys are errors), immutable, and finite.

    Every float field of the format (layers, blocks, defaults, scaling, initializers, the training
    recipe) rejects NaN and infinities (``allow_inf_nan=False``) and magnitudes a float32 cannot
    hold (they would become infinities in Keras); each field adds the bounds Keras needs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _check_float32_range(cls, value: Any) -> Any:
        items = value if isinstance(value, (list, tuple)) else (value,)
        for index, item in enumerate(items):
            if isinstance(item, float) and abs(item) > MAX_FLOAT:
                where = (index,) if items is value else ()
                raise FieldError(
                    where,
                    f"expected a number between {-MAX_FLOAT:g} and {MAX_FLOAT:g} (Keras keeps it "
                    f"as a float32). Received: {item!r}",
                )
        return value

    @model_serializer(mode="wrap")
    def _serialize_with_type(self, handler: Any) -> Any:
        # A `type` tag is always written (first), even when it equals its default, so that
        # dumps with exclude_defaults stay loadable through discriminated unions.
        data = handler(self)
        if isinstance(data, dict) and "type" in type(self).model_fields:
            data = {"type": self.type, **{k: v for k, v in data.items() if k != "type"}}  # type: ignore[attr-defined]  # a subclass's field (checked above)
        return data


#: A spatial pair as validated: one integer for both axes, or (height, width).
PairValue: TypeAlias = int | tuple[int, int]
#: Padding as validated: 'same', 'valid', one integer for every side, or (rows, columns).
PaddingValue: TypeAlias = str | int | tuple[int, int]
#: Explicit zero padding as validated: also ((top, bottom), (left, right)).
ZeroPaddingAmount: TypeAlias = int | tuple[int, int] | tuple[tuple[int, int], tuple[int, int]]


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_pair(value: Any) -> PairValue:
    if _is_int(value):
        if value < 1:
            raise ValueError(f"must be >= 1. Received: {value}")
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
        if min(value) < 1:
            raise ValueError(f"both values must be >= 1. Received: {list(value)}")
        return (value[0], value[1])
    raise ValueError(f"expected an integer or a pair [height, width] of integers. Received: {value!r}")


def _parse_padding(value: Any) -> PaddingValue:
    if isinstance(value, str) and value in ("same", "valid"):
        return value
    if _is_int(value):
        if value < 0:
            raise ValueError(f"an integer padding must be >= 0. Received: {value}")
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) and v >= 0 for v in value):
        return (value[0], value[1])
    raise ValueError(
        f"expected 'same', 'valid', an integer, or a pair [rows, columns] of integers >= 0. Received: {value!r}"
    )


def _parse_zero_padding(value: Any) -> ZeroPaddingAmount:
    if isinstance(value, str) or (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (list, tuple)) for v in value)
        and not all(len(v) == 2 and all(_is_int(x) and x >= 0 for x in v) for v in value)
    ):
        raise ValueError(
            "expected an integer, [rows, cols], or [[top, bottom], [left, right]] of integers >= 0. "
            f"Received: {value!r}"
        )
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value)
        and all(_is_int(x) and x >= 0 for v in value for x in v)
    ):
        return ((value[0][0], value[0][1]), (value[1][0], value[1][1]))
    parsed = _parse_padding(value)
    if isinstance(parsed, str):
        raise ValueError(f"zero_padding takes integers, not {parsed!r}")
    return parsed


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


_PAIR_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2},
    ]
}
_PADDING_SCHEMA = {
    "anyOf": [
        {"enum": ["same", "valid"]},
        {"type": "integer", "minimum": 0},
        {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2},
    ]
}
_ZERO_PADDING_SCHEMA = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2},
        {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2},
        },
    ]
}

_SERIALIZE_AS_LIST = PlainSerializer(lambda v: [_as_list(x) for x in v] if isinstance(v, tuple) else v, return_type=Any)

IntPair = Annotated[PairValue, BeforeValidator(_parse_pair), _SERIALIZE_AS_LIST, WithJsonSchema(_PAIR_SCHEMA)]
Padding = Annotated[PaddingValue, BeforeValidator(_parse_padding), _SERIALIZE_AS_LIST, WithJsonSchema(_PADDING_SCHEMA)]
ZeroPaddingValue = Annotated[
    ZeroPaddingAmount, BeforeValidator(_parse_zero_padding), _SERIALIZE_AS_LIST, WithJsonSchema(_ZERO_PADDING_SCHEMA)
]

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
Rate = Annotated[float, Field(ge=0.0, lt=1.0)]
PositiveInt = Annotated[int, Field(ge=1, le=MAX_INT)]


def check_strides_and_dilation(strides: PairValue, dilation_rate: PairValue) -> None:
    """Keras rejects strides > 1 together with dilation_rate > 1; say so before Keras does."""
    if max(pair(strides)) > 1 and max(pair(dilation_rate)) > 1:
        raise ValueError(
            "strides > 1 cannot be combined with dilation_rate > 1 (Keras rejects it). "
            f"Received: strides={strides}, dilation_rate={dilation_rate}"
        )


def pair(value: PairValue) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; a pair stays a pair."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def padding_amounts(value: ZeroPaddingAmount) -> tuple[tuple[int, int], tuple[int, int]]:
    """Explicit padding as ((top, bottom), (left, right))."""
    if isinstance(value, int):
        return ((value, value), (value, value))
    rows, cols = value
    return (pair(rows), pair(cols))


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of ``divisor`` without losing more than 10%.

    The rule of MobileNetV2 and EfficientNet (and timm's ``make_divisible``).
    """
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)

"""Upper bounds on what a network may cost, so that an absurd blueprint is an error, not a number.

Every limit can be raised (or lowered) with an environment variable, read each time a blueprint is
analyzed. They are documented in ``docs/limits.md``.

========================================  ==========================  =====================
total                                     environment variable        default
========================================  ==========================  =====================
parameters (trainable + non-trainable)    ``ARCHBUILDER_MAX_PARAMS``           10^12
MACs per example (forward pass)           ``ARCHBUILDER_MAX_MACS``             10^15
activation bytes per example (float32)    ``ARCHBUILDER_MAX_ACTIVATION_BYTES`` 10^12
========================================  ==========================  =====================

The input alone (height x width x channels, as float32) must also fit the activation limit; it is
checked before any layer is analyzed, which keeps every later number bounded.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from archbuilder.blueprint.errors import BlueprintError, Location, Problem
from archbuilder.errors import ArchbuilderError

#: Bytes of one activation value in the totals (float32, Keras's default dtype).
ACTIVATION_DTYPE_BYTES = 4


@dataclass(frozen=True)
class Limit:
    """One bound on a total: what it counts, its environment variable and its default."""

    what: str
    variable: str
    default: int

    def value(self) -> int:
        """The bound in effect: the environment variable when set, else the default."""
        text = os.environ.get(self.variable, "").strip()
        if not text:
            return self.default
        number = _whole_number(text)
        if number is None or number < 1:
            raise LimitSettingError(
                f"{self.variable}: expected a positive whole number (such as 1000000000000 or 1e12). "
                f"Received: {text[:40]!r}. Fix or unset it"
            )
        return number


def _whole_number(text: str) -> int | None:
    """``'1000'`` -> 1000, ``'1e12'`` -> 10**12; None for anything else (fractions, NaN, infinity, words)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number == int(number) else None


class LimitSettingError(ArchbuilderError, ValueError):
    """A limit's environment variable does not hold a positive whole number."""


MAX_PARAMS = Limit("parameters", "ARCHBUILDER_MAX_PARAMS", 10**12)
MAX_MACS = Limit("MACs per example", "ARCHBUILDER_MAX_MACS", 10**15)
MAX_ACTIVATION_BYTES = Limit("bytes of activations per example (float32)", "ARCHBUILDER_MAX_ACTIVATION_BYTES", 10**12)

LIMITS = (MAX_PARAMS, MAX_MACS, MAX_ACTIVATION_BYTES)


def check_input(shape: tuple[int, ...], location: Location) -> None:
    """The input alone must fit the activation limit; checked before any layer is analyzed.

    Raises:
        BlueprintError: at ``location``, what set the input size (``input.shape`` or ``scaling.resolution``).
    """
    limit = MAX_ACTIVATION_BYTES.value()
    values = math.prod(shape)
    if values * ACTIVATION_DTYPE_BYTES <= limit:
        return
    raise BlueprintError(
        [
            Problem(
                f"the input alone is {'x'.join(map(str, shape))} = {count(values)} values, "
                f"{count(values * ACTIVATION_DTYPE_BYTES)} bytes per example (float32), over the activation limit of "
                f"{count(limit)} bytes. Use a smaller input, or raise the limit: "
                f"{MAX_ACTIVATION_BYTES.variable}=<bytes>",
                location,
            )
        ]
    )


#: How each total reads in a message: (limit, verb phrase, advice).
_TOTALS = (
    (MAX_PARAMS, "has {} parameters", "Use fewer or narrower layers"),
    (MAX_MACS, "needs {} MACs per example", "Use a smaller input, or fewer or narrower layers"),
    (
        MAX_ACTIVATION_BYTES,
        "keeps {} bytes of activations per example (float32)",
        "Use a smaller input, or fewer or narrower layers",
    ),
)


def check_totals(layers: Iterable[tuple[Location, str, int, int, int]], origin: Callable[[Location], Location]) -> None:
    """Every total within its limit.

    Args:
        layers: ``(path, Keras name, params, MACs, activation elements)`` of every layer, in order.
        origin: the user's path for a resolved path (to position the problem in the file).

    Raises:
        BlueprintError: one problem per total over its limit, at the layer where the running total
            passes the limit.
    """
    limits = [limit.value() for limit, _, _ in _TOTALS]
    totals = [0, 0, 0]
    passed: list[tuple[Location, str] | None] = [None, None, None]
    for path, name, params, macs, elements in layers:
        for index, amount in enumerate((params, macs, elements * ACTIVATION_DTYPE_BYTES)):
            totals[index] += amount
            if passed[index] is None and totals[index] > limits[index]:
                passed[index] = (path, name)
    problems = []
    for (limit, phrase, advice), value, bound, where in zip(_TOTALS, totals, limits, passed):
        if where is None:
            continue
        path, name = where
        problems.append(
            Problem(
                f"the network {phrase.format(count(value))}, over the limit of {count(bound)} (the total passes it at "
                f"layer '{name}'). {advice}, or raise the limit: {limit.variable}=<number>",
                path,
                origin=origin(path),
            )
        )
    if problems:
        raise BlueprintError(problems)


def count(n: int) -> str:
    """A total as a user reads it: ``1,234,567``, or ``1.2e+24`` once it is too long to read
    (computed from the digits: the number may be beyond a float)."""
    if n < 10**15:
        return f"{n:,}"
    digits = str(n)
    return f"{digits[0]}.{digits[1]}e+{len(digits) - 1}"


__all__ = [
    "ACTIVATION_DTYPE_BYTES",
    "LIMITS",
    "Limit",
    "LimitSettingError",
    "MAX_ACTIVATION_BYTES",
    "MAX_MACS",
    "MAX_PARAMS",
    "check_input",
    "check_totals",
    "count",
]

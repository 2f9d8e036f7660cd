"""Search parameters: the searched values of a space, each with its domain, how it is sampled and when it is active.

A :class:`Parameter` is what a choice/int/float/bool marker (:mod:`archbuilder.search.markers`) becomes:
:class:`ChoiceParameter`, :class:`IntParameter`, :class:`FloatParameter` or :class:`BoolParameter`. Its
``name`` is the path of the value in the concrete blueprint (``stages[1].block.filters``), which is also
the KerasTuner hyperparameter name and the column of ``trials.csv``; its :class:`Condition` list says when it
is active. Each kind draws values (``sample``), lists them (``grid``, ``probes``), checks them
(``contains``) and mutates them (``other_value``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from archbuilder.blueprint.errors import Location


@dataclass(frozen=True)
class Condition:
    """A parameter is active only while ``parent`` has one of ``values``."""

    parent: str
    values: tuple[Any, ...]

    def holds(self, values: dict[str, Any]) -> bool:
        """Whether ``parent`` is among ``values`` and has one of the condition's values."""
        return self.parent in values and values[self.parent] in self.values


@dataclass(eq=False)
class Parameter:
    """One searched value: its name, where it is written, and when it is active."""

    name: str
    location: Location
    conditions: tuple[Condition, ...] = ()
    variable: str | None = None
    kind: ClassVar[str] = ""

    @property
    def default(self) -> Any:
        """The value used when nothing chose one (the marker's ``default``)."""
        raise NotImplementedError

    def active(self, values: dict[str, Any]) -> bool:
        """Whether every condition holds for ``values``, so the parameter takes a value."""
        return all(condition.holds(values) for condition in self.conditions)

    def sample(self, rng: random.Random) -> Any:
        """A value drawn with ``rng`` from the marker's domain."""
        raise NotImplementedError

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one the marker can take."""
        raise NotImplementedError

    def grid(self) -> list[Any]:
        """Every value, in order (grid search; :meth:`size` says how many first)."""
        raise NotImplementedError

    def size(self) -> int:
        """How many values :meth:`grid` has, without making the list (a range may hold billions)."""
        return len(self.grid())

    def value_at(self, index: int) -> Any:
        """The grid's value at ``index`` (from 0), without making the list."""
        return self.grid()[index]

    def values(self) -> Iterator[Any]:
        """The grid's values one by one, without making the list."""
        return (self.value_at(index) for index in range(self.size()))

    def probes(self) -> list[Any]:
        """The values worth checking one by one when validating the space."""
        return self.grid()

    def value_of(self, label: Any) -> Any:
        """The blueprint value for a recorded value (a choice records labels)."""
        return label

    def other_value(self, value: Any, rng: random.Random) -> Any | None:
        """A value other than ``value``, drawn as :meth:`sample` draws (``None`` when the marker has one value).

        Evolution's mutation: a finite, uniformly sampled marker picks uniformly among its other values;
        a log-scaled or continuous one draws until the value differs.
        """
        if self._uniform_grid() and self.size() <= 1024:
            others = [candidate for candidate in self.values() if not _same(candidate, value)]
            return others[rng.randrange(len(others))] if others else None
        for _ in range(64):
            candidate = self.sample(rng)
            if not _same(candidate, value):
                return candidate
        return None

    def _uniform_grid(self) -> bool:
        """Whether :meth:`sample` draws uniformly from :meth:`grid`."""
        return True

    def describe(self) -> str:
        """The domain in a few words, for listings (``int 1..4 step 1``)."""
        raise NotImplementedError


@dataclass(eq=False)
class ChoiceParameter(Parameter):
    """A ``{choice: [...]}`` marker: one of its options, recorded by label.

    Attributes:
        options: The options as written (each may be a whole spec).
        labels: How each option is recorded (see :func:`option_labels`), in the same order.
        default_label: The label of the marker's ``default`` (the first option when it has none).
    """

    options: list[Any] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    default_label: Any = None
    kind: ClassVar[str] = "choice"

    @property
    def default(self) -> Any:
        """The label of the marker's ``default``, else of its first option."""
        return self.default_label

    def sample(self, rng: random.Random) -> Any:
        """The label of an option drawn uniformly."""
        return self.labels[rng.randrange(len(self.labels))]

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the labels."""
        return any(_same(value, label) for label in self.labels)

    def index(self, label: Any) -> int:
        """The position of ``label`` among the options; ``KeyError`` when it is none of them."""
        for position, candidate in enumerate(self.labels):
            if _same(label, candidate):
                return position
        raise KeyError(label)

    def grid(self) -> list[Any]:
        """Every label, in the order written."""
        return list(self.labels)

    def value_of(self, label: Any) -> Any:
        """The option recorded as ``label``, as written."""
        return self.options[self.index(label)]

    def describe(self) -> str:
        """``choice of`` and the labels."""
        return "choice of " + ", ".join(str(label) for label in self.labels)


@dataclass(eq=False)
class IntParameter(Parameter):
    """An ``{int: [min, max]}`` marker: an integer from ``low`` to ``high``, both included.

    Attributes:
        low: The smallest value.
        high: The largest value.
        step: The step between values; with ``log`` a factor (``low``, ``low * step``, ...). None: 1,
            or with ``log`` any integer.
        log: Sample on a log scale.
        default_value: The marker's ``default`` (None: ``low``).
    """

    low: int = 0
    high: int = 0
    step: int | None = None
    log: bool = False
    default_value: int | None = None
    kind: ClassVar[str] = "int"

    @property
    def default(self) -> int:
        """The marker's ``default``, else ``low``."""
        return self.low if self.default_value is None else self.default_value

    def sample(self, rng: random.Random) -> int:
        """A value of the grid drawn uniformly, or with ``log`` and no ``step`` an integer drawn on a log scale."""
        if self.step is not None or not self.log:
            return self.value_at(rng.randrange(self.size()))
        value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
        return min(int(value), self.high)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is an integer (not a bool) in ``[low, high]`` on the step."""
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
            return False
        if self.step is None:
            return True
        if self.log:
            return any(value == v for v in self.grid())
        return (value - self.low) % self.step == 0

    def grid(self) -> list[int]:
        """``low`` to ``high`` by ``step`` (1 when unset; with ``log`` and a ``step``, times ``step``)."""
        if self.log and self.step is not None:
            values, value = [], self.low
            while value <= self.high:
                values.append(value)
                value *= self.step
            return values
        return list(self._range())

    def _range(self) -> range:
        return range(self.low, self.high + 1, self.step or 1)

    def size(self) -> int:
        """How many values the grid has (a ``range``'s length: no list)."""
        return len(self.grid()) if self.log and self.step is not None else len(self._range())

    def value_at(self, index: int) -> int:
        """The grid's value at ``index``."""
        return self.grid()[index] if self.log and self.step is not None else self._range()[index]

    def probes(self) -> list[int]:
        """The smallest and largest values of the grid."""
        return sorted({self.value_at(0), self.value_at(self.size() - 1)})

    def _uniform_grid(self) -> bool:
        return self.step is not None or not self.log

    def describe(self) -> str:
        """``int low..high``, with the step and ``(log)`` when set."""
        text = f"int {self.low}..{self.high}"
        if self.step:
            text += f" x{self.step}" if self.log else f" step {self.step}"
        return text + (" (log)" if self.log else "")


@dataclass(eq=False)
class FloatParameter(Parameter):
    """A ``{float: [min, max]}`` marker: a number from ``low`` to ``high``.

    Attributes:
        low: The smallest value.
        high: The largest value.
        step: The step between values; with ``log`` a factor. None: continuous (no grid search).
        log: Sample on a log scale.
        default_value: The marker's ``default`` (None: ``low``).
    """

    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    log: bool = False
    default_value: float | None = None
    kind: ClassVar[str] = "float"

    @property
    def default(self) -> float:
        """The marker's ``default``, else ``low``."""
        return self.low if self.default_value is None else self.default_value

    def sample(self, rng: random.Random) -> float:
        """A grid value drawn uniformly when stepped, else one drawn from ``[low, high]`` (log scale with ``log``)."""
        if self.step is not None:
            return self.value_at(rng.randrange(self.size()))
        if self.log:
            return clean_float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return clean_float(rng.uniform(self.low, self.high))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a number (not a bool) in ``[low, high]`` (1e-9 slack, relative); step not checked."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        tolerance = 1e-9 * max(1.0, abs(self.high))
        return self.low - tolerance <= value <= self.high + tolerance

    def grid(self) -> list[float]:
        """``low`` to ``high`` by ``step`` (with ``log``, times ``step``); ``ValueError`` without a ``step``."""
        return list(self.values())

    def _raw(self, index: int) -> float:
        assert self.step is not None
        return self.low * self.step**index if self.log else self.low + index * self.step

    def size(self) -> int:
        """How many values the grid has, computed (``ValueError`` without a ``step``)."""
        if self.step is None:
            raise ValueError(f"{self.name}: grid search needs a `step` on every float marker")
        bound = self.high * (1 + 1e-9)
        if self._raw(0) > bound:
            return 0
        ratio = math.log(bound / self.low) / math.log(self.step) if self.log else (bound - self.low) / self.step
        last = max(int(math.floor(ratio)), 0)
        while self._raw(last + 1) <= bound:  # the float arithmetic's last word, either way
            last += 1
        while last > 0 and self._raw(last) > bound:
            last -= 1
        return last + 1

    def value_at(self, index: int) -> float:
        """The grid's value at ``index`` (``low + index * step``, or ``low * step ** index`` with ``log``)."""
        if not 0 <= index < self.size():
            raise IndexError(index)
        return clean_float(self._raw(index))

    def on_grid(self, value: float) -> bool:
        """Whether ``value`` is one of the grid's values (within float rounding), found by arithmetic."""
        if self.step is None or not self.contains(value) or self.size() == 0:
            return False
        position = math.log(value / self.low) / math.log(self.step) if self.log else (value - self.low) / self.step
        return any(
            0 <= index < self.size() and math.isclose(value, self.value_at(index))
            for index in (math.floor(position), math.ceil(position))
        )

    def probes(self) -> list[float]:
        """``low`` and ``high``, or the first and last grid values when stepped."""
        if self.step is None:
            return [self.low, self.high]
        return sorted({self.value_at(0), self.value_at(self.size() - 1)})

    def _uniform_grid(self) -> bool:
        return self.step is not None

    def describe(self) -> str:
        """``float low..high``, with the step and ``(log)`` when set."""
        text = f"float {self.low:g}..{self.high:g}"
        if self.step:
            text += f" x{self.step:g}" if self.log else f" step {self.step:g}"
        return text + (" (log)" if self.log else "")


@dataclass(eq=False)
class BoolParameter(Parameter):
    """A ``{bool: {}}`` marker: true or false, each drawn with probability 1/2.

    Attributes:
        default_value: The marker's ``default``.
    """

    default_value: bool = False
    kind: ClassVar[str] = "bool"

    @property
    def default(self) -> bool:
        """The marker's ``default`` (false when unset)."""
        return self.default_value

    def sample(self, rng: random.Random) -> bool:
        """True or false with probability 1/2."""
        return rng.random() < 0.5

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a bool."""
        return isinstance(value, bool)

    def grid(self) -> list[bool]:
        """``[False, True]``."""
        return [False, True]

    def describe(self) -> str:
        """``bool``."""
        return "bool"


def clean_float(value: float) -> float:
    """``1.1500000000000001`` -> ``1.15``: stepped floats read as written."""
    return float(f"{value:.12g}")


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (isinstance(a, float) and isinstance(b, float) and math.isclose(a, b))


__all__ = [
    "BoolParameter",
    "ChoiceParameter",
    "Condition",
    "FloatParameter",
    "IntParameter",
    "Parameter",
    "clean_float",
]

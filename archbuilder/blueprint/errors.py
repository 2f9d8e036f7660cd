"""Errors a user can cause, each naming where it is and what to do.

A :class:`Problem` is one finding (error or warning) with a blueprint path such as
``stages[2].blocks[0].filters`` and, when the blueprint came from a file, ``file:line:column``.
A :class:`BlueprintError` carries every problem found in one pass, so a user sees them all at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from archbuilder.errors import ArchbuilderError

Severity = Literal["error", "warning"]
Location = tuple[str | int, ...]


def format_path(location: Iterable[str | int]) -> str:
    """Turn a location tuple into the user-facing path: ``('stages', 2, 'repeat')`` -> ``stages[2].repeat``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            part = _key_text(str(part))
            text += f".{part}" if text else part
    return text or "<blueprint>"


def _key_text(key: str) -> str:
    """A key as a path shows it: as written, or escaped and quoted when it would not print on one line;
    shortened when long (keys of the format are short names: a long one is a mistake)."""
    shown = key if key.isprintable() else repr(key)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def printable(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``), so a file name
    cannot split a one-line message or send terminal escape sequences."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def display_name(argument: str, limit: int = 80) -> str:
    """A file name or argument as messages show it: control characters escaped, cut after ``limit`` characters."""
    argument = printable(argument)
    return argument if len(argument) <= limit else f"{argument[:limit]}... ({len(argument)} characters)"


@dataclass(frozen=True)
class Problem:
    """One finding about a blueprint."""

    message: str
    location: Location = ()
    severity: Severity = "error"
    file: str | None = None
    line: int | None = None
    column: int | None = None
    #: Where the problem's location came from in what the user wrote (``pattern.stages[1]`` for
    #: a resolved ``stages[1].blocks[0]``); used to find the file position.
    origin: Location | None = None

    @property
    def path(self) -> str:
        """The location as the user-facing path (``stages[2].blocks[0].filters``)."""
        return format_path(self.location)

    def where(self) -> str:
        """``file:line:column`` when known, else the file, else empty."""
        if self.file is None:
            return ""
        file = printable(self.file)
        if self.line is None:
            return file
        return f"{file}:{self.line}:{self.column or 1}"

    def __str__(self) -> str:
        prefix = self.where()
        label = "" if self.severity == "error" else "warning: "
        text = f"{label}{self.path}: {self.message}" if self.location or not prefix else f"{label}{self.message}"
        return printable(f"{prefix}: {text}" if prefix else text)  # one problem, one line

    def with_source(self, file: str | None, line: int | None, column: int | None) -> Problem:
        """A copy placed at ``file:line:column`` (the rest unchanged)."""
        return Problem(self.message, self.location, self.severity, file, line, column, self.origin)

    def to_dict(self) -> dict[str, object]:
        """The problem as JSON-ready data: severity, path, message and the file position (``None`` when unknown)."""
        return {
            "severity": self.severity,
            "path": self.path,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
        }


@dataclass
class BlueprintError(ArchbuilderError, ValueError):
    """A blueprint is invalid. ``problems`` holds every error found (never empty)."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        errors = [p for p in self.problems if p.severity == "error"]
        if len(errors) == 1:
            return str(errors[0])
        lines = [f"{len(errors)} problems:"] + [f"  {p}" for p in errors]
        return "\n".join(lines)

    @classmethod
    def single(
        cls,
        message: str,
        location: Location = (),
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> BlueprintError:
        """An error with one problem: ``message`` at ``location``, optionally at ``file:line:column``."""
        return cls([Problem(message, location, "error", file, line, column)])


class FieldError(ValueError):
    """Raised by a model validator about one of the model's fields (or something below one).

    pydantic places a model validator's error on the model itself; the translation in
    :mod:`archbuilder.blueprint.io` appends ``location`` (relative to that model), so the user sees
    ``head.classifier`` rather than ``head`` (and the position of what they wrote there).
    """

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(message)
        self.location = tuple(location)


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ``Did you mean 'x'?`` suffix when a close match exists, else an empty string."""
    import difflib

    options = list(candidates)
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not matches:  # 'convolution' -> 'conv', 'batchnorm' -> 'batch_norm'
        folded = word.lower().replace("_", "").replace("-", "")
        matches = sorted(
            (
                o
                for o in options
                if len(o) >= 3 and (folded.startswith(o.replace("_", "")) or o.replace("_", "") == folded)
            ),
            key=len,
            reverse=True,
        )
    return f" Did you mean '{matches[0]}'?" if matches else ""

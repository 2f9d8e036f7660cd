"""What every command shares: finding a blueprint source, loading it with positions, small argparse helpers.

Nothing here imports Keras.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from archbuilder.analysis.analyzer import Analysis, analyze
from archbuilder.blueprint.catalog import find_source
from archbuilder.blueprint.errors import Problem, display_name
from archbuilder.blueprint.overrides import Override, parse_assignment
from archbuilder.errors import EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_USAGE

Handler = Callable[[argparse.Namespace], int]
OptionsT = TypeVar("OptionsT")

__all__ = [
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "Handler",
    "add_command",
    "add_folder_options",
    "add_override_option",
    "add_source_argument",
    "analyze_source",
    "display_name",
    "is_search_space",
    "options_from",
    "positive_int",
    "resolve_source",
    "run_resumable",
    "with_file",
]


def resolve_source(argument: str) -> Path:
    """The file a FILE|ZOO_NAME argument names (:func:`~archbuilder.blueprint.catalog.find_source`, never YAML
    text); an unknown bare name gets the zoo's did-you-mean.

    Raises:
        BlueprintError: ``argument`` is neither an existing file nor a zoo name but looks like a name,
            or the operating system cannot look it up (a name too long, a NUL byte).
    """
    return Path(find_source(argument, text=False))


def analyze_source(source: str, overrides: Sequence[Override] | None = None) -> Analysis:
    """Analyze a FILE|ZOO_NAME argument (with ``--set`` overrides) and print its warnings to standard error."""
    analysis = analyze(resolve_source(source), overrides)
    for warning in analysis.warnings:
        print(warning, file=sys.stderr)
    return analysis


def is_search_space(data: Any) -> bool:
    """Whether loaded data is a search space rather than a blueprint: a ``search:`` section, or a marker
    (a mapping with a key such as ``choice``, ``int`` or ``list``, which no blueprint field uses) anywhere."""
    from archbuilder.search.markers import MARKER_KEYS

    def has_marker(value: Any) -> bool:
        if isinstance(value, dict):
            return any(key in MARKER_KEYS for key in value) or any(has_marker(item) for item in value.values())
        if isinstance(value, list):
            return any(has_marker(item) for item in value)
        return False

    return isinstance(data, dict) and ("search" in data or has_marker(data))


def with_file(problem: Problem, file: str) -> str:
    """The problem's line, positioned in ``file`` when it has no position of its own."""
    return str(problem if problem.file is not None else problem.with_source(file, None, None))


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {value}")
    return value


def _override(text: str) -> Override:
    """argparse type of ``--set``: ``PATH=VALUE``."""
    try:
        return parse_assignment(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_source_argument(parser: argparse.ArgumentParser) -> None:
    """The ``source`` positional argument: a blueprint file or a zoo name (see :func:`resolve_source`)."""
    parser.add_argument("source", metavar="FILE|ZOO_NAME", help="a blueprint file or a zoo name")


def add_override_option(parser: argparse.ArgumentParser, what: str = "blueprint") -> None:
    """``--set PATH=VALUE`` (repeatable) into ``args.overrides``: values set in the ``what`` before validation."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_override,
        default=[],
        metavar="PATH=VALUE",
        help=f"set a value of the {what} before it is checked, by its path as errors show it; the value is YAML "
        "(repeatable), e.g. --set head.classes=10 --set stages[1].repeat=2 --set 'head.fc=[256, 128]'",
    )


def add_folder_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--resume`` and ``--overwrite`` (exclusive) for a command that writes a ``what`` folder."""
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help=f"continue the interrupted {what} in the output folder")
    start.add_argument(
        "--overwrite",
        action="store_true",
        help=f"start over in a folder that holds a {what} (its outputs are replaced; other files kept)",
    )


def add_command(subparsers: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    """A sub-command whose ``args.handler`` is ``handler``."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def options_from(kind: type[OptionsT], args: argparse.Namespace) -> OptionsT:
    """The typed options (``TrainOptions``, ``SearchOptions``) of a parsed command line: each option's ``dest`` is
    its field's name, so an option added to both is carried with no list to keep in step."""
    names = [field.name for field in dataclasses.fields(kind)]  # type: ignore[arg-type]
    return kind(**{name: getattr(args, name) for name in names if hasattr(args, name)})


def run_resumable(function: Callable[[Any, Any], Any], source: Any, options: Any) -> int:
    """Run a training or a search, which ``--resume`` continues after Ctrl-C.

    Args:
        function: What runs it (:func:`archbuilder.training.runner.run_training`,
            :func:`archbuilder.search.runner.run_search`).
        source: The blueprint or the search space.
        options: Its typed options (``TrainOptions``, ``SearchOptions``).

    Returns:
        The exit code: ``EXIT_OK``, or ``EXIT_INTERRUPTED`` after Ctrl-C (with how to continue on standard error).
    """
    try:
        function(source, options)
    except KeyboardInterrupt:
        print("\ninterrupted; continue with the same command and --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK

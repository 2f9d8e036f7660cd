"""``archbuilder zoo list`` and ``archbuilder zoo show``: the blueprints shipped with archbuilder (no
Keras)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archbuilder import zoo
from archbuilder.analysis.analyzer import analyze
from archbuilder.analysis.report import format_table, human, shape_text
from archbuilder.blueprint.errors import BlueprintError
from archbuilder.cli.common import EXIT_OK, add_command


def command_zoo_list(args: argparse.Namespace) -> int:
    """One row per zoo blueprint; a broken entry shows its error in its row."""
    names = zoo.list_blueprints(args.pattern)
    rows = [_zoo_row(name) for name in names]
    if rows:
        print(format_table(rows, headers=("name", "input", "output", "params", "MACs", "problems")))
    print(
        f"{len(names)} blueprint{'s' if len(names) != 1 else ''}"
        + (f" matching '{args.pattern}'" if args.pattern != "*" else "")
    )
    return EXIT_OK


def _zoo_row(name: str) -> tuple[str, ...]:
    try:
        analysis = analyze(zoo.blueprint_path(name))
    except BlueprintError as error:
        errors = [problem for problem in error.problems if problem.severity == "error"] or error.problems
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return (name, "?", "?", "?", "?", f"error: {errors[0]}{more}")
    notes = f"{len(analysis.warnings)} warning(s)" if analysis.warnings else ""
    return (
        name,
        shape_text(analysis.blueprint.input.shape),
        shape_text(analysis.output_shape),
        f"{analysis.params:,}",
        human(analysis.macs),
        notes,
    )


def command_zoo_show(args: argparse.Namespace) -> int:
    """``archbuilder zoo show NAME``: print the zoo blueprint's file as shipped.

    Args:
        args: ``name``, the zoo blueprint (with or without its suffix).

    Returns:
        The exit code: ``EXIT_OK``.

    Raises:
        BlueprintError: No zoo blueprint has that name.
    """
    sys.stdout.write(zoo.blueprint_path(args.name).read_text(encoding="utf-8"))
    return EXIT_OK


def add_zoo_command(commands: Any) -> None:
    """zoo list, zoo show."""
    zoo_parser = commands.add_parser(
        "zoo", help="The blueprints shipped with archbuilder.", description="The blueprints shipped with archbuilder."
    )
    zoo_commands = zoo_parser.add_subparsers(dest="zoo_command", required=True, metavar="ZOO_COMMAND")
    listing = add_command(zoo_commands, "list", command_zoo_list, "Name, input, output, params and MACs of each entry.")
    listing.add_argument(
        "pattern", nargs="?", default="*", metavar="PATTERN", help="shell-style filter, e.g. '*resnet*'"
    )
    show = add_command(zoo_commands, "show", command_zoo_show, "Print a zoo blueprint's YAML.")
    show.add_argument("name", metavar="NAME")

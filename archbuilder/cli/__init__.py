"""The ``archbuilder`` command: one module per command group.

==================  ============================================================
``inspection``      validate, summary (no Keras)
``schema``          schema (no Keras)
``build``           build, plot; the pretrained-weights options of build and train
``training``        train, evaluate, predict
``convert``         convert fully-convolutional
``export``          export MODEL.keras to a SavedModel, LiteRT or ONNX file
``search``          search (and ``--check``, no Keras), search show (no Keras)
``zoo``             zoo list, zoo show (no Keras)
``errors``          the error contract: one line per failure, exit codes, crash logs
``common``          blueprint sources, argparse helpers
==================  ============================================================

Commands that only read blueprints never import Keras, so they answer in a fraction of a second;
commands that need Keras import it inside the command.

Exit codes (``archbuilder.errors``; docs/errors.md): 0 ok, 1 invalid input (a blueprint problem,
bad data, a missing file, a full disk), 2 usage error, 3 a bug in archbuilder (traceback in a log
file), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from archbuilder.cli.build import add_build_commands, resolved_blueprint_path
from archbuilder.cli.common import resolve_source
from archbuilder.cli.convert import add_convert_command, command_convert
from archbuilder.cli.errors import run_handler
from archbuilder.cli.export import add_export_command
from archbuilder.cli.inspection import add_inspection_commands
from archbuilder.cli.schema import add_schema_command
from archbuilder.cli.search import add_search_command, build_show_parser
from archbuilder.cli.training import add_training_commands
from archbuilder.cli.zoo import add_zoo_command
from archbuilder.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, EXIT_USAGE
from archbuilder.schema import blueprint_schema


def build_parser() -> argparse.ArgumentParser:
    """The ``archbuilder`` argument parser with every command."""
    from archbuilder import __version__

    parser = argparse.ArgumentParser(
        prog="archbuilder",
        description="Declarative CNN blueprints for Keras 3: validate, analyze, build, plot, train.",
        epilog="A zoo name (see `archbuilder zoo list`) works wherever a blueprint file does. Exit codes: 0 ok, "
        "1 invalid input, 2 usage error, 3 a bug in archbuilder (traceback in a log file), 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"archbuilder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_inspection_commands(commands)  # validate, summary
    add_schema_command(commands)
    add_build_commands(commands)  # build, plot
    add_training_commands(commands)
    add_convert_command(commands)
    add_export_command(commands)
    add_search_command(commands)
    add_zoo_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code (see the module docstring)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    show = arguments[:2] == ["search", "show"]  # a sub-command of `search SPACE` (see build_show_parser)
    parser = build_show_parser() if show else build_parser()
    try:
        args = parser.parse_args(arguments[2:] if show else arguments)
    except SystemExit as exit_request:  # --help, --version, or a usage error (argparse exits 2)
        code = exit_request.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
    return run_handler(args.handler, args, arguments)


__all__ = [
    "EXIT_BUG",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "blueprint_schema",
    "build_parser",
    "command_convert",
    "main",
    "resolve_source",
    "resolved_blueprint_path",
]

"""The ``archbuilder`` command.

Commands that only read blueprints (validate, summary, schema, zoo) never import Keras, so they
answer in a fraction of a second; commands that need Keras import it inside the command.

Exit codes: 0 ok, 1 invalid input (a blueprint problem, a missing file), 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archbuilder import zoo
from archbuilder.analysis.analyzer import DTYPE_BYTES, OPTIMIZER_SLOTS, Analysis, analyze
from archbuilder.analysis.report import format_summary, format_table, human, shape_text
from archbuilder.blueprint.errors import BlueprintError, Problem
from archbuilder.blueprint.io import load_blueprint_data, validate_blueprint
from archbuilder.blueprint.model import Blueprint

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"

Handler = Callable[[argparse.Namespace], int]


# -- loading with positions ----------------------------------------------------------------------

def resolve_source(argument: str) -> Path:
    """The file a FILE|ZOO_NAME argument names; an unknown bare name gets the zoo's did-you-mean.

    Raises:
        BlueprintError: ``argument`` is neither an existing file nor a zoo name, but looks like a name.
    """
    located = zoo.locate(argument)
    if isinstance(located, Path):
        return located
    if _looks_like_name(argument) and not Path(argument).exists():
        try:
            zoo.blueprint_path(argument)
        except BlueprintError as error:
            message = error.problems[0].message.replace("unknown zoo blueprint", "no such file, and no zoo blueprint")
            raise BlueprintError.single(message, file=argument) from None
    return Path(argument)


def _looks_like_name(argument: str) -> bool:
    has_folder = "/" in argument or os.sep in argument
    return not has_folder and Path(argument).suffix in ("", ".yaml", ".yml")


def analyze_file(path: str | os.PathLike[str]) -> Analysis:
    """Load, validate and analyze a blueprint file; every problem and warning gets ``file:line:column``.

    ``analyze`` works on a Blueprint and knows nothing of files, so its problems (which carry the
    user's path in ``origin``) are positioned here with the file's source map.

    Raises:
        BlueprintError: the file is missing or invalid, or a layer cannot be applied to its input.
    """
    data, sources = load_blueprint_data(Path(path))
    blueprint = validate_blueprint(data, sources)
    try:
        analysis = analyze(blueprint)
    except BlueprintError as error:
        raise BlueprintError([sources.attach(problem) for problem in error.problems]) from None
    analysis.warnings = [sources.attach(problem) for problem in analysis.warnings]
    return analysis


def _with_file(problem: Problem, file: str) -> str:
    return str(problem if problem.file is not None else problem.with_source(file, None, None))


# -- commands ------------------------------------------------------------------------------------

def command_validate(args: argparse.Namespace) -> int:
    """Every problem of every file, one per line, then one status line per file."""
    results = [_validate_one(argument) for argument in args.files]
    return EXIT_OK if all(results) else EXIT_INVALID


def _validate_one(argument: str) -> bool:
    try:
        analysis = analyze_file(resolve_source(argument))
    except BlueprintError as error:
        for problem in error.problems:
            print(_with_file(problem, argument))
        count = sum(problem.severity == "error" for problem in error.problems)
        print(f"{argument}: invalid ({count} error{'s' if count != 1 else ''})")
        return False
    for warning in analysis.warnings:
        print(_with_file(warning, argument))
    noted = f", {len(analysis.warnings)} warning{'s' if len(analysis.warnings) != 1 else ''}" if analysis.warnings else ""
    print(f"{argument}: ok ({len(analysis.layers) - 1} layers, {analysis.params:,} params{noted})")
    return True


def command_summary(args: argparse.Namespace) -> int:
    analysis = analyze_file(resolve_source(args.source))
    options = {"dtype": args.dtype, "batch_size": args.batch_size, "optimizer": args.optimizer}
    if args.json:
        print(json.dumps(analysis.to_dict(**options), indent=2))
    else:
        print(format_summary(analysis, **options))
    return EXIT_OK


def blueprint_schema() -> dict[str, Any]:
    """The JSON Schema of the blueprint format, with metadata for editors (yaml-language-server)."""
    from archbuilder import __version__

    schema = Blueprint.model_json_schema()
    header = {
        "$schema": SCHEMA_DRAFT,
        "$id": f"urn:archbuilder:blueprint:{__version__}",
        "title": "archbuilder blueprint",
        "description": schema.get("description") or "A declarative CNN architecture for archbuilder.",
        "$comment": f"Generated by `archbuilder schema` (archbuilder {__version__}); do not edit.",
    }
    return {**header, **{key: value for key, value in schema.items() if key not in header}}


def command_schema(args: argparse.Namespace) -> int:
    text = json.dumps(blueprint_schema(), indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"{args.output}: cannot write the schema: {error.strerror or error}", file=sys.stderr)
        return EXIT_INVALID
    print(f"wrote {args.output}")
    return EXIT_OK


def command_zoo_list(args: argparse.Namespace) -> int:
    """One row per zoo blueprint; a broken entry shows its error in its row."""
    names = zoo.list_blueprints(args.pattern)
    rows = [_zoo_row(name) for name in names]
    if rows:
        print(format_table(rows, headers=("name", "input", "output", "params", "MACs", "problems")))
    print(f"{len(names)} blueprint{'s' if len(names) != 1 else ''}" + (f" matching '{args.pattern}'" if args.pattern != "*" else ""))
    return EXIT_OK


def _zoo_row(name: str) -> tuple[str, ...]:
    try:
        analysis = analyze_file(zoo.blueprint_path(name))
    except BlueprintError as error:
        errors = [problem for problem in error.problems if problem.severity == "error"] or error.problems
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return (name, "?", "?", "?", "?", f"error: {errors[0]}{more}")
    notes = f"{len(analysis.warnings)} warning(s)" if analysis.warnings else ""
    return (name, shape_text(analysis.blueprint.input.shape), shape_text(analysis.output_shape),
            f"{analysis.params:,}", human(analysis.macs), notes)


def command_zoo_show(args: argparse.Namespace) -> int:
    sys.stdout.write(zoo.blueprint_path(args.name).read_text(encoding="utf-8"))
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer. Received: {value}")
    return value


def _command(subparsers: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    from archbuilder import __version__

    parser = argparse.ArgumentParser(
        prog="archbuilder", description="Declarative CNN blueprints for Keras 3: validate, analyze, build.",
        epilog="A zoo name (see `archbuilder zoo list`) works wherever a blueprint file does.",
    )
    parser.add_argument("--version", action="version", version=f"archbuilder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = _command(commands, "validate", command_validate,
                        "Check blueprints: every problem with file:line:column and blueprint path.")
    validate.add_argument("files", nargs="+", metavar="FILE", help="blueprint files or zoo names")

    summary = _command(commands, "summary", command_summary,
                       "Per-layer shapes, memory, params, MACs and receptive field, and totals (no Keras).")
    summary.add_argument("source", metavar="FILE|ZOO_NAME", help="a blueprint file or a zoo name")
    summary.add_argument("--batch-size", type=_positive_int, default=32, help="for the training-memory estimate (default: 32)")
    summary.add_argument("--dtype", choices=sorted(DTYPE_BYTES), default="float32", help="activation dtype (default: float32)")
    summary.add_argument("--optimizer", choices=sorted(OPTIMIZER_SLOTS), default="adam", help="optimizer whose slots count (default: adam)")
    summary.add_argument("--json", action="store_true", help="print one JSON object instead of the table")

    schema = _command(commands, "schema", command_schema, "Print the JSON Schema of the blueprint format.")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")

    zoo_parser = commands.add_parser("zoo", help="The blueprints shipped with archbuilder.",
                                     description="The blueprints shipped with archbuilder.")
    zoo_commands = zoo_parser.add_subparsers(dest="zoo_command", required=True, metavar="ZOO_COMMAND")
    listing = _command(zoo_commands, "list", command_zoo_list, "Name, input, output, params and MACs of each entry.")
    listing.add_argument("pattern", nargs="?", default="*", metavar="PATTERN", help="shell-style filter, e.g. '*resnet*'")
    show = _command(zoo_commands, "show", command_zoo_show, "Print a zoo blueprint's YAML.")
    show.add_argument("name", metavar="NAME")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 invalid input, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, --version, or a usage error (argparse exits 2)
        code = exit_request.code
        return code if isinstance(code, int) else (EXIT_OK if code is None else EXIT_USAGE)
    try:
        return args.handler(args)
    except BlueprintError as error:
        print(str(error), file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # `archbuilder summary x | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

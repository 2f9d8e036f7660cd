"""``archbuilder schema``: the JSON Schema of blueprints or of search spaces, or the format reference in
Markdown (no Keras)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from archbuilder.artifacts import write_text_atomic
from archbuilder.cli.common import EXIT_OK, add_command
from archbuilder.schema import blueprint_schema, space_schema


def command_schema(args: argparse.Namespace) -> int:
    """The blueprint schema, the search-space schema (``--space``) or the format reference (``--markdown``)."""
    if args.markdown:
        from archbuilder.reference import format_reference

        text = format_reference()
    else:
        text = json.dumps(space_schema() if args.space else blueprint_schema(), indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    write_text_atomic(args.output, text)
    print(f"wrote {args.output}")
    return EXIT_OK


def add_schema_command(commands: Any) -> None:
    """schema."""
    schema = add_command(
        commands,
        "schema",
        command_schema,
        "Print the JSON Schema of the blueprint format (or of search spaces, or the format reference in Markdown).",
    )
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    what = schema.add_mutually_exclusive_group()
    what.add_argument("--space", action="store_true", help="the JSON Schema of search spaces (values may be markers)")
    what.add_argument(
        "--markdown",
        action="store_true",
        help="the format reference, every kind and field, in Markdown (docs/format.md)",
    )

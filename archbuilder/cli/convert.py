"""``archbuilder convert``: conversions of model files (Keras imported inside; the logic lives in
:mod:`archbuilder.convert`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from archbuilder.artifacts import refuse_to_replace
from archbuilder.cli.common import EXIT_OK, EXIT_USAGE, add_command
from archbuilder.runtime.environment import load_backend


def command_convert(args: argparse.Namespace) -> int:
    """``archbuilder convert fully-convolutional MODEL.keras -o OUT.keras``.

    A model without a Flatten+Dense head, with several outputs, or an unreadable file raises
    :class:`~archbuilder.convert.ConversionError`, a user error (exit 1).
    """
    if Path(args.output).suffix != ".keras":
        print(f"archbuilder convert: -o must name a .keras file. Received: {args.output}", file=sys.stderr)
        return EXIT_USAGE
    refuse_to_replace([Path(args.output)], args.overwrite)
    load_backend()
    from archbuilder.convert import convert_file, describe_conversion

    original, converted = convert_file(args.model, args.output)
    print(describe_conversion(original, converted))
    print(f"wrote {args.output} ({converted.count_params():,} params)")
    return EXIT_OK


def add_convert_command(commands: Any) -> None:
    """convert fully-convolutional."""
    convert = commands.add_parser("convert", help="Convert a model file.", description="Convert a model file.")
    conversions = convert.add_subparsers(dest="conversion", required=True, metavar="CONVERSION")
    fully = add_command(
        conversions,
        "fully-convolutional",
        command_convert,
        "Turn a Flatten+Dense head into convolutions (FC -> CONV) and open the input size: "
        "a larger image then gives a map of class scores in one forward pass.",
    )
    fully.add_argument("model", metavar="MODEL.keras", help="a model file with a Flatten+Dense head")
    fully.add_argument("-o", "--output", required=True, metavar="OUT.keras", help="the converted model file to write")
    fully.add_argument("--overwrite", action="store_true", help="replace an existing OUT.keras")

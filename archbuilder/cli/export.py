"""``archbuilder export``: a trained ``.keras`` model as a SavedModel, LiteRT or ONNX artifact (Keras
imported inside; the logic lives in :mod:`archbuilder.export`)."""

from __future__ import annotations

import argparse
from typing import Any

from archbuilder.cli.common import EXIT_OK, add_command
from archbuilder.export.formats import FORMATS  # the registry imports neither Keras nor a converter
from archbuilder.runtime.environment import load_backend


def command_export(args: argparse.Namespace) -> int:
    """``archbuilder export MODEL.keras --format FORMAT [-o PATH] [--overwrite] [--check]`` (a format of
    :data:`archbuilder.export.FORMATS`: ``saved_model``, ``litert``, ``onnx``).

    A backend that cannot export the format, a missing converter, an unreadable model file, an
    existing output without ``--overwrite`` or a model the converter rejects raises
    :class:`~archbuilder.export.ExportError`, a user error (exit 1).
    """
    load_backend()
    from archbuilder.export import export_file

    result = export_file(args.model, args.format, args.output, overwrite=args.overwrite, check=args.check)
    print(result.describe())
    return EXIT_OK


def add_export_command(commands: Any) -> None:
    """export."""
    formats = list(FORMATS.values())
    titles = [f"{spec.title} ({'a folder' if spec.folder else spec.suffix})" for spec in formats]
    export = add_command(
        commands,
        "export",
        command_export,
        f"Export a trained model for deployment: {', '.join(titles[:-1])} or {titles[-1]} "
        "(converters: pip install 'archbuilder[export]').",
    )
    export.add_argument("model", metavar="MODEL.keras", help="a model file, e.g. runs/lenet5/best.keras")
    export.add_argument(
        "--format",
        required=True,
        choices=list(FORMATS),
        help=", ".join(f"{spec.name} ({'a folder' if spec.folder else spec.suffix})" for spec in formats),
    )
    defaults = ", ".join(f"NAME{spec.suffix}" + ("/" if spec.folder else "") for spec in formats)
    export.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help=f"where to write (default: beside the model: {defaults})",
    )
    export.add_argument("--overwrite", action="store_true", help="replace an existing artifact")
    export.add_argument(
        "--check",
        action="store_true",
        help="run the artifact in its own runtime on random images and print its largest difference to Keras",
    )

"""``archbuilder export``: a trained ``.keras`` model as a SavedModel, LiteRT or ONNX artifact (Keras
imported inside; the logic lives in :mod:`archbuilder.export`)."""

from __future__ import annotations

import argparse
from typing import Any

from archbuilder.cli.common import EXIT_OK, add_command
from archbuilder.runtime.environment import prepare_backend_environment

#: The formats, as archbuilder.export.FORMATS names them (kept here so --help needs no Keras).
FORMAT_NAMES = ("saved_model", "litert", "onnx")


def command_export(args: argparse.Namespace) -> int:
    """``archbuilder export MODEL.keras --format saved_model|litert|onnx [-o PATH] [--overwrite] [--check]``.

    A backend that cannot export the format, a missing converter, an unreadable model file, an
    existing output without ``--overwrite`` or a model the converter rejects raises
    :class:`~archbuilder.export.ExportError`, a user error (exit 1).
    """
    prepare_backend_environment()
    from archbuilder.export import export_file

    result = export_file(args.model, args.format, args.output, overwrite=args.overwrite, check=args.check)
    print(result.describe())
    return EXIT_OK


def add_export_command(commands: Any) -> None:
    """export."""
    export = add_command(
        commands,
        "export",
        command_export,
        "Export a trained model for deployment: a TensorFlow SavedModel, a LiteRT (.tflite) "
        "or an ONNX file (converters: pip install 'archbuilder[export]').",
    )
    export.add_argument("model", metavar="MODEL.keras", help="a model file, e.g. runs/lenet5/best.keras")
    export.add_argument(
        "--format", required=True, choices=FORMAT_NAMES, help="saved_model (a folder), litert (.tflite) or onnx (.onnx)"
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where to write (default: beside the model: NAME_saved_model/, NAME.tflite, NAME.onnx)",
    )
    export.add_argument("--overwrite", action="store_true", help="replace an existing artifact")
    export.add_argument(
        "--check",
        action="store_true",
        help="run the artifact in its own runtime on random images and print its largest difference to Keras",
    )

"""``archbuilder validate`` and ``archbuilder summary``: check blueprints (and search spaces) and report a
blueprint's layers and costs. Neither imports Keras, so they answer in a fraction of a second."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from archbuilder.analysis.analyzer import DTYPE_BYTES, OPTIMIZER_SLOTS, analyze
from archbuilder.analysis.report import format_summary
from archbuilder.blueprint.errors import BlueprintError
from archbuilder.blueprint.io import load_blueprint_data
from archbuilder.blueprint.overrides import Override
from archbuilder.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    add_command,
    add_override_option,
    add_source_argument,
    display_name,
    is_search_space,
    positive_int,
    resolve_source,
    with_file,
)


def command_validate(args: argparse.Namespace) -> int:
    """Every problem of every file, one per line, then one status line per file. A search space (a
    ``search:`` section or markers) is checked as one, as ``archbuilder search SPACE --check`` does."""
    results = [_validate_one(argument, args.overrides) for argument in args.files]
    return EXIT_OK if all(results) else EXIT_INVALID


def _validate_one(argument: str, overrides: list[Override]) -> bool:
    try:
        path = _validate_source(argument)
        data, _ = load_blueprint_data(path, overrides)
        if is_search_space(data):
            return _validate_space(argument, path, overrides)
        analysis = analyze(path, overrides)
    except BlueprintError as error:
        for problem in error.problems:
            print(with_file(problem, display_name(argument)))
        count = sum(problem.severity == "error" for problem in error.problems)
        print(f"{display_name(argument)}: invalid ({count} error{'s' if count != 1 else ''})")
        return False
    for warning in analysis.warnings:
        print(with_file(warning, display_name(argument)))
    noted = (
        f", {len(analysis.warnings)} warning{'s' if len(analysis.warnings) != 1 else ''}" if analysis.warnings else ""
    )
    print(f"{display_name(argument)}: ok ({len(analysis.layers) - 1} layers, {analysis.params:,} params{noted})")
    return True


def _validate_source(argument: str) -> Path:
    """A file or zoo name, else the name of a shipped search space (``blocks``)."""
    try:
        return resolve_source(argument)
    except BlueprintError:
        from archbuilder.search.loading import SPACES_DIR, list_spaces

        if argument in list_spaces():
            return SPACES_DIR / f"{argument}.yaml"
        raise


def _validate_space(argument: str, path: Path, overrides: list[Override]) -> bool:
    """Check a search space without training (``search --check``): markers, options, budgets."""
    from archbuilder.search import load_space, validate_space

    space = load_space(path, set_values=overrides)
    check = validate_space(space)
    print(
        f"{display_name(argument)}: ok (search space: {len(space.parameters)} hyperparameters, {check.valid} of "
        f"{check.sampled} sampled candidates valid; details: archbuilder search {argument} --check)"
    )
    return True


def command_summary(args: argparse.Namespace) -> int:
    """``archbuilder summary``: print a blueprint's layer table and totals (or its analysis as JSON).

    Args:
        args: ``source`` (FILE|ZOO_NAME), ``overrides`` (``--set``), ``json``, and the ``dtype``,
            ``batch_size`` and ``optimizer`` the memory estimates assume.

    Returns:
        The exit code: ``EXIT_OK``.

    Raises:
        BlueprintError: The source cannot be found, or the blueprint or an override is invalid.
    """
    analysis = analyze(resolve_source(args.source), args.overrides)
    options = {"dtype": args.dtype, "batch_size": args.batch_size, "optimizer": args.optimizer}
    if args.json:
        print(json.dumps(analysis.to_dict(**options), indent=2))
    else:
        print(format_summary(analysis, **options))
    return EXIT_OK


def add_inspection_commands(commands: Any) -> None:
    """validate and summary."""
    validate = add_command(
        commands,
        "validate",
        command_validate,
        "Check blueprints: every problem with file:line:column and blueprint path.",
    )
    validate.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="blueprint files or zoo names (a search space is checked as `archbuilder search SPACE --check` does)",
    )
    add_override_option(validate)

    summary = add_command(
        commands,
        "summary",
        command_summary,
        "Per-layer shapes, memory, params, MACs and receptive field, and totals (no Keras).",
    )
    add_source_argument(summary)
    summary.add_argument(
        "--batch-size", type=positive_int, default=32, help="for the training-memory estimate (default: 32)"
    )
    summary.add_argument(
        "--dtype", choices=sorted(DTYPE_BYTES), default="float32", help="activation dtype (default: float32)"
    )
    summary.add_argument(
        "--optimizer",
        choices=sorted(OPTIMIZER_SLOTS),
        default="adam",
        help="optimizer whose slots count (default: adam)",
    )
    summary.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    add_override_option(summary)

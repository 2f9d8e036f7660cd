"""``archbuilder search``: check a search space (no Keras) or run the search (Keras imported inside;
the logic lives in :mod:`archbuilder.search`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archbuilder.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_folder_options,
    add_override_option,
    options_from,
    positive_int,
    run_resumable,
)
from archbuilder.search.options import SearchOptions
from archbuilder.search.settings import parse_duration
from archbuilder.search.tuners import TUNER_NAMES


def duration(text: str) -> float:
    """``--max-time``: seconds from ``600``, ``90s``, ``30m``, ``1.5h`` or ``1h30m``."""
    try:
        return float(parse_duration(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def command_search(args: argparse.Namespace) -> int:
    """Check a search space (``--check``, no Keras) or run the search (Keras imported inside)."""
    from archbuilder.search import load_space, validate_space

    if args.folder is not None:
        print(
            f"archbuilder search: unexpected argument {args.folder!r} (did you mean `archbuilder search show "
            f"{args.folder}`?)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    options = options_from(SearchOptions, args)
    if args.check:
        space = load_space(args.space, set_values=args.overrides, **options.settings())
        check = validate_space(space)
        print(f"{args.space}: {len(space.parameters)} hyperparameters ({space.settings.tuner.type} tuner)")
        print(space.summary())
        print(check.report())
        return EXIT_OK
    space = load_space(args.space, set_values=args.overrides)
    from archbuilder.search.runner import run_search  # it sets the backend's environment before Keras is imported

    return run_resumable(run_search, space, options)


def command_show(args: argparse.Namespace) -> int:
    """``search show DIR``: the trials table, the best network and the Pareto front (no Keras)."""
    from archbuilder.search.show import show

    if args.folder is None:
        print(
            "archbuilder search show: which search? Give its folder: archbuilder search show searches/NAME",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print(show(args.folder))
    return EXIT_OK


def build_show_parser() -> argparse.ArgumentParser:
    """``archbuilder search show DIR``: a sub-command of ``search`` of its own (``search SPACE`` keeps its
    short form, so :func:`archbuilder.cli.main` hands ``search show ...`` to this parser)."""
    parser = argparse.ArgumentParser(
        prog="archbuilder search show",
        description="Print a search from its folder: the trials table, the best network with its test score, "
        "and the Pareto front (no Keras).",
    )
    parser.add_argument("folder", metavar="DIR", nargs="?", help="the search's folder, e.g. searches/pattern_search")
    parser.set_defaults(handler=command_show)
    return parser


def add_search_command(commands: Any) -> None:
    """search SPACE."""
    from archbuilder.search.loading import list_spaces

    search = add_command(
        commands,
        "search",
        command_search,
        "Search a space of blueprints with KerasTuner; writes the trained winner (best.keras, "
        "test-evaluated), best.yaml, top/, pareto/, trials.csv. `archbuilder search show DIR` prints a search "
        "(see `archbuilder search show --help`).",
    )
    search.add_argument(
        "space",
        metavar="SPACE",
        help="a search space file, or a shipped space: " + ", ".join(list_spaces()),
    )
    search.add_argument("folder", nargs="?", help=argparse.SUPPRESS)  # a stray argument: a hint at `search show`
    search.add_argument("--data", metavar="NAME", help="digits, shapes[:N], mnist, ... (default: search.data)")
    search.add_argument("--max-trials", type=positive_int, metavar="N", help="override search.max_trials")
    search.add_argument(
        "--max-time",
        type=duration,
        metavar="TIME",
        help="start no trial after TIME (600, 90s, 30m, 1.5h; over all sessions of the search): search.max_time",
    )
    search.add_argument("--epochs", type=positive_int, metavar="E", help="override search.epochs (per trial)")
    search.add_argument("--tuner", choices=TUNER_NAMES, help="override search.tuner")
    search.add_argument("--seed", type=int, help="override search.seed")
    search.add_argument(
        "--batch-size", type=positive_int, metavar="N", help="override search.batch_size (default: each candidate's)"
    )
    search.add_argument(
        "--executions-per-trial",
        type=positive_int,
        metavar="N",
        help="override search.executions_per_trial (trainings per trial, their metrics averaged)",
    )
    search.add_argument(
        "--final-epochs",
        type=positive_int,
        metavar="N",
        help="retrain the top_k trials for N epochs with their full recipe and keep the best",
    )
    search.add_argument("--save-top", action="store_true", help="also write the top trials' models (top/*.keras)")
    search.add_argument(
        "--no-tensorboard",
        dest="tensorboard",
        action="store_false",
        help="no TensorBoard logs per trial (default: tensorboard/, TensorFlow backend)",
    )
    search.add_argument("-o", "--output", metavar="DIR", help="output folder (default: searches/<space name>)")
    add_folder_options(search, "search")
    search.add_argument(
        "--check", action="store_true", help="only validate the space and sample it (no training, no Keras)"
    )
    add_override_option(search, "search space (markers allowed)")

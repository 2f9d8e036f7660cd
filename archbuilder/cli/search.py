"""``archbuilder search``: check a search space (no Keras) or run the search (Keras imported inside;
the logic lives in :mod:`archbuilder.search`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from archbuilder.cli.common import EXIT_OK, add_command, add_folder_options, positive_int
from archbuilder.errors import EXIT_INTERRUPTED
from archbuilder.train.environment import prepare_backend_environment


def command_search(args: argparse.Namespace) -> int:
    """Check a search space (``--check``, no Keras) or run the search (Keras imported inside)."""
    from archbuilder.search import load_space, validate_space

    overrides = {key: getattr(args, key) for key in ("data", "max_trials", "epochs", "tuner", "seed")}
    space = load_space(args.space, **overrides)
    if args.check:
        check = validate_space(space)
        print(f"{args.space}: {len(space.parameters)} hyperparameters ({space.settings.tuner} tuner)")
        print(space.summary())
        print(check.report())
        return EXIT_OK
    prepare_backend_environment()
    from archbuilder.search.runner import run

    try:
        run(space, output=args.output, resume=args.resume, overwrite=args.overwrite)
    except KeyboardInterrupt:
        print("\ninterrupted; continue with the same command and --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def add_search_command(commands: Any) -> None:
    """search SPACE."""
    from archbuilder.search.space import list_spaces

    search = add_command(commands, "search", command_search,
                         "Search a space of blueprints with KerasTuner; writes best.yaml, top/, pareto/, trials.csv.")
    search.add_argument("space", metavar="SPACE", help="a search space file, or a shipped space: "
                        + ", ".join(list_spaces()))
    search.add_argument("--data", metavar="NAME", help="digits, shapes[:N], mnist, ... (default: search.data)")
    search.add_argument("--max-trials", type=positive_int, metavar="N", help="override search.max_trials")
    search.add_argument("--epochs", type=positive_int, metavar="E", help="override search.epochs (per trial)")
    search.add_argument("--tuner", choices=("random", "grid", "bayesian", "hyperband"), help="override search.tuner")
    search.add_argument("--seed", type=int, help="override search.seed")
    search.add_argument("-o", "--output", metavar="DIR", help="output folder (default: searches/<space name>)")
    add_folder_options(search, "search")
    search.add_argument("--check", action="store_true",
                        help="only validate the space and sample it (no training, no Keras)")

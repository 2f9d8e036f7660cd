"""Commands on blueprints: validate, summary, schema, zoo, build, plot.

validate, summary, schema and zoo never import Keras, so they answer in a fraction of a second;
build imports it inside the command, and so does plot with ``--engine keras`` (its default draws from the
analysis with matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archbuilder import zoo
from archbuilder.analysis.analyzer import DTYPE_BYTES, OPTIMIZER_SLOTS, Analysis
from archbuilder.analysis.report import format_summary, format_table, human, shape_text
from archbuilder.artifacts import write_atomic, write_text_atomic
from archbuilder.blueprint.errors import BlueprintError
from archbuilder.blueprint.io import load_blueprint_data
from archbuilder.blueprint.overrides import Override
from archbuilder.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_override_option,
    add_source_argument,
    analyze_file,
    analyze_source,
    display_name,
    is_search_space,
    positive_int,
    resolve_source,
    with_file,
)
from archbuilder.schema import blueprint_schema, space_schema

# -- validate, summary, schema, zoo (no Keras) ---------------------------------------------------


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
        analysis = analyze_file(path, overrides)
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
    analysis = analyze_file(resolve_source(args.source), args.overrides)
    options = {"dtype": args.dtype, "batch_size": args.batch_size, "optimizer": args.optimizer}
    if args.json:
        print(json.dumps(analysis.to_dict(**options), indent=2))
    else:
        print(format_summary(analysis, **options))
    return EXIT_OK


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
        analysis = analyze_file(zoo.blueprint_path(name))
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


# -- build, plot (Keras imported inside) ---------------------------------------------------------


def _build(source: str, overrides: list[Override] | None = None) -> tuple[Analysis, Any]:
    analysis = analyze_source(source, overrides)
    from archbuilder.compile import build_model

    return analysis, build_model(analysis.blueprint)


def _build_pretrained(args: argparse.Namespace) -> tuple[Analysis, Any]:
    """A keras.applications twin of the zoo with its pretrained weights (see archbuilder.pretrained)."""
    from archbuilder.analysis import analyze
    from archbuilder.compile import build_model
    from archbuilder.pretrained import load_pretrained, pretrained_blueprint

    blueprint = pretrained_blueprint(
        args.source, classes=args.classes, input_shape=args.input_shape, preprocessing=args.preprocessing
    )
    analysis = analyze(blueprint)
    model = build_model(analysis.blueprint)
    load_pretrained(model, analysis.blueprint, args.weights)
    return analysis, model


def input_shape_arg(text: str) -> tuple[int, int, int]:
    """argparse type: ``H,W,C`` (or ``HxWxC``), three positive integers."""
    parts = text.replace("x", ",").split(",")
    try:
        shape = tuple(int(part) for part in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected HEIGHT,WIDTH,CHANNELS (e.g. 160,160,3). Received: {text!r}")
    return shape


def add_weights_options(parser: argparse.ArgumentParser) -> None:
    """``--weights``, ``--classes``, ``--input-shape`` of build and train (zoo twins of keras.applications)."""
    parser.add_argument(
        "--weights",
        metavar="imagenet|PATH",
        help="pretrained weights for a zoo twin of keras.applications (vgg16, resnet50, mobilenet, "
        "efficientnet_b0, ...): imagenet (downloaded once into ~/.keras/models) or a keras.applications "
        "weights file (.h5, .weights.h5) or .keras model of the same network",
    )
    parser.add_argument(
        "--classes",
        type=positive_int,
        metavar="N",
        help="with --weights: a new classifier for N classes (fresh weights; the body stays pretrained)",
    )
    parser.add_argument(
        "--input-shape",
        type=input_shape_arg,
        metavar="H,W,C",
        help="with --weights: another input size (3 channels, at least keras.applications' smallest)",
    )


def weights_options_misused(
    args: argparse.Namespace, command: str, only_with_weights: Sequence[str], *, instead_of_set: str
) -> bool:
    """Whether ``args`` misuse the pretrained-weights options; if so, standard error says how.

    Options that go only with ``--weights`` are misused without it; ``--set`` is misused with it (the
    network must stay keras.applications' twin).

    Args:
        args: The parsed command line: ``weights``, ``overrides`` and the options of ``only_with_weights``.
        command: The command (``build``, ``train``), which the message names.
        only_with_weights: The options that go only with ``--weights``, as typed (``--classes``, ...).
        instead_of_set: What the message advises instead of ``--set`` with ``--weights``.

    Returns:
        True when an option is misused (the command should exit with ``EXIT_USAGE``).
    """
    if args.weights is None:
        given = [getattr(args, option.lstrip("-").replace("-", "_")) for option in only_with_weights]
        if any(value not in (None, False) for value in given):
            options = ", ".join(only_with_weights[:-1]) + " and " + only_with_weights[-1]
            print(
                f"archbuilder {command}: {options} go with --weights (a zoo entry with pretrained weights); for "
                "another network, edit its blueprint (archbuilder zoo show NAME)",
                file=sys.stderr,
            )
            return True
    elif getattr(args, "overrides", None):
        print(
            f"archbuilder {command}: --set does not go with --weights (the network must stay keras.applications' "
            f"twin); {instead_of_set}",
            file=sys.stderr,
        )
        return True
    return False


def resolved_blueprint_path(model_path: Path) -> Path:
    """Where ``build`` writes the resolved blueprint beside ``model.keras``: ``model.blueprint.yaml``."""
    return model_path.with_name(model_path.stem + ".blueprint.yaml")


def command_build(args: argparse.Namespace) -> int:
    """``archbuilder build``: build a blueprint's Keras model and save it, with its resolved blueprint beside it.

    Writes ``-o MODEL.keras`` and ``MODEL.blueprint.yaml``, then prints the Keras summary. With
    ``--weights`` the source is a zoo entry with pretrained weights (``--classes``, ``--input-shape``
    and ``--preprocessing`` go only with it; ``--set`` does not).

    Args:
        args: The parsed command line: ``source``, ``output``, ``overrides`` and the weights options.

    Returns:
        The exit code: ``EXIT_OK``, or ``EXIT_USAGE`` for a misused option (reported on standard error).

    Raises:
        BlueprintError: The source cannot be found, or the blueprint or an override is invalid.
        ArtifactError: A file cannot be written.
    """
    output = Path(args.output)
    if output.suffix != ".keras":
        print(f"archbuilder build: -o must name a .keras file. Received: {args.output}", file=sys.stderr)
        return EXIT_USAGE
    if weights_options_misused(
        args,
        "build",
        ("--classes", "--input-shape", "--preprocessing"),
        instead_of_set="use --classes and --input-shape",
    ):
        return EXIT_USAGE
    analysis, model = _build(args.source, args.overrides) if args.weights is None else _build_pretrained(args)
    write_atomic(output, model.save)
    blueprint_file = resolved_blueprint_path(output)
    write_text_atomic(
        blueprint_file,
        f"# Resolved blueprint of {output.name}, written by `archbuilder build {args.source}"
        f"{'' if args.weights is None else ' --weights ' + args.weights}`.\n"
        f"# Rebuild the model{'' if args.weights is None else ' (fresh weights)'} with: archbuilder build "
        f"{blueprint_file.name} -o {output.name}\n" + analysis.blueprint.to_yaml(),
    )
    model.summary(line_length=110)
    print(f"wrote {output} ({analysis.params:,} params) and {blueprint_file}")
    return EXIT_OK


PLOT_REQUIREMENTS = (
    "archbuilder plot --engine keras needs pydot and Graphviz's `dot` program: `pip install pydot`, then install "
    "Graphviz (Debian/Ubuntu: `apt install graphviz`; macOS: `brew install graphviz`; conda: `conda install "
    "graphviz`). The default engine needs neither: leave --engine out."
)
PLOT_SUFFIXES = {"matplotlib": (".png", ".svg", ".pdf"), "keras": (".png", ".svg", ".pdf", ".dot")}


def command_plot(args: argparse.Namespace) -> int:
    """Draw the network: from its analysis with matplotlib (default; no Keras), or Keras's plot_model (Graphviz)."""
    output = Path(args.output)
    suffixes = PLOT_SUFFIXES[args.engine]
    if output.suffix.lower() not in suffixes:
        print(
            f"archbuilder plot: -o must end with {', '.join(suffixes[:-1])} or {suffixes[-1]}"
            f"{' (.dot with --engine keras)' if args.engine == 'matplotlib' else ''}. Received: {args.output}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.engine == "matplotlib":
        analysis = analyze_source(args.source)
        from archbuilder.plots import architecture_dpi, architecture_figure, save_figure

        figure = architecture_figure(analysis)
        save_figure(figure, output, dpi=architecture_dpi(figure))
        print(f"wrote {output} ({len(analysis.layers) - 1} layers)")
        return EXIT_OK
    return _plot_with_keras(args.source, output)


def _plot_with_keras(source: str, output: Path) -> int:
    import importlib.util
    import shutil

    if importlib.util.find_spec("pydot") is None or shutil.which("dot") is None:
        missing = [
            name
            for name, ok in (
                ("pydot", importlib.util.find_spec("pydot") is not None),
                ("dot", shutil.which("dot") is not None),
            )
            if not ok
        ]
        print(f"{PLOT_REQUIREMENTS} Missing: {', '.join(missing)}.", file=sys.stderr)
        return EXIT_INVALID
    _, model = _build(source)
    import keras

    write_atomic(
        output,
        lambda temporary: keras.utils.plot_model(
            model, to_file=str(temporary), show_shapes=True, show_layer_names=True
        ),
    )
    print(f"wrote {output}")
    return EXIT_OK


def add_blueprint_commands(commands: Any) -> None:
    """validate, summary, schema, build, plot and zoo."""
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

    build = add_command(
        commands,
        "build",
        command_build,
        "Compile a blueprint into a Keras model file; the resolved blueprint is written beside it.",
    )
    add_source_argument(build)
    add_override_option(build)
    build.add_argument("-o", "--output", required=True, metavar="MODEL.keras", help="the model file to write")
    add_weights_options(build)
    build.add_argument(
        "--preprocessing",
        action="store_true",
        help="with --weights: put the network's preprocess_input in the model (it then takes RGB pixels in [0, 255])",
    )

    plot = add_command(
        commands,
        "plot",
        command_plot,
        "Draw the network: a box per layer with its output shape, arrows for the graph (merges, auxiliary heads).",
    )
    add_source_argument(plot)
    plot.add_argument("-o", "--output", required=True, metavar="FILE.png|svg|pdf", help="the image to write")
    plot.add_argument(
        "--engine",
        choices=sorted(PLOT_SUFFIXES),
        default="matplotlib",
        help="matplotlib (default): drawn from the analysis, without Keras or Graphviz; keras: "
        "keras.utils.plot_model of the compiled model (needs pydot and Graphviz; also writes .dot)",
    )


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

"""``archbuilder build`` and ``archbuilder plot``: a blueprint compiled into a Keras model file, or drawn;
with the pretrained-weights options that ``build`` and ``train`` share (:func:`add_weights_options`).

build imports Keras inside the command, and so does plot with ``--engine keras`` (its default draws from the
analysis with matplotlib)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archbuilder.analysis.analyzer import Analysis
from archbuilder.artifacts import refuse_to_replace, write_atomic, write_text_atomic
from archbuilder.blueprint.overrides import Override
from archbuilder.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_override_option,
    add_source_argument,
    analyze_source,
    positive_int,
)
from archbuilder.runtime.environment import load_backend


def _build(source: str, overrides: list[Override] | None = None) -> tuple[Analysis, Any]:
    analysis = analyze_source(source, overrides)
    load_backend()
    from archbuilder.compile import build_model

    return analysis, build_model(analysis)


def _build_pretrained(args: argparse.Namespace) -> tuple[Analysis, Any]:
    """A keras.applications twin of the zoo with its pretrained weights (see archbuilder.pretrained)."""
    load_backend()
    from archbuilder.analysis import analyze
    from archbuilder.compile import build_model
    from archbuilder.pretrained import load_pretrained, pretrained_blueprint

    blueprint = pretrained_blueprint(
        args.source, classes=args.classes, input_shape=args.input_shape, preprocessing=args.preprocessing
    )
    analysis = analyze(blueprint)
    model = build_model(analysis)
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
    refuse_to_replace([output, resolved_blueprint_path(output)], args.overwrite)
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
    print_keras_summary(model)
    print(f"wrote {output} ({analysis.params:,} params) and {blueprint_file}")
    return EXIT_OK


def print_keras_summary(model: Any, width: int = 110) -> None:
    """Keras's layer table, whole. Keras prints it through a rich console, which takes its width from the
    terminal, or 80 columns when the output is piped or redirected: the table is then cut and its Param # column
    lost. So when standard output is not a terminal, ``COLUMNS`` (which rich reads) is set for the call."""
    if sys.stdout.isatty():
        model.summary(line_length=width)
        return
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width + 2)
    try:
        model.summary(line_length=width)
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before


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


def add_build_commands(commands: Any) -> None:
    """build and plot."""
    build = add_command(
        commands,
        "build",
        command_build,
        "Compile a blueprint into a Keras model file; the resolved blueprint is written beside it.",
    )
    add_source_argument(build)
    add_override_option(build)
    build.add_argument("-o", "--output", required=True, metavar="MODEL.keras", help="the model file to write")
    build.add_argument(
        "--overwrite", action="store_true", help="replace an existing MODEL.keras (and MODEL.blueprint.yaml)"
    )
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

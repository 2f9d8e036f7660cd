"""Commands that train and use trained models: train, evaluate, predict (Keras imported inside;
the logic lives in :mod:`archbuilder.training`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from archbuilder.cli.build import add_weights_options, weights_options_misused
from archbuilder.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_folder_options,
    add_override_option,
    add_source_argument,
    analyze_source,
    options_from,
    positive_int,
    run_resumable,
)
from archbuilder.cli.errors import report
from archbuilder.runtime.environment import load_backend


def command_train(args: argparse.Namespace) -> int:
    """``archbuilder train``: train a blueprint with its recipe (train options override it) into a run folder.

    With ``--weights`` the source is a zoo entry with pretrained weights (``--classes`` and
    ``--input-shape`` go only with it; ``--set`` does not).

    Args:
        args: The parsed command line: ``source``, ``overrides`` and the :class:`TrainOptions` fields
            (each option's ``dest`` is its field's name).

    Returns:
        The exit code: ``EXIT_OK``, ``EXIT_USAGE`` for a misused option, or ``EXIT_INTERRUPTED`` after
        Ctrl-C (the run continues with ``--resume``).

    Raises:
        BlueprintError: The source cannot be found, or the blueprint or an override is invalid.
        DataError: The data cannot be loaded or does not fit the blueprint.
        RunError: The output folder or the settings do not allow the run.
    """
    if weights_options_misused(
        args,
        "train",
        ("--classes", "--input-shape"),
        instead_of_set="use --classes and --input-shape, and the train options for the recipe",
    ):
        return EXIT_USAGE
    if args.weights is None:
        blueprint = analyze_source(args.source, args.overrides).blueprint  # an error here needs no Keras
        load_backend(deterministic=bool(args.deterministic))
    else:
        load_backend(deterministic=bool(args.deterministic))  # archbuilder.pretrained imports Keras
        from archbuilder.pretrained import pretrained_blueprint

        blueprint = pretrained_blueprint(args.source, classes=args.classes, input_shape=args.input_shape)
    from archbuilder.training.options import TrainOptions
    from archbuilder.training.runner import run_training

    return run_resumable(run_training, blueprint, options_from(TrainOptions, args))


def command_evaluate(args: argparse.Namespace) -> int:
    """``archbuilder evaluate``: score a trained model on a test split, per class, and draw its confusion matrix.

    Args:
        args: ``model``, ``data``, ``resize``, ``batch_size``, ``json``, and ``confusion`` (the drawing's
            path, .png, .svg or .pdf; default: ``confusion.png`` beside the model).

    Returns:
        The exit code: ``EXIT_OK``, or ``EXIT_USAGE`` for a ``--confusion`` of another suffix.

    Raises:
        DataError: The model cannot be loaded, the data is missing or does not fit the model.
        ArtifactError: The drawing cannot be written.
    """
    confusion = Path(args.confusion) if args.confusion else Path(args.model).with_name("confusion.png")
    if confusion.suffix.lower() not in (".png", ".svg", ".pdf"):
        return report(
            args,
            f"archbuilder evaluate: --confusion must end with .png, .svg or .pdf. Received: {args.confusion}",
            EXIT_USAGE,
        )
    load_backend()
    from archbuilder.training.evaluation import evaluate

    results = evaluate(args.model, args.data, resize=bool(args.resize), batch_size=args.batch_size, confusion=confusion)
    if args.json:
        print(json.dumps(results, indent=2))
        return EXIT_OK
    scores = {name: value for name, value in results.items() if isinstance(value, float)}
    print(f"{results['images']} {results['split']} images: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    print(format_class_table(results["per_class"]))
    print(f"wrote {results['confusion_image']}")
    return EXIT_OK


def format_class_table(per_class: list[dict[str, Any]]) -> str:
    """Precision, recall, F1 and support per class, and their means over the classes with test images."""

    def score(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    rows: list[tuple[str, ...]] = [
        (
            str(entry["name"]),
            score(entry["precision"]),
            score(entry["recall"]),
            score(entry["f1"]),
            str(entry["support"]),
        )
        for entry in per_class
    ]
    present = [entry for entry in per_class if entry["support"]]
    means = [
        sum(entry[key] or 0.0 for entry in present) / len(present) if present else None
        for key in ("precision", "recall", "f1")
    ]
    rows.append(("macro average", *(score(mean) for mean in means), str(sum(entry["support"] for entry in per_class))))
    headers = ("class", "precision", "recall", "f1", "support")
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))
        ).rstrip()
        for row in (headers, *rows)
    )


def command_predict(args: argparse.Namespace) -> int:
    """``archbuilder predict``: print the ``top_k`` classes a trained model gives each image.

    Args:
        args: ``model``, ``images``, ``top_k`` and ``resize``.

    Returns:
        The exit code: ``EXIT_OK``.

    Raises:
        DataError: The model cannot be loaded, or an image cannot be read or does not fit the model's
            input (without ``resize``).
    """
    load_backend()
    from archbuilder.training.prediction import predict

    for prediction in predict(args.model, args.images, top_k=args.top_k, resize=bool(args.resize)):
        print(prediction)
    return EXIT_OK


def add_training_commands(commands: Any) -> None:
    """train, evaluate, predict."""
    train = add_command(
        commands,
        "train",
        command_train,
        "Train a blueprint with its recipe on a dataset; writes the model, history and metrics.",
    )
    add_source_argument(train)
    add_override_option(train)
    train.add_argument(
        "--data",
        metavar="NAME",
        help="digits, shapes[:N], mnist, fashion_mnist, cifar10, cifar100, "
        "images:DIR, npz:FILE (default: the recipe's training.data)",
    )
    train.add_argument("--epochs", type=positive_int, help="override training.epochs")
    train.add_argument("--batch-size", type=positive_int, help="override training.batch_size")
    train.add_argument("--learning-rate", type=float, metavar="LR", help="override training.optimizer.learning_rate")
    train.add_argument("--seed", type=int, help="override training.seed")
    train.add_argument("-o", "--output", metavar="DIR", help="run folder (default: runs/<blueprint name>)")
    add_folder_options(train, "run")
    train.add_argument("--deterministic", action="store_true", default=None, help="deterministic kernels (slower)")
    train.add_argument(
        "--resize",
        action="store_true",
        default=None,
        help="resize the images (and repeat/convert channels) to the blueprint's input",
    )
    train.add_argument(
        "--no-mixed-precision",
        dest="mixed_precision",
        action="store_false",
        default=None,
        help="train in float32 on a GPU (default there: mixed_float16)",
    )
    train.add_argument(
        "--no-jit",
        dest="jit_compile",
        action="store_false",
        default=None,
        help="do not compile with XLA (default on a GPU: jit_compile=True)",
    )
    train.add_argument(
        "--init-weights",
        metavar="MODEL.keras",
        help="start from this model's weights, matched by layer name (override training.init_weights)",
    )
    add_weights_options(train)
    train.add_argument(
        "--distribution",
        choices=("mirrored", "multi_worker", "data_parallel"),
        help="data-parallel training: mirrored (TensorFlow), data_parallel (JAX), multi_worker (JAX processes)",
    )

    evaluate = add_command(
        commands,
        "evaluate",
        command_evaluate,
        "Loss, accuracy, per-class precision/recall/F1 and the confusion matrix of a trained model on a test set.",
    )
    evaluate.add_argument("model", metavar="MODEL.keras")
    evaluate.add_argument("--data", metavar="NAME", help="the dataset (default: the run's own)")
    evaluate.add_argument(
        "--resize", action="store_true", help="resize the images to the model's input (default: as the model's run did)"
    )
    evaluate.add_argument("--batch-size", type=positive_int, default=128)
    evaluate.add_argument(
        "--confusion",
        metavar="FILE.png|svg|pdf",
        help="where to draw the confusion matrix (default: confusion.png beside the model)",
    )
    evaluate.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (scores, per-class scores, the confusion matrix as counts)",
    )

    predict = add_command(commands, "predict", command_predict, "Print the top classes of images (png/jpg or .npy).")
    predict.add_argument("model", metavar="MODEL.keras")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="png/jpg files or .npy arrays")
    predict.add_argument("--top-k", type=positive_int, default=5, metavar="K")
    predict.add_argument(
        "--resize", action="store_true", help="resize the images to the model's input (default: as the model's run did)"
    )

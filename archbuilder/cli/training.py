"""Commands that train and use trained models: train, evaluate, predict (Keras imported inside;
the logic lives in :mod:`archbuilder.train`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from archbuilder.cli.common import EXIT_OK, add_command, add_folder_options, analyze_source, positive_int
from archbuilder.errors import EXIT_INTERRUPTED
from archbuilder.train.environment import prepare_backend_environment

#: The train options that override the blueprint's recipe (argparse dest names = ``train()`` keywords).
TRAIN_OVERRIDES = ("data", "epochs", "batch_size", "learning_rate", "seed", "resize", "deterministic",
                   "mixed_precision", "jit_compile", "init_weights", "distribution")


def command_train(args: argparse.Namespace) -> int:
    prepare_backend_environment(deterministic=bool(args.deterministic))
    analysis = analyze_source(args.source)
    from archbuilder.train.runner import train

    overrides = {key: getattr(args, key) for key in TRAIN_OVERRIDES}
    try:
        train(analysis.blueprint, output=args.output, resume=args.resume, overwrite=args.overwrite, **overrides)
    except KeyboardInterrupt:
        print("\ninterrupted; continue with the same command and --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def command_evaluate(args: argparse.Namespace) -> int:
    prepare_backend_environment()
    from archbuilder.train.predict import evaluate

    results = evaluate(args.model, args.data, resize=bool(args.resize), batch_size=args.batch_size)
    print(json.dumps(results, indent=2) if args.json else
          f"{int(results.pop('images'))} test images: " + ", ".join(f"{k} {v:.4f}" for k, v in results.items()))
    return EXIT_OK


def command_predict(args: argparse.Namespace) -> int:
    prepare_backend_environment()
    from archbuilder.train.predict import predict

    for prediction in predict(args.model, args.images, top_k=args.top_k, resize=bool(args.resize)):
        print(prediction)
    return EXIT_OK


def add_training_commands(commands: Any) -> None:
    """train, evaluate, predict."""
    train = add_command(commands, "train", command_train,
                        "Train a blueprint with its recipe on a dataset; writes the model, history and metrics.")
    train.add_argument("source", metavar="FILE|ZOO_NAME", help="a blueprint file or a zoo name")
    train.add_argument("--data", metavar="NAME", help="digits, shapes[:N], mnist, fashion_mnist, cifar10, cifar100, "
                       "images:DIR, npz:FILE (default: the recipe's training.data)")
    train.add_argument("--epochs", type=positive_int, help="override training.epochs")
    train.add_argument("--batch-size", type=positive_int, help="override training.batch_size")
    train.add_argument("--learning-rate", type=float, metavar="LR", help="override training.optimizer.learning_rate")
    train.add_argument("--seed", type=int, help="override training.seed")
    train.add_argument("-o", "--output", metavar="DIR", help="run folder (default: runs/<blueprint name>)")
    add_folder_options(train, "run")
    train.add_argument("--deterministic", action="store_true", default=None, help="deterministic kernels (slower)")
    train.add_argument("--resize", action="store_true", default=None,
                       help="resize the images (and repeat/convert channels) to the blueprint's input")
    train.add_argument("--no-mixed-precision", dest="mixed_precision", action="store_false", default=None,
                       help="train in float32 on a GPU (default there: mixed_float16)")
    train.add_argument("--no-jit", dest="jit_compile", action="store_false", default=None,
                       help="do not compile with XLA (default on a GPU: jit_compile=True)")
    train.add_argument("--init-weights", metavar="MODEL.keras",
                       help="start from this model's weights, matched by layer name (override training.init_weights)")
    train.add_argument("--distribution", choices=("mirrored", "multi_worker", "data_parallel"),
                       help="data-parallel training: mirrored (TensorFlow), data_parallel (JAX), multi_worker (JAX processes)")

    evaluate = add_command(commands, "evaluate", command_evaluate, "Loss and accuracy of a trained model on a test set.")
    evaluate.add_argument("model", metavar="MODEL.keras")
    evaluate.add_argument("--data", metavar="NAME", help="the dataset (default: the run's own)")
    evaluate.add_argument("--resize", action="store_true", help="resize the images to the model's input")
    evaluate.add_argument("--batch-size", type=positive_int, default=128)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    predict = add_command(commands, "predict", command_predict, "Print the top classes of images (png/jpg or .npy).")
    predict.add_argument("model", metavar="MODEL.keras")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="png/jpg files or .npy arrays")
    predict.add_argument("--top-k", type=positive_int, default=5, metavar="K")
    predict.add_argument("--resize", action="store_true", help="resize the images to the model's input")

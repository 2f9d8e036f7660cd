"""Training throughput: ``archbuilder.train`` against a hand-written ``model.fit`` of the same network.

Both train the same architecture (the zoo blueprint, and its hand-written Keras twin) on the same
synthetic ``shapes`` images with the same split, optimizer, batch size, precision and XLA setting,
in the same process, alternating for --rounds rounds. archbuilder's run does everything it always
does (tf.data or NumPy pipeline, per-epoch .keras checkpoints, CSV and TensorBoard logs); the
hand-written fit does nothing extra. The checkpoint (model and optimizer state, written every epoch
so a killed run loses at most the epoch in progress) costs a fixed time per epoch that grows with
the model (about 20 ms for LeNet-5, 0.5-1 s for ResNet-50 with Adam's state); the ratio without it
is printed too, since the synthetic epochs here are far shorter than real ones. Throughput is
training images / epoch wall time (validation and callbacks included), taking each run's fastest
epoch after the first (compiling) one, since on
a shared machine the slower epochs measure the neighbours; --statistic median takes the median
epoch instead. Each round runs both sides, in alternating order; the ratio reported is the median
of the per-round ratios with its quartiles (on a shared 2-core machine single epochs vary by +-10%),
and the ratio of each side's best round. Target on CPU: archbuilder / hand-written >= 0.97x.

On a GPU it also compares mixed precision with float32 and reports model-FLOPs utilization from
the analyzer's MACs (a training step is counted as 3 forward passes: 6 FLOPs per MAC).

    python benchmarks/train_throughput.py                       # CPU: lenet5 at 32x32x1
    KERAS_BACKEND=jax python benchmarks/train_throughput.py     # GPU: resnet50 at 224x224x3, both precisions
    python benchmarks/train_throughput.py --model resnet20_cifar --images 4096 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import archbuilder  # noqa: E402
from archbuilder.blueprint.training import ConstantSchedule, Optimizer  # noqa: E402
from archbuilder.runtime import accelerator  # noqa: E402
from archbuilder.training.callbacks import EpochTimer  # noqa: E402
from archbuilder.training.data import Dataset, Split, split_validation  # noqa: E402
from archbuilder.training.shapes import generate_shapes  # noqa: E402
from archbuilder.zoo import load_zoo_blueprint  # noqa: E402

# Dense peak TFLOPS by GPU family: tensor-core FP16 for mixed precision, TF32 for float32.
PEAK_TFLOPS = {
    "H200": (989.4, 494.7),
    "H100": (989.4, 494.7),
    "A100": (312.0, 156.0),
    "L40S": (362.0, 183.0),
    "L4": (121.0, 60.0),
    "A10": (125.0, 62.5),
    "V100": (125.0, 15.7),
    "T4": (65.0, 8.1),
}
UNIQUE_IMAGES = 1024  # drawn once, tiled up to --images (drawing 224x224 images is slow)


def hand_written(name: str) -> keras.Model:
    """The Keras twin of a zoo blueprint, written the way a user would."""
    layers = keras.layers
    if name == "lenet5":
        return keras.Sequential(
            [
                keras.Input((32, 32, 1)),
                layers.Conv2D(6, 5, activation="tanh"),
                layers.AveragePooling2D(2),
                layers.Conv2D(16, 5, activation="tanh"),
                layers.AveragePooling2D(2),
                layers.Flatten(),
                layers.Dense(120, activation="tanh"),
                layers.Dense(84, activation="tanh"),
                layers.Dense(10, activation="softmax"),
            ],
            name="lenet5_by_hand",
        )
    if name == "resnet50":
        return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3), classes=1000)
    raise SystemExit(f"no hand-written twin for '{name}'; choose lenet5 or resnet50")


def synthetic(shape: tuple[int, int, int], images: int, seed: int = 0) -> Dataset:
    unique = min(images, UNIQUE_IMAGES)
    x, y = generate_shapes(unique, *shape, seed=seed)
    repeats = -(-images // unique)
    x, y = np.tile(x, (repeats, 1, 1, 1))[:images], np.tile(y, repeats)[:images]
    return Dataset("shapes (synthetic)", Split(x, y), None, tuple(str(i) for i in range(10)))


def epoch_time(epoch_seconds: list[float], statistic: str) -> float:
    steady = epoch_seconds[1:] or epoch_seconds
    return min(steady) if statistic == "min" else statistics.median(steady)


def run_archbuilder(
    name: str, data: Dataset, args: argparse.Namespace, precision: str, folder: str
) -> tuple[float, float]:
    """Images per second end to end, and without the per-epoch checkpoint (the training loop alone)."""
    blueprint = load_zoo_blueprint(name)
    if blueprint.training is not None:  # the same work as the hand-written fit: Adam 1e-3, no augmentation
        recipe = blueprint.training.model_copy(
            update={
                "augmentation": None,
                "schedule": ConstantSchedule(),
                "optimizer": Optimizer(type="adam", learning_rate=1e-3),
            }
        )
        blueprint = blueprint.model_copy(update={"training": recipe})
    result = archbuilder.train(
        blueprint,
        data=data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        output=folder,
        mixed_precision=precision == accelerator.MIXED,
        verbose=0,
    )
    timing, images = result.metrics["timing"], result.metrics["data"]["train"]
    loop = [epoch - saving for epoch, saving in zip(timing["epoch_seconds"], timing["checkpoint_seconds"])]
    return images / epoch_time(timing["epoch_seconds"], args.statistic), images / epoch_time(loop, args.statistic)


def run_by_hand(name: str, data: Dataset, args: argparse.Namespace, precision: str, jit_compile: bool | str) -> float:
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    split = split_validation(data, 0.1, 0)  # the recipe's default validation_split, same images as archbuilder's
    with accelerator.precision_policy(precision):
        model = hand_written(name)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    timer = EpochTimer()
    model.fit(
        split.train.x,
        split.train.y,
        batch_size=args.batch_size,
        epochs=args.epochs,
        callbacks=[timer],
        validation_data=(split.validation.x, split.validation.y),
        verbose=0,
    )
    return len(split.train) / epoch_time(timer.epoch_seconds, args.statistic)


def compare(
    name: str, data: Dataset, args: argparse.Namespace, precision: str
) -> tuple[list[float], list[float], list[float]]:
    """--rounds rounds of one archbuilder run and one hand-written run, in alternating order (the
    first run of a round does not always belong to the same side)."""
    jit = accelerator.choose_jit_compile(None)
    ours: list[float] = []
    loops: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        for round_index in range(args.rounds):

            def ours_run(folder: str = os.path.join(scratch, f"run{round_index}")) -> None:  # bound per round
                keras.backend.clear_session()
                end_to_end, loop = run_archbuilder(name, data, args, precision, folder)
                ours.append(end_to_end)
                loops.append(loop)

            def theirs_run() -> None:
                theirs.append(run_by_hand(name, data, args, precision, jit))

            for run in (ours_run, theirs_run) if round_index % 2 == 0 else (theirs_run, ours_run):
                run()
            print(
                f"  round {round_index + 1}: archbuilder {ours[-1]:,.0f} img/s ({loops[-1]:,.0f} without its "
                f"checkpoint), hand-written {theirs[-1]:,.0f} img/s, ratio {ours[-1] / theirs[-1]:.3f}x"
            )
    return ours, loops, theirs


def ratio_summary(ours: list[float], theirs: list[float]) -> str:
    """The median of the per-round ratios, with their quartiles (the spread the machine's noise gives)."""
    ratios = sorted(a / b for a, b in zip(ours, theirs))
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return f"{statistics.median(ratios):.3f}x (quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f})"


def model_flops_utilization(images_per_second: float, macs: int, precision: str, peak_tflops: float | None) -> str:
    device = accelerator.gpu_name()
    if peak_tflops is None and device:
        family = next((key for key in PEAK_TFLOPS if key in device.upper()), None)
        peak_tflops = PEAK_TFLOPS[family][0 if precision == accelerator.MIXED else 1] if family else None
    if not peak_tflops:
        return "MFU: n/a (unknown peak; pass --peak-tflops)"
    achieved = images_per_second * 6 * macs / 1e12
    return f"MFU {achieved / peak_tflops:.1%} ({achieved:.1f} of {peak_tflops:.0f} TFLOPS, 6 FLOPs/MAC/image)"


def main() -> None:
    gpu = accelerator.gpu_name()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50" if gpu else "lenet5", help="lenet5 or resnet50")
    parser.add_argument(
        "--images", type=int, default=16384 if gpu else 24576, help="training images per epoch (+10%% validation)"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per run (the first is not timed)")
    parser.add_argument("--statistic", choices=["min", "median"], default="min", help="per-run epoch time")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of one archbuilder and one hand-written run")
    parser.add_argument("--precision", choices=["auto", "float32", "mixed", "both"], default="both" if gpu else "auto")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense peak, for MFU")
    args = parser.parse_args()
    analysis = archbuilder.analyze(load_zoo_blueprint(args.model))
    data = synthetic(analysis.blueprint.input.shape, int(args.images / 0.9))
    twin = hand_written(args.model).count_params()
    if twin != analysis.params:
        raise SystemExit(f"the hand-written {args.model} has {twin:,} params, the blueprint {analysis.params:,}")
    keras.backend.clear_session()
    choices = {
        "auto": [accelerator.choose_precision(None)],
        "float32": [accelerator.FLOAT32],
        "mixed": [accelerator.MIXED],
        "both": [accelerator.MIXED, accelerator.FLOAT32],
    }[args.precision]
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, device {accelerator.describe_device()}, "
        f"Python {platform.python_version()}, Keras {keras.__version__}"
    )
    print(
        f"model: {args.model} {analysis.blueprint.input.shape}, {analysis.params:,} params, {analysis.macs:,} MACs; "
        f"{args.images:,} training images/epoch, batch size {args.batch_size}, "
        f"{args.epochs} epochs x {args.rounds} rounds "
        f"({args.statistic} epoch), "
        f"jit_compile={accelerator.choose_jit_compile(None)}"
    )
    for precision in choices:
        print(f"precision {precision}:")
        ours, loops, theirs = compare(args.model, data, args, precision)
        print(
            f"  archbuilder train {statistics.median(ours):,.0f} images/s, hand-written model.fit "
            f"{statistics.median(theirs):,.0f} images/s (medians over rounds)"
        )
        print(
            f"  ratio per round, median: {ratio_summary(ours, theirs)} (target >= 0.97x); without the per-epoch "
            f"checkpoint {ratio_summary(loops, theirs)}; best rounds {max(ours) / max(theirs):.3f}x"
        )
        if gpu:
            print(f"  {model_flops_utilization(statistics.median(ours), analysis.macs, precision, args.peak_tflops)}")


if __name__ == "__main__":
    main()

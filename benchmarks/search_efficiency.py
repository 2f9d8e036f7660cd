"""Search efficiency: best TEST accuracy against wall time, archbuilder vs KerasTuner vs AutoKeras.

Contestants, each given the same data, the same number of trials and the same epochs per trial:

* ``archbuilder random`` / ``archbuilder evolution``: ``archbuilder.search.run(space, tuner=...)``
  with archbuilder's defaults (TensorBoard logging per trial on), over the pattern-form space of
  ``archbuilder/search/spaces/pattern.yaml``: [(CONV-RELU)*N - POOL]*M - (FC-RELU)*K - SOFTMAX with
  N, M, K, the FC width, kernel, padding, filter progression and learning rate searched (inputs
  and the largest M adjusted per dataset; budgets 150k parameters and a MACs limit). One setting
  differs from the default: ``top_k`` = the trial count, so that every trial's trained model stays
  on disk for the equal-time evaluation below (it only skips deleting files).
* ``KerasTuner``: ``keras_tuner.RandomSearch`` over a hand-written ``build(hp)`` of the same network
  and choices, written the way a user would: nothing checks that a combination fits the input
  (Keras raises while building: a failed trial), the parameter budget is KerasTuner's own
  ``max_model_size``, and its stop-after-3-failures limit is off so it spends the whole budget. At
  the end: ``tuner.get_best_models(1)[0]``, evaluated on the test split.
* ``AutoKeras`` (3.0, when ``--autokeras-python`` names an interpreter that imports it, or this one
  does; run in a subprocess): ``ak.AutoModel(ImageInput -> ImageBlock(block_type="vanilla") ->
  ClassificationHead)``, i.e. AutoKeras's own plain-CNN search space with its default (greedy)
  tuner and preprocessing choices, ``max_model_size`` the same 150k parameters and, as for
  KerasTuner, the stop-after-3-failures limit off (with it, AutoKeras raised on digits and shapes
  seed 1 after three oversized trials); ``export_model()`` then evaluated. Not the default
  ``ImageClassifier``: its 2nd and 3rd fixed trials are a ResNet50 resized to 224x224 (about 500 s
  for ONE epoch of digits on this 2-core CPU) and an EfficientNet-B7 with ImageNet weights (a
  download, which fails offline), and ``max_model_size`` cannot be used with it (AutoKeras builds
  its default ResNet50 before the search and aborts on the size). AutoKeras ends its search by retraining the
  best trial from scratch (its "final fit"); that is in its wall time.
  Workaround: AutoKeras 3.0's ``utils.data_utils.dataset_shape`` returns NumPy integers, which it
  passes on as ``Dense(units=...)``; Keras 3.15 accepts only Python ints ("Received an invalid
  value for `units`"). The AutoKeras worker below replaces that function with one returning
  Python ints (one line; nothing else of AutoKeras is changed).

Everyone gets the same train/validation/test split, loaded once with archbuilder's loaders
(``digits``: the embedded 8x8 digits, 20% fixed test split; ``shapes:2000``: 2,000 generated 32x32
images plus 500 test images drawn from another seed; 10% of training held out for validation by
``split_validation`` with the run's seed) and handed over as arrays (archbuilder: a ``Dataset``),
so loading is outside every clock. A fingerprint of the arrays is printed per worker process.

Wall time is each contestant's whole search, from constructing it (archbuilder: ``run`` parses
the space) to the test accuracy of its final model (archbuilder: ``result.test``, computed by the
search itself from ``best.keras``). Each process first warms up TensorFlow (one tiny fit, and in
the main process one tiny search of each kind) so that no contestant pays the first-use costs, and
the order of the contestants rotates from seed to seed.

Equal trial count: the final model's test accuracy after N trials, and the wall time.
Equal wall time: every trial's end is timestamped (a wrapper around KerasTuner's
``BaseTuner.on_trial_end``, which all three tuners call; it costs microseconds). T is the wall time
of the fastest contestant on that dataset and seed. "test @T" is the test accuracy of the trial a
contestant would have picked had it been stopped at T: the best by its own objective (val_accuracy;
AutoKeras: val_loss) among its trials that had ended by then, evaluated on the test split after the
clocks stopped ("-": no trial had ended). The same at T/2. This leaves out each contestant's
end-of-search work (archbuilder's winner evaluation, KerasTuner's reload, AutoKeras's final fit),
which the equal-trials columns include.

``archbuilder random, no TensorBoard`` (``tensorboard=False``) runs beside them to measure what
TensorBoard logging costs; it takes no part in T, nor does a search that raised (AutoKeras does
when every trial was over ``max_model_size``: its final fit has no model to build).

The machine is shared: the "others' CPU" column is the share of the machine's CPU time that other
processes used while a search ran (/proc/stat's busy time less this process's own, over wall time
x CPUs); the run prints the load average at its start and end.

    .venv/bin/python benchmarks/search_efficiency.py --autokeras-python /tmp/akvenv/bin/python
    .venv/bin/python benchmarks/search_efficiency.py --datasets digits --trials 2 --epochs 1 --seeds 0   # smoke run

(the AutoKeras interpreter: ``python3.11 -m venv /tmp/akvenv && /tmp/akvenv/bin/pip install -r
requirements/lock.txt "autokeras==3.0.*"``: the project's locked versions plus AutoKeras.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402
from keras_tuner.src.engine import base_tuner  # noqa: E402

from archbuilder.search import load_space, run  # noqa: E402
from archbuilder.training.data import Dataset, load_dataset, split_validation  # noqa: E402

# Noise: tf.function retracing notes (every trial is a new model) and Keras's note that a reloaded
# model's optimizer state is skipped (the models are only evaluated).
keras.utils.disable_interactive_logging()
warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")

REPO = Path(__file__).resolve().parents[1]
# Per dataset: input shape, the largest M, the budgets (params, MACs) and the data specification.
DATASETS: dict[str, dict[str, Any]] = {
    "digits": {"shape": [8, 8, 1], "max_m": 4, "max_params": 150_000, "max_macs": 2_000_000, "data": "digits"},
    "shapes": {"shape": [32, 32, 3], "max_m": 6, "max_params": 150_000, "max_macs": 12_000_000, "data": "shapes:2000"},
}
BATCH_SIZE = 64
VALIDATION = 0.1
AB_RANDOM, AB_EVOLUTION, AB_NO_TB, KERAS_TUNER, AUTOKERAS = (
    "archbuilder random",
    "archbuilder evolution",
    "archbuilder random, no TensorBoard",
    "KerasTuner",
    "AutoKeras",
)
RACE = (AB_RANDOM, AB_EVOLUTION, KERAS_TUNER, AUTOKERAS)  # the contestants T is taken over


# -- the trial clock -----------------------------------------------------------------------------

TRIAL_ENDS: dict[str, float] = {}  # trial id -> time.perf_counter() when it ended, for the search running now
_on_trial_end = base_tuner.BaseTuner.on_trial_end


def _timed_on_trial_end(self: Any, trial: Any) -> None:
    _on_trial_end(self, trial)
    TRIAL_ENDS[trial.trial_id] = time.perf_counter()


base_tuner.BaseTuner.on_trial_end = _timed_on_trial_end


@dataclass
class TrialEnd:
    elapsed: float  # seconds from the start of the search
    score: float | None  # the contestant's own objective (None: failed)
    test: float | None  # test accuracy of the trial's model (evaluated after the search)


@dataclass
class Search:
    data: str
    seed: int
    search: str
    trials: int
    failed: int
    seconds: float
    test: float | None  # the final model's test accuracy
    best_score: float | None
    direction: str  # of the objective: "max" (val_accuracy) or "min" (AutoKeras's val_loss)
    others: float  # share of the machine's CPU time other processes used during the search
    ends: list[TrialEnd] = field(default_factory=list)
    note: str = ""

    def pick(self, budget: float) -> TrialEnd | None:
        """The trial the search would have picked had it been stopped after ``budget`` seconds."""
        done = [
            end for end in self.ends if end.elapsed <= budget and end.score is not None and math.isfinite(end.score)
        ]
        if not done:
            return None
        return max(done, key=lambda end: end.score if self.direction == "max" else -end.score)  # type: ignore[operator]

    def trials_by(self, budget: float) -> int:
        return sum(1 for end in self.ends if end.elapsed <= budget)


class OthersCpu:
    """The share of the machine's CPU time that other processes used while a search ran: the busy
    time in /proc/stat less this process's own (``os.times``), over wall time x CPUs (Linux)."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        try:
            with open("/proc/stat", encoding="ascii") as handle:
                fields = [int(v) for v in handle.readline().split()[1:]]
        except OSError:
            return (math.nan, math.nan, time.perf_counter())
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")  # user..steal, not guest (counted in user)
        own = os.times()
        return (busy, own.user + own.system, time.perf_counter())

    def share(self) -> float:
        busy, own, now = self._sample()
        return max(
            0.0, ((busy - self.start[0]) - (own - self.start[1])) / ((now - self.start[2]) * (os.cpu_count() or 1))
        )


# -- data ----------------------------------------------------------------------------------------


def load_data(name: str, seed: int) -> Dataset:
    """The split everyone gets: archbuilder's loader, and its validation split (``validation_split`` 0.1)."""
    spec = DATASETS[name]
    dataset = load_dataset(spec["data"], input_shape=tuple(spec["shape"]), classes=10, seed=seed)
    return split_validation(dataset, VALIDATION, seed)


def fingerprint(dataset: Dataset) -> str:
    digest = hashlib.sha256()
    for split in (dataset.train, dataset.validation, dataset.test):
        assert split is not None
        digest.update(np.ascontiguousarray(split.x).tobytes())
        digest.update(np.ascontiguousarray(split.y).tobytes())
    return digest.hexdigest()[:12]


def accuracy(model: keras.Model, dataset: Dataset) -> float:
    assert dataset.test is not None
    probabilities = np.asarray(model.predict(dataset.test.x, batch_size=256, verbose=0))
    return float(np.mean(probabilities.argmax(axis=-1) == dataset.test.y))


def warm_up() -> None:
    """One tiny fit, so that TensorFlow's first-use costs land on no contestant."""
    rng = np.random.default_rng(0)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        rng.random((64, 8, 8, 1), dtype="float32"), rng.integers(0, 10, 64), validation_split=0.25, epochs=1, verbose=0
    )
    model.predict(rng.random((8, 8, 8, 1), dtype="float32"), verbose=0)
    keras.backend.clear_session()


# -- archbuilder ---------------------------------------------------------------------------------


def archbuilder_space(name: str, seed: int, trials: int, epochs: int, tuner: str) -> dict[str, Any]:
    spec = DATASETS[name]
    raw = dict(load_space("pattern").raw)
    raw["input"] = {"shape": spec["shape"]}
    raw["pattern"] = {**raw["pattern"], "M": {"int": [1, spec["max_m"]]}}
    raw["search"] = {
        **raw["search"],
        "tuner": tuner,
        "max_trials": trials,
        "epochs": epochs,
        "seed": seed,
        "data": spec["data"],
        "top_k": trials,  # keep every trial's model (for the equal-time column)
        "budgets": {"max_params": spec["max_params"], "max_macs": spec["max_macs"]},
    }
    return raw


def run_archbuilder(
    label: str, name: str, seed: int, trials: int, epochs: int, dataset: Dataset, folder: Path
) -> Search:
    tuner = "evolution" if label == AB_EVOLUTION else "random"
    space = archbuilder_space(name, seed, trials, epochs, tuner)
    others = OthersCpu()
    TRIAL_ENDS.clear()
    started = time.perf_counter()
    result = run(space, data=dataset, output=folder, progress=False, tensorboard=label != AB_NO_TB)
    test = None if result.test is None else result.test.get("accuracy")
    seconds = time.perf_counter() - started
    others_share = others.share()
    # After the clock: every trial's model on the test split (for the equal-time column).
    ends = []
    for trial in result.trials:
        score = trial.metric("val_accuracy") if trial.completed else None
        model_file = folder / "tuner" / f"trial_{trial.trial_id}" / "model.keras"
        trial_test = None
        if score is not None and model_file.exists():
            keras.backend.clear_session()
            trial_test = accuracy(keras.saving.load_model(model_file), dataset)
        ends.append(TrialEnd(TRIAL_ENDS[trial.trial_id] - started, score, trial_test))
    keras.backend.clear_session()
    best = result.best
    note = f"{sum(result.rejected.values())} candidates rejected before building, {result.duplicates} duplicates"
    if result.model is not None:  # the search's own test score, checked against this script's
        check = accuracy(keras.saving.load_model(result.model), dataset)
        if test is None or abs(check - test) > 1e-6:
            note += f"; MISMATCH: best.keras scores {check:.4f} here, the search reported {test}"
        keras.backend.clear_session()
    return Search(
        name,
        seed,
        label,
        len(result.trials),
        sum(not t.completed for t in result.trials),
        seconds,
        test,
        None if best is None else best.metric("val_accuracy"),
        "max",
        others_share,
        ends,
        note,
    )


# -- KerasTuner ----------------------------------------------------------------------------------


def hand_written_build(shape: list[int], max_m: int):  # noqa: ANN201 - a KerasTuner build function
    """The user's ``build(hp)``: the same network and choices, and nothing that checks the geometry."""

    def build(hp: kt.HyperParameters) -> keras.Model:
        kernel = hp.Choice("kernel_size", [3, 5])
        padding = hp.Choice("padding", ["same", "valid"])
        n, m, k = hp.Int("N", 1, 3), hp.Int("M", 1, max_m), hp.Int("K", 0, 2)
        fc = hp.Choice("fc", [32, 64, 128])
        start, growth = hp.Choice("filters_start", [8, 16, 32]), hp.Choice("growth", [1.5, 2.0])
        learning_rate = hp.Choice("learning_rate", [0.001, 0.003, 0.01])
        inputs = keras.Input(tuple(shape))
        x = inputs
        for stage in range(m):
            filters = min(max(1, round(start * growth**stage)), 64)
            for _ in range(n):
                x = keras.layers.Conv2D(filters, kernel, padding=padding, activation="relu")(x)
            x = keras.layers.MaxPooling2D(2, strides=2)(x)
        x = keras.layers.Flatten()(x)
        for _ in range(k):
            x = keras.layers.Dense(fc, activation="relu")(x)
        model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return model

    return build


def run_keras_tuner(name: str, seed: int, trials: int, epochs: int, dataset: Dataset, folder: Path) -> Search:
    spec = DATASETS[name]
    train, validation, test_split = dataset.train, dataset.validation, dataset.test
    assert validation is not None and test_split is not None
    others = OthersCpu()
    TRIAL_ENDS.clear()
    started = time.perf_counter()
    tuner = kt.RandomSearch(
        hand_written_build(spec["shape"], spec["max_m"]),
        objective="val_accuracy",
        max_trials=trials,
        seed=seed + 1,
        max_model_size=spec["max_params"],
        max_consecutive_failed_trials=None,
        directory=str(folder),
        project_name="kt",
        overwrite=True,
    )
    tuner.search(
        train.x, train.y, validation_data=(validation.x, validation.y), epochs=epochs, batch_size=BATCH_SIZE, verbose=0
    )
    best_model = tuner.get_best_models(1)[0]
    test = float(
        best_model.evaluate(test_split.x, test_split.y, batch_size=BATCH_SIZE, verbose=0, return_dict=True)["accuracy"]
    )
    seconds = time.perf_counter() - started
    others_share = others.share()
    ends = []
    for trial_id in tuner.oracle.end_order:
        trial = tuner.oracle.trials[trial_id]
        completed = trial.status == "COMPLETED" and trial.score is not None
        keras.backend.clear_session()
        ends.append(
            TrialEnd(
                TRIAL_ENDS[trial_id] - started,
                trial.score if completed else None,
                accuracy(tuner.load_model(trial), dataset) if completed else None,
            )
        )
    keras.backend.clear_session()
    failed = sum(tuner.oracle.trials[t].status != "COMPLETED" for t in tuner.oracle.end_order)
    scores = [end.score for end in ends if end.score is not None]
    return Search(
        name,
        seed,
        KERAS_TUNER,
        len(ends),
        failed,
        seconds,
        test,
        max(scores, default=None),
        "max",
        others_share,
        ends,
        "failed: build errors (the geometry) or over max_model_size",
    )


# -- AutoKeras (a worker process, in the interpreter that has it) --------------------------------


def run_autokeras(name: str, seed: int, trials: int, epochs: int, dataset: Dataset, folder: Path) -> Search:
    import autokeras as ak
    import tree
    from autokeras.utils import data_utils

    # Workaround (AutoKeras 3.0 under Keras 3.15): dataset_shape returns NumPy integers that become
    # Dense(units=np.int64(10)), which Keras 3.15 rejects; the same function, returning Python ints.
    data_utils.dataset_shape = lambda data: tree.map_structure(lambda x: np.array(x.shape, dtype=object), data)

    train, validation = dataset.train, dataset.validation
    assert validation is not None
    others = OthersCpu()
    TRIAL_ENDS.clear()
    started = time.perf_counter()
    inputs = ak.ImageInput()
    outputs = ak.ClassificationHead()(ak.ImageBlock(block_type="vanilla")(inputs))
    auto = ak.AutoModel(
        inputs=inputs,
        outputs=outputs,
        max_trials=trials,
        seed=seed + 1,
        overwrite=True,
        directory=str(folder),
        project_name="ak",
        max_model_size=DATASETS[name]["max_params"],
    )
    auto.tuner.oracle.max_consecutive_failed_trials = None  # as for KerasTuner: spend the whole budget
    note = f"objective val_loss; autokeras {ak.__version__}"
    try:
        auto.fit(
            train.x,
            train.y,
            validation_data=(validation.x, validation.y),
            epochs=epochs,
            batch_size=BATCH_SIZE,
            verbose=0,
        )
        test: float | None = accuracy(auto.export_model(), dataset)
    except Exception as error:  # e.g. every trial over max_model_size: its final fit then raises; no model
        test, note = None, f"{note}; the search raised {type(error).__name__}: {error}"
    seconds = time.perf_counter() - started
    others_share = others.share()
    oracle = auto.tuner.oracle
    ends = []
    for trial_id in oracle.end_order:
        trial = oracle.trials[trial_id]
        completed = trial.status == "COMPLETED" and trial.score is not None
        ended = TRIAL_ENDS.get(trial_id, started + seconds)  # none: the trial the search raised in
        ends.append(
            TrialEnd(
                ended - started,
                trial.score if completed else None,
                accuracy(auto.tuner.load_model(trial), dataset) if completed else None,
            )
        )
    failed = sum(oracle.trials[t].status != "COMPLETED" for t in oracle.end_order)
    scores = [end.score for end in ends if end.score is not None]
    return Search(
        name,
        seed,
        AUTOKERAS,
        len(ends),
        failed,
        seconds,
        test,
        min(scores, default=None),
        "min",
        others_share,
        ends,
        note,
    )


def worker(args: argparse.Namespace) -> None:
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    warm_up()
    dataset = load_data(args.dataset, args.seed)
    folder = Path(tempfile.mkdtemp(prefix="search_efficiency_ak_"))
    try:
        search = run_autokeras(args.dataset, args.seed, args.trials, args.epochs, dataset, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    search.note += f"; data {fingerprint(dataset)}"
    print("RESULT " + json.dumps(asdict(search)), flush=True)


def autokeras_python(given: str | None) -> str | None:
    """The interpreter for the AutoKeras rows: the one given, else this one if it imports autokeras."""
    if given:
        return given
    import importlib.util

    return sys.executable if importlib.util.find_spec("autokeras") is not None else None


def run_autokeras_worker(python: str, name: str, seed: int, trials: int, epochs: int) -> Search | str:
    command = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        "autokeras",
        "--dataset",
        name,
        "--seed",
        str(seed),
        "--trials",
        str(trials),
        "--epochs",
        str(epochs),
    ]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            raw = json.loads(line[len("RESULT ") :])
            raw["ends"] = [TrialEnd(**end) for end in raw["ends"]]
            return Search(**raw)
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return f"AutoKeras worker failed (exit {done.returncode}): " + " | ".join(tail)


# -- the run -------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def warm_up_searches(scratch: Path) -> None:
    """One tiny search of each kind in this process, outside the clocks (imports, first traces)."""
    dataset = load_data("digits", 0)
    run_archbuilder(AB_RANDOM, "digits", 0, 1, 1, dataset, scratch / "warm_ab")
    run_keras_tuner("digits", 0, 1, 1, dataset, scratch / "warm_kt")
    keras.backend.clear_session()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=["digits", "shapes"])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--autokeras-python", help="interpreter that imports autokeras 3.0 (default: this one, if it does)"
    )
    parser.add_argument("--no-autokeras", action="store_true", help="leave the AutoKeras rows out")
    parser.add_argument("--no-tensorboard-check", action="store_true", help="skip the tensorboard=False runs")
    parser.add_argument("--worker", choices=["autokeras"], help=argparse.SUPPRESS)
    parser.add_argument("--dataset", choices=sorted(DATASETS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    python = None if args.no_autokeras else autokeras_python(args.autokeras_python)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs; Python "
        f"{platform.python_version()}; keras {keras.__version__} ({keras.backend.backend()}), tensorflow "
        f"{tf.__version__}, keras-tuner {kt.__version__}; AutoKeras: {python or 'not importable, rows left out'}"
    )
    print(
        f"budget per search: {args.trials} trials x {args.epochs} epochs, batch {BATCH_SIZE}; seeds {args.seeds}; "
        f"load average at start {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
        flush=True,
    )
    labels = [AB_RANDOM, AB_EVOLUTION, KERAS_TUNER] + ([AUTOKERAS] if python else [])
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="search_efficiency_"))
    searches: list[Search] = []
    budgets: dict[tuple[str, int], float] = {}  # (data, seed) -> T
    problems: list[str] = []
    try:
        warm_up()
        warm_up_searches(scratch)
        print(
            f"\n| data | seed | search | trials (failed) | wall s | others' CPU | best objective | test, final model | "
            f"test @T | trials @T | test @T/2 | data |\n|{'---|' * 12}",
            flush=True,
        )
        for name in args.datasets:
            for index, seed in enumerate(args.seeds):
                dataset = load_data(name, seed)
                order = labels[index % len(labels) :] + labels[: index % len(labels)]  # rotate the order per seed
                if not args.no_tensorboard_check:
                    order.insert(1 + index % len(order), AB_NO_TB)
                group: list[Search] = []
                for label in order:
                    folder = scratch / f"{name}_{seed}_{label.replace(' ', '_').replace(',', '')}"
                    keras.backend.clear_session()
                    if label == AUTOKERAS:
                        outcome = run_autokeras_worker(python, name, seed, args.trials, args.epochs)  # type: ignore[arg-type]
                        if isinstance(outcome, str):
                            problems.append(f"{name} seed {seed}: {outcome}")
                            print(f"# {name} seed {seed}: {outcome}", flush=True)
                            continue
                    elif label == KERAS_TUNER:
                        outcome = run_keras_tuner(name, seed, args.trials, args.epochs, dataset, folder)
                    else:
                        outcome = run_archbuilder(label, name, seed, args.trials, args.epochs, dataset, folder)
                    if label != AUTOKERAS:
                        outcome.note += f"; data {fingerprint(dataset)}"
                    shutil.rmtree(folder, ignore_errors=True)
                    group.append(outcome)
                for search in group:
                    if "raised" in search.note or "MISMATCH" in search.note:
                        print(f"# {name} seed {seed}, {search.search}: {search.note}", flush=True)
                racing = [s for s in group if s.search in RACE and s.test is not None]  # a search that raised sets no T
                budget = budgets[(name, seed)] = min(s.seconds for s in racing)
                for search in sorted(group, key=lambda s: labels.index(s.search) if s.search in labels else 1.5):
                    at, half = search.pick(budget), search.pick(budget / 2)
                    racing_here = search.search in RACE
                    print(
                        f"| {name} | {seed} | {search.search} | {search.trials} ({search.failed}) | "
                        f"{search.seconds:.1f} | "
                        f"{search.others * 100:.0f}% | {fmt(search.best_score)} | {fmt(search.test)} | "
                        f"{fmt(at.test if at else None) if racing_here else ''} | "
                        f"{search.trials_by(budget) if racing_here else ''} | "
                        f"{fmt(half.test if half else None) if racing_here else ''} | "
                        f"{search.note.split('data ')[-1]} |",
                        flush=True,
                    )
                    searches.append(search)
                print(f"|  |  | T = {budget:.1f} s |  |  |  |  |  |  |  |  |  |", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(
        f"\nmeans over seeds {args.seeds} ({args.trials} trials x {args.epochs} epochs; T = the fastest contestant's "
        f"wall time on each dataset and seed)\n"
    )
    print(
        "| data | search | wall s | networks trained | s per network | test, final model | test @T | test @T/2 | "
        f"trials @T | wall time ratio |\n|{'---|' * 10}"
    )
    for name in args.datasets:

        def of(label: str, name: str = name) -> list[Search]:
            return [s for s in searches if s.data == name and s.search == label]

        # the references' wall time: over their searches that ended with a model
        reference = {
            label: mean([s.seconds for s in of(label) if s.test is not None]) for label in (KERAS_TUNER, AUTOKERAS)
        }
        for label in [*labels, AB_NO_TB]:
            rows = of(label)
            if not rows:
                continue
            at = [s.pick(budgets[(name, s.seed)]) for s in rows]
            half = [s.pick(budgets[(name, s.seed)] / 2) for s in rows]
            seconds = mean([s.seconds for s in rows])
            ratios = []
            if label.startswith("archbuilder") and seconds:
                ratios = [f"{seconds / ref:.2f}x {other}" for other, ref in reference.items() if ref]
            racing_here = label in RACE
            raised = sum(s.test is None for s in rows)
            shown = f"{label} ({raised} of {len(rows)} raised)" if raised else label
            networks = mean([float(s.trials - s.failed) for s in rows])
            per_network = mean([s.seconds / (s.trials - s.failed) for s in rows if s.trials > s.failed])
            print(
                f"| {name} | {shown} | {seconds:.1f} | {fmt(networks, 1)} | {fmt(per_network, 1)} | "
                f"{fmt(mean([s.test for s in rows]))} | "
                f"{fmt(mean([a.test if a else None for a in at])) if racing_here else ''} | "
                f"{fmt(mean([h.test if h else None for h in half])) if racing_here else ''} | "
                f"{fmt(mean([float(s.trials_by(budgets[(name, s.seed)])) for s in rows]), 1) if racing_here else ''} | "
                f"{', '.join(ratios)} |"
            )
        ours, without = of(AB_RANDOM), of(AB_NO_TB)
        if ours and without:
            cost = mean([s.seconds for s in ours]) - mean([s.seconds for s in without])  # type: ignore[operator]
            print(
                f"| {name} | TensorBoard logging | {cost:+.1f} s per search "
                f"({cost / mean([s.seconds for s in without]) * 100:+.1f}%) |  |  |  |  |  |  |  |"
            )  # type: ignore[operator]
    per_seed_wins = []
    for name in args.datasets:
        for seed in args.seeds:
            here = {s.search: s for s in searches if s.data == name and s.seed == seed}
            budget = budgets.get((name, seed), 0.0)
            for ours in (AB_RANDOM, AB_EVOLUTION):
                for other in (KERAS_TUNER, AUTOKERAS):
                    if ours in here and other in here:
                        a, b = here[ours].pick(budget), here[other].pick(budget)
                        a_test, b_test = (a.test if a else None), (b.test if b else None)
                        per_seed_wins.append(
                            (name, ours, other, a_test is not None and (b_test is None or a_test >= b_test))
                        )
    print("\nat equal wall time (T), seeds where archbuilder's test accuracy >= the other's:")
    for name in args.datasets:
        for ours in (AB_RANDOM, AB_EVOLUTION):
            for other in (KERAS_TUNER, AUTOKERAS):
                outcomes = [won for (n, o, r, won) in per_seed_wins if n == name and o == ours and r == other]
                if outcomes:
                    print(f"  {name}: {ours} vs {other}: {sum(outcomes)} of {len(outcomes)}")
    for problem in problems:
        print(f"note: {problem}")
    if searches:
        shares = [s.others * 100 for s in searches]
        print(
            f"\nother processes used {statistics.fmean(shares):.0f}% of the machine's CPU time during the searches on "
            f"average (at most {max(shares):.0f}% during one)"
        )
    print(
        f"\nwhole run {time.perf_counter() - started:.0f} s; load average at end "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()

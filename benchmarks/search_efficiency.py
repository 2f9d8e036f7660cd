"""Search efficiency: ``archbuilder search`` against plain KerasTuner on the same budget.

Both search the same pattern-form space ([(CONV-RELU)*N - POOL]*M - (FC-RELU)*K - SOFTMAX with N, M,
K, the FC width, kernel, padding, filter progression and learning rate searched) with random
search, the same number of trials and epochs per trial, the same seed, data and validation split,
in the same process. archbuilder's side is ``archbuilder.search.run`` on the space in
``archbuilder/search/spaces/pattern.yaml`` (inputs adjusted per dataset). KerasTuner's side is
``keras_tuner.RandomSearch`` over a hand-written ``build(hp)`` of the same network, written the
way a user would: nothing stops a combination that does not fit the input (Keras raises while
building), its parameter budget is KerasTuner's own ``max_model_size`` (checked after building),
and it cannot see MACs before training.

Wasted trials are trials that give no admissible result: failed (the model did not build, or was
over ``max_model_size``), or trained although over the MACs budget. KerasTuner stops a search
after 3 failed trials in a row by default; to spend the same budget it runs here with that limit
off, and the table says how often the default would have stopped it. Best accuracy is the best
validation accuracy of an admissible trial. A third row, KerasTuner*, runs KerasTuner until it has
as many admissible trials as archbuilder trained (the same useful work), which is the fair wall
time comparison: on the same trial count KerasTuner trains fewer networks, since its wasted
trials are mostly cheap build failures. Targets: zero wasted trials, accuracy at least equal, wall
time lower.

    python benchmarks/search_efficiency.py                        # digits (8x8) and shapes (32x32)
    python benchmarks/search_efficiency.py --datasets digits --trials 12 --epochs 3 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402

from archbuilder.search import load_space, run  # noqa: E402
from archbuilder.search.screening import Candidate, examine  # noqa: E402
from archbuilder.train.data import load_dataset, split_validation  # noqa: E402

# Per dataset: input shape, the largest M, and the budgets (params, MACs).
DATASETS: dict[str, dict[str, Any]] = {
    "digits": {"shape": [8, 8, 1], "max_m": 4, "max_params": 150_000, "max_macs": 2_000_000, "data": "digits"},
    "shapes": {"shape": [32, 32, 3], "max_m": 6, "max_params": 150_000, "max_macs": 12_000_000, "data": "shapes:2000"},
}
BATCH_SIZE = 64


@dataclass
class Outcome:
    search: str
    trials: int
    failed: int
    over_budget: int
    best: float | None
    seconds: float
    stops: int = 0  # times KerasTuner's default (3 failures in a row) would have stopped the search
    rejected: int = 0  # archbuilder: candidates rejected before building (no trial spent)

    @property
    def wasted(self) -> int:
        return self.failed + self.over_budget


def archbuilder_space(name: str, seed: int, trials: int, epochs: int) -> Any:
    spec = DATASETS[name]
    space = load_space("pattern", max_trials=trials, epochs=epochs, seed=seed, data=spec["data"])
    raw = dict(space.raw)
    raw["input"] = {"shape": spec["shape"]}
    raw["pattern"] = {**raw["pattern"], "M": {"int": [1, spec["max_m"]]}}
    raw["search"] = {
        **raw["search"],
        "max_trials": trials,
        "epochs": epochs,
        "seed": seed,
        "data": spec["data"],
        "budgets": {"max_params": spec["max_params"], "max_macs": spec["max_macs"]},
    }
    return load_space(raw)


def run_archbuilder(name: str, seed: int, trials: int, epochs: int, folder: Path) -> Outcome:
    space = archbuilder_space(name, seed, trials, epochs)
    started = time.perf_counter()
    result = run(space, output=folder, progress=False)
    seconds = time.perf_counter() - started
    accuracies = [t.metrics["val_accuracy"] for t in result.trials if t.completed]
    failed = sum(not t.completed for t in result.trials)
    over = sum(1 for t in result.trials if t.completed and t.costs["macs"] > DATASETS[name]["max_macs"])
    return Outcome(
        "archbuilder",
        len(result.trials),
        failed,
        over,
        max(accuracies, default=None),
        seconds,
        rejected=sum(result.rejected.values()),
    )


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


def as_space_values(values: dict[str, Any]) -> dict[str, Any]:
    """KerasTuner's names -> the archbuilder space's (to measure the MACs of what KerasTuner trained)."""
    names = {
        "kernel_size": "pattern.conv.kernel_size",
        "padding": "pattern.conv.padding",
        "N": "pattern.N",
        "M": "pattern.M",
        "K": "pattern.K",
        "fc": "pattern.fc",
        "filters_start": "pattern.filters.start",
        "growth": "pattern.filters.growth",
        "learning_rate": "training.optimizer.learning_rate",
    }
    return {names[key]: value for key, value in values.items() if key in names}


class UntilAdmissible(kt.RandomSearch):
    """RandomSearch that stops once ``target`` trials gave admissible results (the same useful work)."""

    def __init__(self, *args: Any, space: Any, target: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.space, self.target = space, target

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)
        if self.target is not None and admissible(self.space, self.oracle) >= self.target:
            self.oracle.max_trials = len(self.oracle.trials)


def admissible(space: Any, oracle: Any) -> int:
    return sum(
        1
        for t in oracle.trials.values()
        if t.status == "COMPLETED" and isinstance(examine(space, as_space_values(t.hyperparameters.values)), Candidate)
    )


def run_keras_tuner(
    name: str, seed: int, trials: int, epochs: int, folder: Path, *, until_admissible: bool = False
) -> Outcome:
    spec = DATASETS[name]
    dataset = load_dataset(spec["data"], input_shape=tuple(spec["shape"]), classes=10, seed=seed)
    dataset = split_validation(dataset, 0.1, seed)  # the split archbuilder's recipe makes (validation_split 0.1)
    space = archbuilder_space(name, seed, trials, epochs)
    tuner = UntilAdmissible(
        hand_written_build(spec["shape"], spec["max_m"]),
        objective="val_accuracy",
        max_trials=trials * 5 if until_admissible else trials,
        seed=seed + 1,
        max_model_size=spec["max_params"],
        max_consecutive_failed_trials=None,
        directory=str(folder),
        project_name="kt",
        overwrite=True,
        space=space,
        target=trials if until_admissible else None,
    )
    started = time.perf_counter()
    tuner.search(
        dataset.train.x,
        dataset.train.y,
        validation_data=(dataset.validation.x, dataset.validation.y),
        epochs=epochs,
        batch_size=BATCH_SIZE,
        verbose=0,
    )
    seconds = time.perf_counter() - started
    ordered = [tuner.oracle.trials[i] for i in tuner.oracle.end_order]
    failed = sum(t.status != "COMPLETED" for t in ordered)
    over, accuracies = 0, []
    for trial in ordered:
        if trial.status != "COMPLETED":
            continue
        verdict = examine(space, as_space_values(trial.hyperparameters.values))
        if isinstance(verdict, Candidate):
            accuracies.append(trial.score)
        else:
            over += 1
    streak, stops = 0, 0
    for trial in ordered:
        streak = streak + 1 if trial.status != "COMPLETED" else 0
        if streak == 3:
            stops += 1
    return Outcome(
        "KerasTuner*" if until_admissible else "KerasTuner",
        len(ordered),
        failed,
        over,
        max(accuracies, default=None),
        seconds,
        stops=stops,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=["digits", "shapes"])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}; keras {keras.__version__} "
        f"({keras.backend.backend()}), keras-tuner {kt.__version__}"
    )
    print(f"budget per search: {args.trials} trials x {args.epochs} epochs; seeds {args.seeds}\n")
    header = (
        f"{'data':8} {'seed':>4} {'search':12} {'trials':>6} {'wasted':>7} {'(failed/over MACs)':>18} "
        f"{'best val_acc':>12} {'wall s':>8}  notes"
    )
    print(header)
    print("-" * len(header))
    totals: dict[tuple[str, str], list[Outcome]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="search_efficiency_"))
    try:
        for name in args.datasets:
            for seed in args.seeds:
                for label in ("archbuilder", "KerasTuner", "KerasTuner*"):
                    keras.backend.clear_session()
                    folder = scratch / f"{name}_{seed}_{label.strip('*')}{'_until' if '*' in label else ''}"
                    if label == "archbuilder":
                        outcome = run_archbuilder(name, seed, args.trials, args.epochs, folder)
                    else:
                        outcome = run_keras_tuner(
                            name, seed, args.trials, args.epochs, folder, until_admissible=label.endswith("*")
                        )
                    totals.setdefault((name, label), []).append(outcome)
                    notes = (
                        f"{outcome.rejected} candidates rejected before building"
                        if label == "archbuilder"
                        else f"default limit would have stopped it {outcome.stops}x"
                        + (f"; ran until {args.trials} admissible trials" if label.endswith("*") else "")
                    )
                    best = "-" if outcome.best is None else f"{outcome.best:.4f}"
                    print(
                        f"{name:8} {seed:>4} {label:12} {outcome.trials:>6} {outcome.wasted:>7} "
                        f"{f'{outcome.failed}/{outcome.over_budget}':>18} {best:>12} {outcome.seconds:>8.1f}  {notes}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        "\nmeans over seeds (archbuilder vs KerasTuner on the same trials; KerasTuner* until as many admissible trials)"
    )

    def mean(outcomes: list[Outcome], field: str) -> float:
        values = [getattr(o, field) for o in outcomes if getattr(o, field) is not None]
        return statistics.fmean(values) if values else float("nan")

    for name in args.datasets:
        ours, theirs, until = (totals[(name, label)] for label in ("archbuilder", "KerasTuner", "KerasTuner*"))
        print(
            f"{name}: wasted trials {mean(ours, 'wasted'):.1f} vs {mean(theirs, 'wasted'):.1f} "
            f"(KerasTuner* {mean(until, 'wasted'):.1f} of {mean(until, 'trials'):.1f}); best val_accuracy "
            f"{mean(ours, 'best'):.4f} vs {mean(theirs, 'best'):.4f} (KerasTuner* {mean(until, 'best'):.4f}); "
            f"wall time {mean(ours, 'seconds'):.1f} s vs {mean(theirs, 'seconds'):.1f} s "
            f"({mean(ours, 'seconds') / mean(theirs, 'seconds'):.2f}x; KerasTuner* {mean(until, 'seconds'):.1f} s, "
            f"{mean(ours, 'seconds') / mean(until, 'seconds'):.2f}x)"
        )


if __name__ == "__main__":
    main()

"""Make a search table: every distinct network of a space trained with several seeds, epoch by epoch.

A tabular benchmark in the manner of NAS-Bench-101/201 and HPO-B, for archbuilder's own spaces:
the space's grid is enumerated and screened exactly as a search screens its candidates (invalid,
misfitting and over-budget networks are rejected; values that resolve to the same network are one
network), and each distinct network is trained once per seed through the path a search trial
takes (``archbuilder.search.trial``: the candidate's blueprint with the trial recipe, built and
compiled by ``build_candidate``, fitted by ``fit_candidate`` on the search's data split). Per epoch
the table records training, validation and test loss and accuracy and the epoch's seconds
(training and validation; the test evaluation is outside the clock), and per run the seconds to
build and compile. ``benchmarks/replay.py`` then runs search strategies against the table instead
of training.

    .venv/bin/python benchmarks/make_table.py benchmarks/spaces/pattern_table.yaml --data digits
    .venv/bin/python benchmarks/make_table.py benchmarks/spaces/blocks_table.yaml --data shapes:1000 --input 12x12x1 \
        --set search.budgets.max_activation_memory=450000

The data split is fixed (the recipe's seed 0, as a search with ``seed: 0`` splits it); a run's seed
sets the initial weights and the shuffling. Runs go to ``TABLE.partial.jsonl`` as they finish (one
JSON line each), so a killed run resumes where it stopped when the same command is given again;
the compressed table (``benchmarks/tables/SPACE-DATA.json.gz``) is written atomically at the end,
with the space's source, the data, the recipe, the machine and the hours it took inside it.
Workers are processes, each with one TensorFlow thread (``--workers``, default: the CPU count).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TABLES = REPO / "benchmarks" / "tables"
FORMAT = 1
SPLIT_SEED = 0  # the data split of every run: a search with seed 0 splits the data this way
SERIES = ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "seconds")


# -- the networks of a space ---------------------------------------------------------------------


def parse_input(text: str | None) -> list[int] | None:
    """``12x12x1`` -> [12, 12, 1]."""
    if text is None:
        return None
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise SystemExit(f"--input: expected HEIGHTxWIDTHxCHANNELS such as 12x12x1. Received: {text!r}")
    return [int(p) for p in parts]


def table_space_source(
    space_path: str, input_shape: list[int] | None, data: str, settings: list[str] | None = None
) -> dict[str, Any]:
    """The space as a dict: its YAML, with the input shape, the data and ``--set PATH=VALUE`` items applied."""
    import yaml

    from archbuilder.blueprint.overrides import apply_overrides, as_overrides
    from archbuilder.search.loading import locate_space

    source = yaml.safe_load(locate_space(space_path).read_text(encoding="utf-8"))
    if input_shape is not None:
        source["input"] = {**source.get("input", {}), "shape": input_shape}
    source["search"] = {**source.get("search", {}), "data": data}
    overrides = {}
    for item in settings or []:
        path, equals, value = item.partition("=")
        if not equals:
            raise SystemExit(f"--set: expected PATH=VALUE such as search.budgets.max_macs=4500000. Received: {item!r}")
        overrides[path.strip()] = yaml.safe_load(value)
    return apply_overrides(source, as_overrides(overrides)) if overrides else source


def enumerate_networks(source: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every distinct network the screen admits, in grid order, and the count of rejections by reason."""
    from collections import Counter

    from archbuilder.search.loading import load_space
    from archbuilder.search.screening import Candidate, examine

    space = load_space(source)
    networks: dict[str, dict[str, Any]] = {}
    rejected: Counter[str] = Counter()
    combinations = 0
    for values in space.grid():
        combinations += 1
        verdict = examine(space, values)
        if not isinstance(verdict, Candidate):
            rejected[verdict.reason] += 1
        elif verdict.key not in networks:
            networks[verdict.key] = {"key": verdict.key, "values": verdict.values, **verdict.costs}
    counts = {"combinations": combinations, "duplicates": combinations - len(networks) - sum(rejected.values())}
    counts.update(rejected)
    return list(networks.values()), counts


# -- one run, in a worker process ------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(source: dict[str, Any], epochs: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    from archbuilder.search.loading import load_space
    from archbuilder.search.trial import DataCache

    keras.utils.disable_interactive_logging()
    space = load_space(source)
    _WORKER.update(space=space, cache=DataCache(space.settings.data or "digits"), epochs=epochs)


def train_network(values: dict[str, Any], seed: int, epochs: int, space: Any, cache: Any) -> dict[str, Any]:
    """Train one network for ``epochs`` with ``seed``; per epoch its metrics and seconds.

    The trial path of a search: the screened candidate's blueprint with the trial recipe (the
    space's batch size, ``epochs``, the split seed and data), ``build_candidate``, ``fit_candidate``.
    A NaN loss ends the run early (status ``nan``, like a failed trial).
    """
    import keras

    from archbuilder.search.screening import Candidate, examine
    from archbuilder.search.trial import (
        TrialFailure,
        build_candidate,
        evaluate_candidate,
        fit_candidate,
        steps_per_epoch,
    )
    from archbuilder.training.recipe import effective_recipe

    candidate = examine(space, values)
    assert isinstance(candidate, Candidate), candidate
    recipe = effective_recipe(
        candidate.blueprint.training,
        epochs=epochs,
        batch_size=space.settings.batch_size,
        seed=SPLIT_SEED,
        data=space.settings.data,
    )
    blueprint = candidate.blueprint.model_copy(update={"training": recipe})
    dataset = cache.get(blueprint, recipe)
    record: dict[str, Any] = {name: [] for name in SERIES}
    test_batch = len(dataset.test) if dataset.test is not None else 1  # one step, one trace

    class EpochRecorder(keras.callbacks.Callback):
        """Seconds of each epoch (training and validation), then the test split, off the clock."""

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            record["seconds"].append(round(time.perf_counter() - self.started, 4))
            test = evaluate_candidate(self.model, blueprint, dataset, batch_size=test_batch) or {}
            record["test_loss"].append(_round(test.get("loss")))
            record["test_accuracy"].append(_round(test.get("accuracy")))

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    model = build_candidate(blueprint, steps_per_epoch(dataset, recipe.batch_size), jit_compile=False)
    setup = time.perf_counter() - started
    status = "ok"
    try:
        history = fit_candidate(
            model,
            blueprint,
            dataset,
            epochs=epochs,
            batch_size=recipe.batch_size,
            seed=seed,
            callbacks=[EpochRecorder()],
        ).history
    except TrialFailure as failure:
        status, history = failure.status, {}
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        record[name] = [_round(v) for v in history.get(name, [])]
    keras.backend.clear_session()
    return {"status": status, "setup_seconds": round(setup, 4), **record}


def _round(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 5)


def _work(job: tuple[int, str, dict[str, Any], int]) -> tuple[int, str, int, dict[str, Any]]:
    index, key, values, seed = job
    run = train_network(values, seed, _WORKER["epochs"], _WORKER["space"], _WORKER["cache"])
    return index, key, seed, run


# -- the table file ------------------------------------------------------------------------------


def default_output(space_path: str, data: str) -> Path:
    stem = Path(space_path).stem if space_path.endswith((".yaml", ".yml")) else space_path
    return TABLES / f"{stem}-{data.replace(':', '')}.json.gz"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras
    import tensorflow as tf

    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }


def read_partial(path: Path, header: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    """The runs already done (a line cut by a kill is skipped); refuses a file made for another table."""
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if not path.exists():
        return done
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        first = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        first = None
    if first != {"header": header}:
        raise SystemExit(
            f"{path} holds runs of another table (other space, data, input, seeds or epochs). "
            "Move it away, or give the command it was started with."
        )
    for line in lines[1:]:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # the last line of a killed run
        if "key" in entry:
            done[(entry["key"], entry["seed"])] = entry["run"]
    return done


def wall_seconds(path: Path) -> float:
    """The time the table took over all its sessions: each session's start to its last finished run."""
    total, start, last = 0.0, None, None
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "session" in entry:
            total += (last - start) if start is not None and last is not None else 0.0
            start, last = entry["session"], None
        elif "t" in entry:
            last = entry["t"]
    return total + ((last - start) if start is not None and last is not None else 0.0)


def write_table(path: Path, table: dict[str, Any]) -> None:
    from archbuilder.artifacts import write_atomic

    text = json.dumps(table, separators=(",", ":"), sort_keys=False).encode()

    def write(temporary: Path) -> None:
        with gzip.GzipFile(temporary, "wb", mtime=0, compresslevel=9) as handle:
            handle.write(text)

    write_atomic(path, write)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("space", help="a space file (benchmarks/spaces/*.yaml) or a shipped space's name")
    parser.add_argument("--data", required=True, help="digits, shapes:N, ... (as --data of archbuilder train)")
    parser.add_argument("--input", help="the input shape for this data, HxWxC (default: the space's)")
    parser.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="change the space for this data (search.budgets.max_macs=4500000; repeatable)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="runs per network, seeds 0..N-1 (default 3)")
    parser.add_argument("--epochs", type=int, help="epochs of every run (default: the space's search.epochs)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: CPUs)")
    parser.add_argument("--limit", type=int, help="only the first N networks (a smoke run)")
    parser.add_argument(
        "-o", "--output", type=Path, help="the table file (default benchmarks/tables/SPACE-DATA.json.gz)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    from archbuilder.search.loading import load_space

    source = table_space_source(args.space, parse_input(args.input), args.data, args.set)
    space = load_space(source)
    epochs = args.epochs or space.settings.epochs
    networks, counts = enumerate_networks(source)
    if args.limit:
        networks = networks[: args.limit]
    seeds = list(range(args.seeds))
    output = args.output or default_output(args.space, args.data)
    header = {"space": source, "data": args.data, "epochs": epochs, "seeds": seeds, "limit": args.limit}
    partial = output.with_name(output.name.removesuffix(".json.gz") + ".partial.jsonl")
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists() and not partial.exists():
        print(f"{output} is already made; nothing to do (move it away to make it again).", file=sys.stderr)
        return 0
    done = read_partial(partial, header)
    if not partial.exists():
        partial.write_text(json.dumps({"header": header}) + "\n", encoding="utf-8")
    with partial.open("a", encoding="utf-8") as log:
        log.write(json.dumps({"session": time.time()}) + "\n")
    jobs = [
        (index, network["key"], network["values"], seed)
        for index, network in enumerate(networks)
        for seed in seeds
        if (network["key"], seed) not in done
    ]
    total = len(networks) * len(seeds)
    print(
        f"{space.name} on {args.data}: {counts['combinations']} combinations, {len(networks)} distinct networks "
        f"({', '.join(f'{v} {k}' for k, v in counts.items() if k != 'combinations')}); "
        f"{total} runs of {epochs} epochs, {total - len(jobs)} already done; {args.workers} workers",
        file=sys.stderr,
    )
    if jobs:
        from tqdm import tqdm

        context = multiprocessing.get_context("spawn")
        with (
            context.Pool(
                args.workers, initializer=_init_worker, initargs=(source, epochs), maxtasksperchild=50
            ) as pool,
            partial.open("a", encoding="utf-8") as log,
            tqdm(total=total, initial=total - len(jobs), unit="run", disable=args.quiet, smoothing=0.05) as bar,
        ):
            for _, key, seed, run in pool.imap_unordered(_work, jobs):
                log.write(json.dumps({"key": key, "seed": seed, "t": time.time(), "run": run}) + "\n")
                log.flush()
                done[(key, seed)] = run
                bar.update()
    for network in networks:
        network["runs"] = [done[(network["key"], seed)] for seed in seeds]
    table = {
        "format": FORMAT,
        "space": space.name,
        "space_source": source,
        "data": args.data,
        "input": source["input"]["shape"],
        "recipe": {
            "batch_size": space.settings.batch_size or source.get("training", {}).get("batch_size", 32),
            "validation_split": source.get("training", {}).get("validation_split", 0.1),
            "split_seed": SPLIT_SEED,
            "epochs": epochs,
            "trial_path": "archbuilder.search.trial (build_candidate, fit_candidate)",
        },
        "seeds": seeds,
        "epochs": epochs,
        "series": list(SERIES),
        "screen": counts,
        "machine": machine(),
        "made": {
            "command": " ".join(["python benchmarks/make_table.py", *(argv if argv is not None else sys.argv[1:])]),
            "workers": args.workers,
            "wall_seconds": round(wall_seconds(partial), 1),
            "training_seconds": round(
                sum(sum(r["seconds"]) + r["setup_seconds"] for n in networks for r in n["runs"]), 1
            ),
        },
        "networks": networks,
    }
    write_table(output, table)
    print(f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

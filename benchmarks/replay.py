"""Replay search strategies against a search table (``benchmarks/make_table.py``) instead of training.

Each strategy searches the table's space as it would search for real; when it asks for a trial the
table answers: the network its values resolve to (screened exactly as a search screens), one of the
table's training runs of it (drawn at random per trial, like a fresh training), the best validation
accuracy over the epochs the trial trains (a search scores a trial by its best epoch), and the
recorded seconds as the trial's cost. A Hyperband promotion continues the run its earlier trial
drew, paying the epochs it adds and building and tracing the model again (the first epoch's
seconds beyond the second's).

Strategies (``--strategy NAME`` or ``all``):

* ``archbuilder-random``, ``-grid``, ``-bayesian``, ``-hyperband``, ``-evolution``: archbuilder's own
  oracles, built by ``archbuilder.search.oracle_factory.create_oracle`` from the table's space with
  ``tuner`` and ``seed`` set, unchanged (only their state files are not written).
* ``kerastuner-random``, ``-bayesian``, ``-hyperband``: KerasTuner's ``RandomSearch``,
  ``BayesianOptimization`` and ``Hyperband`` oracles over the same choices written as a KerasTuner
  user writes them: every value declared flat in ``build(hp)`` (no conditional scopes), nothing
  checked before building. A combination that does not fit or is over the budget fails the way
  Keras or ``max_model_size`` fails it (a failed trial, no training time charged), values that
  differ only where they have no effect are trained again, and the stop-after-3-failures limit is
  off so that the search spends its budget.
* ``optuna-tpe`` (Optuna's default sampler, ``TPESampler``) and ``optuna-tpe-multivariate``
  (``TPESampler(multivariate=True, group=True)``, Optuna's advice for conditional spaces), through
  ask-and-tell, define-by-run: only the active values are suggested. Rejected combinations are
  told as failed trials; duplicates are trained again.

A search's answer at a budget is the trial with the best score among those that ended within it;
the network is judged by its test accuracy at the epoch that trial kept (the mean of the table's
seeds there). Regret is the table's best (the highest mean test accuracy of any network at any
epoch) minus that. Budgets are counted in trials: one trial is the table's mean cost of training a
network for all its epochs, so a strategy that picks small networks or stops trials early fits more
of them in the same budget.

    .venv/bin/python benchmarks/replay.py --table benchmarks/tables/pattern_table-digits.json.gz --describe --json
    .venv/bin/python benchmarks/replay.py --table T --strategy archbuilder-evolution --seeds 50 --json
    .venv/bin/python benchmarks/replay.py --table T --strategy all --seeds 200 --bayesian-seeds 20 --json \
        --figure docs/figures/replay-T.png --markdown /tmp/replay-T.md --ledgers /tmp/replay-T.jsonl
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import json
import logging
import math
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BUDGETS = (10, 25, 50, 100)  # in trials, plus 25% of the table
ARCHBUILDER = ("random", "grid", "bayesian", "hyperband", "evolution")
KERASTUNER = ("random", "bayesian", "hyperband")
OPTUNA = ("tpe", "tpe-multivariate")
STRATEGIES = (
    [f"archbuilder-{name}" for name in ARCHBUILDER]
    + [f"kerastuner-{name}" for name in KERASTUNER]
    + [f"optuna-{name}" for name in OPTUNA]
)
MAX_TRIALS = 100_000  # the budget stops a replay, not max_trials


# -- the table ----------------------------------------------------------------------------------


@dataclass
class Network:
    """One network of the table: its values, costs and one run per seed (per-epoch series)."""

    key: str
    values: dict[str, Any]
    params: int
    macs: int
    runs: list[dict[str, Any]]
    mean_test: list[float] = field(default_factory=list)  # per epoch, over the seeds

    def __post_init__(self) -> None:
        epochs = max(len(run["test_accuracy"]) for run in self.runs)
        self.mean_test = []
        for epoch in range(epochs):
            values = [r["test_accuracy"][epoch] for r in self.runs if epoch < len(r["test_accuracy"])]
            finite = [v for v in values if v is not None]
            self.mean_test.append(sum(finite) / len(finite) if finite else 0.0)

    @property
    def best_test(self) -> float:
        return max(self.mean_test, default=0.0)


class Table:
    """A search table: its networks by key, its space (to screen a strategy's values) and its units."""

    def __init__(self, path: Path) -> None:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            self.raw = json.load(handle)
        self.path = path
        self.epochs: int = self.raw["epochs"]
        self.seeds: list[int] = self.raw["seeds"]
        self.networks = [
            Network(n["key"], n["values"], n["params"], n["macs"], n["runs"]) for n in self.raw["networks"]
        ]
        self.by_key = {n.key: n for n in self.networks}
        self.best = max(n.best_test for n in self.networks)
        ranked = sorted(self.networks, key=lambda n: n.best_test, reverse=True)
        self.top1 = {n.key for n in ranked[: max(1, math.ceil(len(ranked) / 100))]}
        full = [statistics.fmean(r["setup_seconds"] + sum(r["seconds"]) for r in n.runs) for n in self.networks]
        self.trial_seconds = statistics.fmean(full)  # one trial: the mean cost of a full training
        self._space: Any = None
        self._verdicts: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".json.gz")

    def space(self, **settings: Any) -> Any:
        from archbuilder.search.loading import load_space

        if self._space is None:
            self._space = load_space(self.raw["space_source"])
        return self._space.with_settings(**settings)

    def lookup(self, values: dict[str, Any]) -> Network | None:
        """The network ``values`` resolve to, or ``None`` when the screen rejects them."""
        from archbuilder.search.screening import Candidate, examine

        cache_key = json.dumps(values, sort_keys=True, default=str)
        if cache_key not in self._verdicts:
            verdict = examine(self.space(), values)
            self._verdicts[cache_key] = self.by_key.get(verdict.key) if isinstance(verdict, Candidate) else None
            if isinstance(verdict, Candidate) and verdict.key not in self.by_key:
                raise KeyError(f"{values} resolve to a network the table does not hold (a table of another space?)")
        return self._verdicts[cache_key]

    def describe(self) -> dict[str, Any]:
        made = self.raw.get("made", {})
        return {
            "table": str(self.path),
            "space": self.raw["space"],
            "data": self.raw["data"],
            "input": self.raw.get("input"),
            "networks": len(self.networks),
            "seeds": len(self.seeds),
            "epochs": self.epochs,
            "best_test_accuracy": round(self.best, 5),
            "median_test_accuracy": round(statistics.median(n.best_test for n in self.networks), 5),
            "trial_seconds": round(self.trial_seconds, 3),
            "screen": self.raw.get("screen"),
            "wall_hours": round(made.get("wall_seconds", 0.0) / 3600, 2),
            "machine": self.raw.get("machine"),
        }


# -- one replayed search ------------------------------------------------------------------------


@dataclass
class Ledger:
    """What a replayed search did: per trial its cumulative cost (seconds), score and judged test accuracy."""

    costs: list[float] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    tests: list[float] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    spent: float = 0.0
    _running: list[tuple[float, str | None]] = field(default_factory=list, repr=False)

    def add(self, cost: float, score: float | None, test: float, key: str | None) -> None:
        self.spent += cost
        self.costs.append(self.spent)
        self.scores.append(score)
        self.tests.append(test)
        self.keys.append(key)

    def answer(self, budget: float) -> tuple[float, str | None]:
        """The judged test accuracy and key of the best-scored trial ended within ``budget`` seconds."""
        if len(self._running) != len(self.costs):
            self._running, best, answer = [], -math.inf, (0.0, None)
            for score, test, key in zip(self.scores, self.tests, self.keys, strict=True):
                if score is not None and score > best:
                    best, answer = score, (test, key)
                self._running.append(answer)
        index = bisect.bisect_right(self.costs, budget)
        return self._running[index - 1] if index else (0.0, None)


def run_trial(network: Network, run: int, initial_epoch: int, epochs: int) -> tuple[float | None, float, float]:
    """Score (best validation accuracy of the epochs trained), judged test accuracy and cost of one trial."""
    series = network.runs[run]
    validation = series["val_accuracy"][initial_epoch:epochs]
    seconds = series["seconds"]
    cost = series["setup_seconds"] + sum(seconds[initial_epoch:epochs])
    if initial_epoch and len(seconds) > 1:  # a continued trial is built and traced again
        cost += max(0.0, seconds[0] - seconds[1])
    finite = [(v, i) for i, v in enumerate(validation) if v is not None]
    if series["status"] != "ok" and len(series["val_accuracy"]) < epochs or not finite:
        return None, 0.0, cost  # the loss became NaN: a failed trial
    score, index = max(finite, key=lambda item: (item[0], -item[1]))
    return score, network.mean_test[initial_epoch + index], cost


def drive_oracle(oracle: Any, table: Table, rng: random.Random, budget: float, active: Any) -> Ledger:
    """Run a KerasTuner oracle against the table until ``budget`` seconds are spent or it stops."""
    ledger = Ledger()
    runs: dict[str, int] = {}  # trial id -> the run it drew (a Hyperband promotion continues it)
    while ledger.spent < budget:
        trial = oracle.create_trial("replay")
        if trial.status != "RUNNING":
            break
        values = trial.hyperparameters.values
        space_values = active({k: v for k, v in values.items() if not k.startswith("tuner/")})
        network = table.lookup(space_values)
        if network is None:
            trial.status = "FAILED"
            oracle.end_trial(trial)
            ledger.add(0.0, None, 0.0, None)
            continue
        parent = values.get("tuner/trial_id")
        run = runs[parent] if parent in runs else rng.randrange(len(network.runs))
        runs[trial.trial_id] = run
        epochs = int(values.get("tuner/epochs", table.epochs))
        initial = int(values.get("tuner/initial_epoch", 0))
        score, test, cost = run_trial(network, run, initial, epochs)
        if score is None:
            trial.status = "FAILED"
        else:
            oracle.update_trial(trial.trial_id, {"val_accuracy": score}, step=epochs)
            trial.status = "COMPLETED"
        oracle.end_trial(trial)
        ledger.add(cost, score, test, network.key)
    return ledger


def _quiet(oracle: Any, folder: str) -> Any:
    """No state files (a replay is never resumed) and no KerasTuner display."""
    oracle._set_project_dir(folder, "replay")
    oracle._save_trial = lambda trial: None
    oracle.save = lambda: None
    oracle._display.verbose = 0
    return oracle


def replay_archbuilder(table: Table, tuner: str, seed: int, budget: float, folder: str) -> Ledger:
    import keras_tuner as kt

    from archbuilder.search.oracle_factory import create_oracle
    from archbuilder.search.oracles import declare_hyperparameters

    space = table.space(tuner=tuner, seed=seed, max_trials=MAX_TRIALS, epochs=table.epochs)
    oracle = _quiet(create_oracle(space), folder)
    hp = kt.HyperParameters()
    declare_hyperparameters(space, hp)
    oracle.update_space(hp)
    return drive_oracle(oracle, table, random.Random(seed), budget, lambda values: values)


def _active(space: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The values of a flat declaration that the space's conditions make active."""
    active: dict[str, Any] = {}
    for parameter in space.parameters:
        if parameter.active(active) and parameter.name in values:
            active[parameter.name] = values[parameter.name]
    return active


def kerastuner_hyperparameters(space: Any) -> Any:
    """The space as a KerasTuner user declares it in ``build(hp)``: every value, flat, no conditions."""
    import keras_tuner as kt

    from archbuilder.search.parameters import BoolParameter, ChoiceParameter, IntParameter

    hp = kt.HyperParameters()
    for p in space.parameters:
        if isinstance(p, ChoiceParameter):
            hp.Choice(p.name, list(p.labels))
        elif isinstance(p, BoolParameter):
            hp.Boolean(p.name)
        else:
            declare = hp.Int if isinstance(p, IntParameter) else hp.Float
            declare(p.name, p.low, p.high, step=p.step, sampling="log" if p.log else "linear")
    return hp


def replay_kerastuner(table: Table, kind: str, seed: int, budget: float, folder: str) -> Ledger:
    import keras_tuner as kt

    space = table.space()
    common = {
        "objective": kt.Objective("val_accuracy", "max"),
        "seed": seed + 1,
        "max_consecutive_failed_trials": None,
    }
    if kind == "random":
        oracle = kt.oracles.RandomSearchOracle(max_trials=MAX_TRIALS, **common)
    elif kind == "bayesian":
        oracle = kt.oracles.BayesianOptimizationOracle(max_trials=MAX_TRIALS, **common)
    else:
        # A user who gives Hyperband a budget sets enough iterations to spend it (the default is one).
        oracle = kt.oracles.HyperbandOracle(max_epochs=table.epochs, factor=3, hyperband_iterations=10**6, **common)
    _quiet(oracle, folder)
    oracle.update_space(kerastuner_hyperparameters(space))
    return drive_oracle(oracle, table, random.Random(seed), budget, lambda values: _active(space, values))


def replay_optuna(table: Table, kind: str, seed: int, budget: float) -> Ledger:
    import optuna

    from archbuilder.search.parameters import BoolParameter, ChoiceParameter, IntParameter

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    space = table.space()
    if kind == "tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    rng, ledger = random.Random(seed), Ledger()
    while ledger.spent < budget:
        trial = study.ask()
        values: dict[str, Any] = {}
        for p in space.parameters:
            if not p.active(values):
                continue
            if isinstance(p, ChoiceParameter):
                values[p.name] = trial.suggest_categorical(p.name, list(p.labels))
            elif isinstance(p, BoolParameter):
                values[p.name] = trial.suggest_categorical(p.name, [False, True])
            elif isinstance(p, IntParameter):
                values[p.name] = trial.suggest_int(p.name, p.low, p.high, step=1 if p.log else p.step or 1, log=p.log)
            else:
                values[p.name] = trial.suggest_float(p.name, p.low, p.high, step=None if p.log else p.step, log=p.log)
        network = table.lookup(values)
        if network is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            ledger.add(0.0, None, 0.0, None)
            continue
        score, test, cost = run_trial(network, rng.randrange(len(network.runs)), 0, table.epochs)
        if score is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, score)
        ledger.add(cost, score, test, network.key)
    return ledger


def replay(table: Table, strategy: str, seed: int, budget: float) -> Ledger:
    """One replayed search of ``strategy`` with ``seed`` until ``budget`` seconds are spent."""
    family, _, kind = strategy.partition("-")
    with tempfile.TemporaryDirectory() as folder:
        if family == "archbuilder":
            return replay_archbuilder(table, kind, seed, budget, folder)
        if family == "kerastuner":
            return replay_kerastuner(table, kind, seed, budget, folder)
        if family == "optuna":
            return replay_optuna(table, kind, seed, budget)
    raise SystemExit(f"unknown strategy {strategy!r}; choose from: {', '.join(STRATEGIES)} or all")


# -- many seeds, in processes -------------------------------------------------------------------

_TABLE: dict[str, Table] = {}


def _init(path: str) -> None:
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    try:  # the Bayesian oracles' Gaussian process predicts ~1,000 times per trial; skip sklearn's input checks
        import sklearn

        sklearn.set_config(assume_finite=True, skip_parameter_validation=True)
    except ImportError:
        pass
    _TABLE["table"] = Table(Path(path))


def _replay_job(job: tuple[str, int, float]) -> tuple[str, int, dict[str, list[Any]]]:
    strategy, seed, budget = job
    ledger = replay(_TABLE["table"], strategy, seed, budget)
    return strategy, seed, {"costs": ledger.costs, "scores": ledger.scores, "tests": ledger.tests, "keys": ledger.keys}


def to_ledger(record: dict[str, list[Any]]) -> Ledger:
    ledger = Ledger(record["costs"], record["scores"], record["tests"], record["keys"])
    ledger.spent = ledger.costs[-1] if ledger.costs else 0.0
    return ledger


def _ledger_header(table: Table, budget: float) -> dict[str, Any]:
    return {"table": table.name, "networks": len(table.networks), "budget": round(budget, 6)}


def read_ledgers(path: Path, table: Table, budget: float) -> dict[tuple[str, int], dict[str, list[Any]]]:
    """The replays a ``--ledgers`` file kept from earlier runs of the same table and budget (a line cut by a
    kill is skipped); a file of another table or budget is refused, untouched."""
    if not path.exists():
        return {}
    kept: dict[tuple[str, int], dict[str, list[Any]]] = {}
    with path.open(encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    if lines:
        header = json.loads(lines[0])
        if header != _ledger_header(table, budget):
            raise SystemExit(
                f"--ledgers {path}: holds the replays of {header}, not of {_ledger_header(table, budget)}; "
                "give another file."
            )
    for line in lines[1:]:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        kept[(entry["strategy"], int(entry["seed"]))] = entry["record"]
    return kept


def append_ledger(
    path: Path, table: Table, budget: float, strategy: str, seed: int, record: dict[str, list[Any]]
) -> None:
    """One finished replay as a line of ``path`` (the header first), flushed to disk at once."""
    new = not path.exists() or path.stat().st_size == 0
    if not new:
        with path.open("rb") as existing:
            existing.seek(-1, os.SEEK_END)
            cut = existing.read(1) != b"\n"  # a line cut by a kill: the next line starts on its own
    with path.open("a", encoding="utf-8") as handle:
        if new:
            handle.write(json.dumps(_ledger_header(table, budget)) + "\n")
        elif cut:
            handle.write("\n")
        handle.write(json.dumps({"strategy": strategy, "seed": seed, "record": record}) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def budgets_in_trials(table: Table) -> dict[str, float]:
    budgets = {str(b): float(b) for b in BUDGETS}
    budgets["25%"] = len(table.networks) / 4
    return budgets


def summarize(table: Table, ledgers: dict[str, dict[int, Ledger]]) -> dict[str, Any]:
    """Median and quartile regret at each budget, the cost to a top-1% network, win rates, curves."""
    budgets = budgets_in_trials(table)
    grid = [round(x, 3) for x in (0.5 * 1.05**i for i in range(200)) if x <= max(budgets.values()) * 1.0001]
    grid.append(max(budgets.values()))
    out: dict[str, Any] = {}
    for strategy, by_seed in ledgers.items():
        regrets = {
            name: [table.best - by_seed[s].answer(b * table.trial_seconds)[0] for s in sorted(by_seed)]
            for name, b in budgets.items()
        }
        to_top: list[float] = []
        for ledger in by_seed.values():
            reached = math.inf
            for cost, _ in zip(ledger.costs, ledger.keys, strict=True):
                if ledger.answer(cost)[1] in table.top1:
                    reached = cost / table.trial_seconds
                    break
            to_top.append(reached)
        curve = []
        for b in grid:
            values = sorted(table.best - ledger.answer(b * table.trial_seconds)[0] for ledger in by_seed.values())
            curve.append([b, *_quartiles(values)])
        out[strategy] = {
            "median_regret": {name: round(statistics.median(v), 5) for name, v in regrets.items()},
            "quartiles": {name: [round(q, 5) for q in _quartiles(sorted(v))[::2]] for name, v in regrets.items()},
            "trials_to_top1_median": _finite(statistics.median(to_top)),
            "reached_top1": round(sum(math.isfinite(t) for t in to_top) / len(to_top), 3),
            "seeds": len(by_seed),
            "trials_per_budget": round(
                statistics.fmean(
                    sum(1 for c in ledger.costs if c <= budgets["100"] * table.trial_seconds)
                    for ledger in by_seed.values()
                ),
                1,
            ),
            "regrets": regrets,
            "curve": curve,
        }
    return out


def _quartiles(values: list[float]) -> list[float]:
    if len(values) == 1:
        return [values[0]] * 3
    q = statistics.quantiles(values, n=4, method="inclusive")
    return [q[0], q[1], q[2]]


def _finite(value: float) -> float | None:
    return None if not math.isfinite(value) else round(value, 2)


def win_rates(summary: dict[str, Any], mine: str, budgets: list[str]) -> dict[str, dict[str, float]]:
    """Per peer and budget: the share of seeds where ``mine`` has the lower regret (ties count half)."""
    rates: dict[str, dict[str, float]] = {}
    for peer, entry in summary.items():
        if peer.startswith("archbuilder"):
            continue
        rates[peer] = {}
        for budget in budgets:
            pairs = zip(summary[mine]["regrets"][budget], entry["regrets"][budget], strict=False)  # shared seeds
            score = [1.0 if a < b - 1e-12 else 0.5 if abs(a - b) <= 1e-12 else 0.0 for a, b in pairs]
            rates[peer][budget] = round(sum(score) / len(score), 3)
    return rates


def default_tuner() -> str:
    from archbuilder.search.tuners import DEFAULT_TUNER

    return f"archbuilder-{DEFAULT_TUNER}"


def figure(table: Table, summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from archbuilder.artifacts import write_atomic

    fig, ax = plt.subplots(figsize=(9, 5.5))
    styles = {"archbuilder": "-", "kerastuner": "--", "optuna": ":"}
    for strategy, entry in summary.items():
        curve = entry["curve"]
        xs = [row[0] for row in curve]
        line = ax.plot(xs, [row[2] for row in curve], styles[strategy.split("-")[0]], label=strategy, linewidth=1.6)
        ax.fill_between(xs, [row[1] for row in curve], [row[3] for row in curve], color=line[0].get_color(), alpha=0.08)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_ylim(bottom=0)  # regret is never negative
    ax.set_xlabel(f"cost, in trials (1 trial = {table.trial_seconds:.1f} s: a network trained {table.epochs} epochs)")
    ax.set_ylabel("regret (test accuracy below the table's best)")
    counts = sorted({entry["seeds"] for entry in summary.values()}, reverse=True)
    seeds = f"{counts[0]} seeds" + (f" ({', '.join(map(str, counts[1:]))} for some)" if len(counts) > 1 else "")
    ax.set_title(
        f"{table.raw['space']} on {table.raw['data']}: {len(table.networks)} networks; "
        f"median and quartiles over {seeds}",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda temporary: fig.savefig(temporary, format="png", dpi=110))
    plt.close(fig)


def markdown(table: Table, result: dict[str, Any], budgets: list[str]) -> str:
    """The regret table (median [quartiles] per budget, trials to a top-1% network) and the win rates."""
    quarter = result["budgets_in_trials"]["25%"]
    header = [f"{b} trials" if b != "25%" else f"25% ({quarter:g} trials)" for b in budgets]
    lines = [
        "| strategy | seeds | " + " | ".join(header) + " | trials to a top-1% network (median) | reached it |",
        "|---|---:|" + "---:|" * len(budgets) + "---:|---:|",
    ]
    for name, entry in result["strategies"].items():
        cells = [
            f"{entry['median_regret'][b]:.4f} [{entry['quartiles'][b][0]:.4f}, {entry['quartiles'][b][1]:.4f}]"
            for b in budgets
        ]
        top = entry["trials_to_top1_median"]
        mark = " (default)" if name == result["default"] else ""
        lines.append(
            f"| {name}{mark} | {entry['seeds']} | "
            + " | ".join(cells)
            + f" | {'-' if top is None else f'{top:.1f}'} | {entry['reached_top1']:.0%} |"
        )
    best = result.get("best_archbuilder")
    if best:
        lines += ["", f"Win rate of {best} over each peer, paired by seed (ties count half):", ""]
        lines.append("| peer | " + " | ".join(header) + " |")
        lines.append("|---|" + "---:|" * len(budgets))
        for peer, rates in result["win_rate_of_best_archbuilder"].items():
            lines.append(f"| {peer} | " + " | ".join(f"{rates[b]:.0%}" for b in budgets) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--table", type=Path, required=True, help="a table made by benchmarks/make_table.py")
    parser.add_argument("--strategy", default="all", help=f"one of {', '.join(STRATEGIES)}, a comma list, or all")
    parser.add_argument("--seeds", type=int, default=200, help="replays per strategy (default 200)")
    parser.add_argument(
        "--bayesian-seeds",
        type=int,
        help="replays of the Bayesian strategies (their Gaussian process costs seconds per trial; default: --seeds)",
    )
    parser.add_argument("--describe", action="store_true", help="describe the table and stop")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--markdown", type=Path, help="also write the tables for docs/benchmarks.md to this file")
    parser.add_argument("--figure", type=Path, help="write the regret-vs-cost figure (PNG) here")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--ledgers",
        type=Path,
        help="keep every finished replay as a line of this JSONL file, and reuse the file's replays of the same "
        "table and budget: a killed or extended run (more seeds, more strategies) redoes nothing",
    )
    args = parser.parse_args(argv)
    if not args.table.exists():
        raise SystemExit(f"--table {args.table}: no such file. Make one with benchmarks/make_table.py.")
    table = Table(args.table)
    if args.describe:
        description = table.describe()
        print(
            json.dumps(description, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in description.items())
        )
        return 0
    strategies = list(STRATEGIES) if args.strategy == "all" else args.strategy.split(",")
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise SystemExit(f"--strategy {strategy!r}: choose from {', '.join(STRATEGIES)} or all")
    budget = max(budgets_in_trials(table).values()) * table.trial_seconds * 1.0001

    def seeds_of(strategy: str) -> int:
        return args.bayesian_seeds if strategy.endswith("bayesian") and args.bayesian_seeds else args.seeds

    jobs = [(strategy, seed, budget) for strategy in strategies for seed in range(seeds_of(strategy))]
    jobs.sort(key=lambda job: not job[0].endswith("bayesian"))  # the long ones first
    ledgers: dict[str, dict[int, Ledger]] = {strategy: {} for strategy in strategies}
    stored = read_ledgers(args.ledgers, table, budget) if args.ledgers else {}
    kept = {(job[0], job[1]): stored[(job[0], job[1])] for job in jobs if (job[0], job[1]) in stored}
    for (strategy, seed), record in kept.items():
        ledgers[strategy][seed] = to_ledger(record)
    jobs = [job for job in jobs if (job[0], job[1]) not in kept]
    if kept:
        print(f"{args.ledgers}: {len(kept)} replays kept from earlier runs; {len(jobs)} to run", file=sys.stderr)
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.workers, initializer=_init, initargs=(str(args.table),)) as pool:
        for done, (strategy, seed, record) in enumerate(pool.imap_unordered(_replay_job, jobs, chunksize=1), 1):
            ledgers[strategy][seed] = to_ledger(record)
            if args.ledgers:
                append_ledger(args.ledgers, table, budget, strategy, seed, record)
            if done % 50 == 0 or done == len(jobs):  # stderr: the JSON on stdout stays clean
                print(f"{done}/{len(jobs)} replays ({strategy} seed {seed} just ended)", file=sys.stderr, flush=True)
    summary = summarize(table, ledgers)
    budgets = list(budgets_in_trials(table))
    mine = [s for s in strategies if s.startswith("archbuilder")]
    best_mine = min(mine, key=lambda s: statistics.fmean(summary[s]["median_regret"].values())) if mine else None
    result: dict[str, Any] = {
        "table": table.describe(),
        "default": default_tuner(),
        "best_archbuilder": best_mine,
        "budgets_in_trials": budgets_in_trials(table),
        "strategies": {
            name: {k: v for k, v in entry.items() if k not in ("regrets", "curve")} for name, entry in summary.items()
        },
    }
    if best_mine is not None:
        result["win_rate_of_best_archbuilder"] = win_rates(summary, best_mine, budgets)
    if args.figure:
        figure(table, summary, args.figure)
    if args.markdown:
        from archbuilder.artifacts import write_text_atomic

        write_text_atomic(args.markdown, markdown(table, result, budgets) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{table.name}: {len(table.networks)} networks, best test accuracy {table.best:.4f}; "
            f"median regret at a budget of N trials"
        )
        print(f"{'strategy':28s}" + "".join(f"{b:>9s}" for b in budgets) + f"{'to top 1%':>11s}")
        for name, entry in result["strategies"].items():
            cells = "".join(f"{entry['median_regret'][b]:9.4f}" for b in budgets)
            top = entry["trials_to_top1_median"]
            print(f"{name:28s}{cells}{(f'{top:.1f}' if top is not None else '-'):>11s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

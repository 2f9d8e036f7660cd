"""The search tables and their replays, used as a user uses them: the scripts run in fresh processes (slow lane).

``make_table.py`` makes a small table, resumes it after a kill (a run already in the partial file is
not trained again), and ``replay.py`` replays every strategy, archbuilder's and the peers', on it.
The committed tables are checked by retraining a sample of their entries from scratch.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLES = REPO / "benchmarks" / "tables"
TINY_SPACE = """\
name: tiny_table
input: {shape: [8, 8, 1]}
pattern:
  conv: {kernel_size: 3, padding: same}
  N: {int: [1, 2]}
  M: 1
  K: 0
  filters: {start: 8, growth: 2.0}
  pool: {type: max_pool, pool_size: 2, strides: 2}
head: {classes: 10}
training: {optimizer: {type: adam, learning_rate: {choice: [0.003, 0.01]}}, batch_size: 64}
search: {objective: val_accuracy, epochs: 3, data: digits, budgets: {max_params: 150000}}
"""


def script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def read_table(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("table")
    (folder / "tiny.yaml").write_text(TINY_SPACE, encoding="utf-8")
    output = folder / "tiny-digits.json.gz"
    command = ["tiny.yaml", "--data", "digits", "--seeds", "2", "--workers", "2", "--quiet", "-o", str(output)]
    made = script("make_table.py", *command, cwd=folder)
    assert made.returncode == 0, made.stderr
    assert "4 combinations, 4 distinct networks" in made.stderr
    # As if killed before the last run ended: the partial file lacks one run and ends in a cut line.
    partial = folder / "tiny-digits.partial.jsonl"
    lines = partial.read_text(encoding="utf-8").splitlines()
    partial.write_text("\n".join(lines[:-1]) + '\n{"key": "cut by a ki', encoding="utf-8")
    output.unlink()
    # Another table (--limit 1) in the same place is refused, and nothing is lost.
    refused = script("make_table.py", *command, "--limit", "1", cwd=folder)
    assert refused.returncode != 0 and "holds runs of another table" in refused.stderr
    assert partial.read_text(encoding="utf-8").startswith(lines[0])
    # The same command again trains the missing run only.
    resumed = script("make_table.py", *command, cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    assert "8 runs of 3 epochs, 7 already done" in resumed.stderr
    return output


@pytest.mark.slow  # the benchmark scripts on a table made for the test: minutes of CPU
def test_make_table_records_every_network_seed_and_epoch(tiny_table: Path) -> None:
    table = read_table(tiny_table)
    assert table["space"] == "tiny_table" and table["data"] == "digits" and table["epochs"] == 3
    assert table["seeds"] == [0, 1] and table["space_source"]["search"]["data"] == "digits"
    assert table["recipe"]["batch_size"] == 64 and table["machine"]["cpus"]
    assert len(table["networks"]) == 4 and len({n["key"] for n in table["networks"]}) == 4
    for network in table["networks"]:
        assert network["params"] > 0 and network["macs"] > 0
        assert len(network["runs"]) == 2
        for run in network["runs"]:
            assert run["status"] == "ok"
            for series in ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "seconds"):
                assert len(run[series]) == 3, series
            assert all(0.0 <= v <= 1.0 for v in run["test_accuracy"])
    assert table["made"]["wall_seconds"] > 0


@pytest.mark.slow  # the benchmark scripts on a table made for the test: minutes of CPU
def test_replay_describes_and_replays_every_strategy(tiny_table: Path) -> None:
    described = script("replay.py", "--table", str(tiny_table), "--describe", "--json", cwd=tiny_table.parent)
    assert described.returncode == 0, described.stderr
    facts = json.loads(described.stdout)
    assert {k: facts[k] for k in ("space", "data", "networks", "seeds", "epochs")} == {
        "space": "tiny_table",
        "data": "digits",
        "networks": 4,
        "seeds": 2,
        "epochs": 3,
    }
    figure = tiny_table.parent / "regret.png"
    replayed = script(
        "replay.py",
        "--table",
        str(tiny_table),
        "--strategy",
        "all",
        "--seeds",
        "3",
        "--bayesian-seeds",  # a Gaussian process refitted at each of ~100 trials: one replay shows it works
        "1",
        "--json",
        "--figure",
        str(figure),
        cwd=tiny_table.parent,
    )
    assert replayed.returncode == 0, replayed.stderr
    result = json.loads(replayed.stdout)
    strategies = result["strategies"]
    assert result["default"] in strategies
    assert any("kerastuner" in name for name in strategies) and any("optuna" in name for name in strategies)
    for name, entry in strategies.items():
        assert set(entry["median_regret"]) == {"10", "25", "50", "100", "25%"}, name
        assert all(0.0 <= value <= 1.0 for value in entry["median_regret"].values()), name
    assert result["best_archbuilder"].startswith("archbuilder-")
    assert set(result["win_rate_of_best_archbuilder"]) == {n for n in strategies if not n.startswith("archbuilder")}
    assert figure.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow  # the benchmark scripts on a table made for the test: minutes of CPU
def test_replay_ledgers_keep_finished_replays_for_the_next_run(tiny_table: Path) -> None:
    ledgers = tiny_table.parent / "replays.jsonl"

    def replay(strategy: str, seeds: str) -> subprocess.CompletedProcess[str]:
        arguments = ["--table", str(tiny_table), "--strategy", strategy, "--seeds", seeds, "--json"]
        return script("replay.py", *arguments, "--ledgers", str(ledgers), "--workers", "1", cwd=tiny_table.parent)

    first = replay("archbuilder-random", "2")
    assert first.returncode == 0, first.stderr
    lines = ledgers.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["table"] == tiny_table.name.removesuffix(".json.gz")
    with ledgers.open("a", encoding="utf-8") as handle:
        handle.write('{"strategy": "archbuilder-random", "se')  # a line cut by a kill
    more = replay("archbuilder-random,kerastuner-random", "3")
    assert more.returncode == 0, more.stderr
    assert f"{ledgers}: 2 replays kept from earlier runs; 4 to run" in more.stderr
    assert json.loads(more.stdout)["strategies"]["archbuilder-random"]["seeds"] == 3
    same = json.loads(first.stdout)["strategies"]["archbuilder-random"]
    again = replay("archbuilder-random", "2")
    assert json.loads(again.stdout)["strategies"]["archbuilder-random"]["median_regret"] == same["median_regret"]
    assert "2 replays kept from earlier runs; 0 to run" in again.stderr


def replay_module() -> Any:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import replay
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return replay


def test_a_trial_is_scored_by_its_best_epoch_and_judged_by_the_mean_test_accuracy_there() -> None:
    replay = replay_module()
    run = {
        "status": "ok",
        "setup_seconds": 0.5,
        "seconds": [2.0, 1.0, 1.0, 1.0],
        "val_accuracy": [0.5, 0.8, 0.7, 0.9],
        "test_accuracy": [0.4, 0.7, 0.6, 0.8],
    }
    other = {**run, "test_accuracy": [0.2, 0.5, 0.6, 0.6]}
    network = replay.Network("k", {}, 10, 100, [run, other])
    assert network.mean_test == pytest.approx([0.3, 0.6, 0.6, 0.7])
    assert replay.run_trial(network, 0, 0, 3) == (0.8, pytest.approx(0.6), 4.5)  # epochs 1-3: the 2nd is best
    # A Hyperband promotion from epoch 2 to 4 pays two epochs, the build and the trace again (2.0 - 1.0).
    assert replay.run_trial(network, 0, 2, 4) == (0.9, pytest.approx(0.7), 3.5)
    nan = {**run, "status": "nan", "val_accuracy": [0.5], "seconds": [2.0]}
    assert replay.run_trial(replay.Network("n", {}, 1, 1, [nan]), 0, 0, 4)[0] is None


def test_the_answer_at_a_budget_is_the_best_scored_trial_ended_within_it() -> None:
    replay = replay_module()
    ledger = replay.Ledger()
    ledger.add(3.0, 0.7, 0.65, "a")
    ledger.add(0.0, None, 0.0, None)  # a failed trial
    ledger.add(4.0, 0.9, 0.80, "b")
    ledger.add(2.0, 0.8, 0.95, "c")  # better on test, worse on validation: not the answer
    assert ledger.answer(2.9) == (0.0, None)
    assert ledger.answer(3.0) == (0.65, "a")
    assert ledger.answer(6.9) == (0.65, "a")
    assert ledger.answer(7.0) == (0.80, "b")
    assert ledger.answer(100.0) == (0.80, "b")


COMMITTED = sorted(TABLES.glob("*.json.gz"))


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
@pytest.mark.parametrize("count", [1, pytest.param(3, marks=pytest.mark.slow)])
def test_a_sample_of_each_committed_table_retrains_within_its_seeds_spread(path: Path, count: int) -> None:
    """``count`` entries (one in the quick lane, three in the slow lane), drawn at random, retrained from
    scratch (seed 0) through the same trial path: the best validation and test accuracy lie within the
    spread of the table's seeds (at least 0.03 either side)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import make_table
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    from archbuilder.search.loading import load_space
    from archbuilder.search.trial import DataCache

    table = read_table(path)
    space = load_space(table["space_source"])
    cache = DataCache(table["data"])
    sample = random.Random(path.name).sample(table["networks"], 3)[:count]
    for network in sample:
        retrained = make_table.train_network(network["values"], 0, table["epochs"], space, cache)
        for series in ("val_accuracy", "test_accuracy"):
            recorded = [max(v for v in run[series] if v is not None) for run in network["runs"]]
            spread = max(recorded) - min(recorded)
            margin = max(0.03, spread)
            got = max(v for v in retrained[series] if v is not None)
            assert min(recorded) - margin <= got <= max(recorded) + margin, (network["values"], series, got, recorded)

"""A search hands back a trained model and says what it did: best.keras, its test score, resume
with the search's own settings, search show, progress lines and TensorBoard logs.

The journeys run the CLI in fresh processes, as a user does; one in-process test checks that the
kept model is the one the trial was scored by.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.commands import archbuilder

pytest.importorskip("keras_tuner")

SMALL = """\
name: small
input: {shape: [8, 8, 1]}
stem:
  - {type: conv, filters: {choice: [8, 12, 16]}, kernel_size: 3, padding: same}
  - {type: max_pool, pool_size: 2}
head: {pool: flatten, classes: 10}
training: {batch_size: 32, optimizer: {type: adam, learning_rate: 0.01}}
search: {max_trials: 2, epochs: 3, data: digits, seed: 1}
"""


def rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "trials.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_search_hands_back_a_trained_test_evaluated_model_and_resumes_with_its_own_settings(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(SMALL, encoding="utf-8")
    done = archbuilder("search", "small.yaml", "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = tmp_path / "out"
    # a line per epoch inside each trial, then the trial's line; the closing line names the model and its test score
    assert "[1/2] trial 0 epoch 3/3: loss" in done.stdout
    assert "[2/2] trial 1 completed: val_accuracy" in done.stdout
    summary = json.loads((folder / "summary.json").read_text())
    test = summary["test"]
    assert test["model"] == "best.keras" and test["images"] == 359
    assert f"test accuracy {test['metrics']['accuracy']:.4f}" in done.stdout
    assert test["metrics"]["accuracy"] > 0.5  # three epochs of a small CNN on digits: far above chance (0.1)
    assert [row["epochs"] for row in rows(folder)] == ["3", "3"]

    # best.keras is a plain Keras file; `archbuilder evaluate` finds its data beside it and agrees
    evaluated = archbuilder("evaluate", "out/best.keras", "--json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(test["metrics"]["accuracy"], abs=1e-6)
    (tmp_path / "elsewhere").mkdir()  # a copy alone: the file itself says how it was trained
    (tmp_path / "elsewhere" / "winner.keras").write_bytes((folder / "best.keras").read_bytes())
    alone = archbuilder("evaluate", "elsewhere/winner.keras", "--json", cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["accuracy"] == pytest.approx(test["metrics"]["accuracy"], abs=1e-6)

    # search show: the table, the best network and its test score, the front
    shown = archbuilder("search", "show", "out", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "search 'small' in out: finished; 2 of 2 trials" in shown.stdout
    assert f"best: trial {summary['best']['trial']}" in shown.stdout
    assert "test accuracy" in shown.stdout and "Pareto front (val_accuracy vs macs)" in shown.stdout

    # the same command again refuses; nothing is deleted
    again = archbuilder("search", "small.yaml", "-o", "out", cwd=tmp_path)
    assert again.returncode == 1 and "holds a finished search of 'small'" in again.stderr
    assert (folder / "best.keras").exists()

    # --resume keeps the run's settings: a conflicting flag is one line; a raised --max-trials is recorded
    conflict = archbuilder("search", "small.yaml", "-o", "out", "--resume", "--epochs", "1", cwd=tmp_path)
    assert conflict.returncode == 1
    assert "--epochs 1 conflicts with the search in out, which runs with epochs 3" in conflict.stderr
    lower = archbuilder("search", "small.yaml", "-o", "out", "--resume", "--max-trials", "1", cwd=tmp_path)
    assert lower.returncode == 1 and "cannot plan fewer trials" in lower.stderr
    (tmp_path / "small.yaml").write_text(SMALL.replace("epochs: 3", "epochs: 1"), encoding="utf-8")  # file edited
    more = archbuilder("search", "small.yaml", "-o", "out", "--resume", "--max-trials", "3", cwd=tmp_path)
    assert more.returncode == 0, more.stdout + more.stderr
    assert "resuming with the search's own settings: epochs 3 (the space says 1)" in more.stdout
    assert [row["epochs"] for row in rows(folder)] == ["3", "3", "3"]  # every trial trained alike
    state = json.loads((folder / "search.json").read_text())
    assert state["settings"]["max_trials"] == 3 and state["settings"]["epochs"] == 3
    assert [(e["event"], e["max_trials"]) for e in state["history"]] == [
        ("started", 2),
        ("finished", 2),
        ("resumed", 3),
        ("finished", 3),
    ]


def test_search_show_refuses_a_folder_without_a_search(tmp_path: Path) -> None:
    shown = archbuilder("search", "show", str(tmp_path), cwd=tmp_path)
    assert shown.returncode == 1
    assert shown.stderr.strip().endswith("Is it the output folder of `archbuilder search` (its -o)?")
    assert len(shown.stderr.strip().splitlines()) == 1
    usage = archbuilder("search", "show", cwd=tmp_path)
    assert usage.returncode == 2 and "which search?" in usage.stderr


def test_kept_model_is_the_epoch_the_trial_was_scored_by(tmp_path: Path) -> None:
    import keras

    from archbuilder.search import run
    from archbuilder.search.trial import DataCache
    from archbuilder.training.pipeline import make_targets
    from archbuilder.training.recipe import head_outputs, label_encoding

    result = run(
        SMALL.replace("max_trials: 2", "max_trials: 1").replace("epochs: 3", "epochs: 4"),
        output=tmp_path / "out",
        progress=False,
        final_epochs=None,
    )
    best = result.best
    assert best is not None and best.blueprint is not None and result.model == tmp_path / "out" / "best.keras"
    recipe = best.blueprint.training
    assert recipe is not None
    dataset = DataCache("digits").get(best.blueprint, recipe)
    assert dataset.validation is not None
    outputs = head_outputs(best.blueprint)
    model = keras.saving.load_model(result.model)
    scores = model.evaluate(
        dataset.validation.x,
        make_targets(dataset.validation.y, outputs, label_encoding(recipe, outputs)),
        verbose=0,
        return_dict=True,
    )
    assert scores["accuracy"] == pytest.approx(best.metrics["val_accuracy"], abs=1e-6)


@pytest.mark.slow  # a search and three retrainings: the quick lane's 10 minutes (the winner's tests stay there)
def test_final_epochs_retrains_the_top_trials_and_keeps_the_best(tmp_path: Path) -> None:
    from archbuilder.search import run

    result = run(
        SMALL.replace("epochs: 3", "epochs: 1"), output=tmp_path / "out", progress=False, final_epochs=3, save_top=True
    )
    assert [entry["epochs"] for entry in result.final] == [3, 3]
    assert {entry["trial"] for entry in result.final} == {"0", "1"}
    chosen = max(result.final, key=lambda entry: entry["metrics"]["val_accuracy"])
    assert result.best is not None and result.best.trial_id == chosen["trial"]
    assert result.best.blueprint is not None and result.best.blueprint.training is not None
    assert result.best.blueprint.training.epochs == 3  # best.yaml carries the recipe best.keras trained with
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["best"]["trial"] == chosen["trial"] and len(summary["final"]) == 2
    assert "epochs: 3" in (tmp_path / "out" / "best.yaml").read_text()
    assert sorted(path.suffix for path in (tmp_path / "out" / "top").iterdir()) == [
        ".keras",
        ".keras",
        ".yaml",
        ".yaml",
    ]


def test_each_trial_logs_to_tensorboard_with_its_hyperparameters(tmp_path: Path) -> None:
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("TensorBoard's writers need the TensorFlow backend")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from archbuilder.search import run

    run(SMALL.replace("epochs: 3", "epochs: 1"), output=tmp_path / "out", progress=False)
    for trial in ("0", "1"):
        logs = tmp_path / "out" / "tensorboard" / f"trial_{trial}"
        events = EventAccumulator(str(logs)).Reload()
        assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")  # the HParams dashboard's record
        validation = EventAccumulator(str(logs / "validation")).Reload()
        assert "epoch_accuracy" in validation.Tags()["tensors"]  # Keras 3 writes tensor summaries

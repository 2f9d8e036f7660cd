"""Real searches on the embedded digits: outputs, contained failures, penalized objectives."""

from __future__ import annotations

import csv
import errno
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("keras_tuner")

from archbuilder.blueprint.errors import BlueprintError  # noqa: E402
from archbuilder.blueprint.io import load_blueprint  # noqa: E402
from archbuilder.search import (
    load_space,  # noqa: E402
    run,  # noqa: E402
)
from archbuilder.search.folder import SEARCH_STATE  # noqa: E402
from tests.search.conftest import TINY  # noqa: E402

# The tiny spaces train one epoch: near chance, as intended (the warning is tested where it matters).
pytestmark = [pytest.mark.filterwarnings("ignore::archbuilder.search.results.SearchWarning")]


def rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "trials.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_tiny_search_writes_every_output_and_best_yaml_trains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "search"
    result = run("pattern", data="digits", max_trials=3, epochs=1, output=folder)
    out = capsys.readouterr().out
    assert "searching 'pattern_search': random tuner, up to 3 trials x 1 epoch on digits" in out
    assert "[3/3] trial 2 completed: val_accuracy" in out and "best so far: trial" in out
    for name in ("best.yaml", "trials.csv", "pareto.svg", "summary.json", SEARCH_STATE, "tuner/oracle.json"):
        assert (folder / name).is_file(), name
    assert len(list((folder / "top").glob("*.yaml"))) == 3
    assert [t.trial_id for t in result.pareto] == [
        p.stem.split("_trial_")[1] for p in sorted((folder / "pareto").glob("*.yaml"))
    ]
    assert [t.status for t in result.trials] == ["completed"] * 3
    assert sum(result.rejected.values()) > 0 and result.rejected.get("geometry", 0) > 0  # the 8x8 input rejects some
    table = rows(folder)
    assert [row["status"] for row in table] == ["completed"] * 3
    assert all(float(row["params"]) > 0 and float(row["macs"]) > 0 and float(row["seconds"]) > 0 for row in table)
    assert table[0]["val_accuracy"] and set(result.parameters) <= set(table[0])
    assert [row["pattern.fc"] for row in table if row["pattern.K"] == "0"] == [
        "" for trial in result.trials if trial.values["pattern.K"] == 0
    ]  # a value without effect is left empty
    assert "<svg" in (folder / "pareto.svg").read_text() and (folder / "trials.png").is_file()

    best = load_blueprint(folder / "best.yaml")
    assert best == result.best.blueprint and best.resolve() == best
    assert best.training.data == "digits" and best.training.epochs == 1
    header = (folder / "best.yaml").read_text().splitlines()[:2]
    assert header[0].startswith("# Best of search 'pattern_search' (archbuilder search): trial")
    assert "val_accuracy" in header[1]

    from archbuilder.training import train

    trained = train(folder / "best.yaml", output=tmp_path / "retrain", verbose=0)
    assert trained.model.count_params() == result.best.costs["params"]


def test_failures_are_contained_and_the_search_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras

    from archbuilder.search.hypermodel import BlueprintHyperModel

    class ResourceExhaustedError(Exception):
        pass

    real_fit = BlueprintHyperModel.train_trial
    attempts: list[tuple[int, int]] = []

    def fit(self: Any, hp: Any, model: Any, **options: Any) -> Any:
        filters, batch_size = hp.values["stem[0].filters"], options["batch_size"]
        attempts.append((filters, batch_size))
        if filters == 4 and batch_size > 16 or filters == 8:
            raise ResourceExhaustedError("OOM when allocating tensor")
        if filters == 12:
            raise RuntimeError("a bug in a custom layer")
        return real_fit(self, hp, model, **options)

    clears: list[int] = []
    real_clear = keras.backend.clear_session
    monkeypatch.setattr(BlueprintHyperModel, "train_trial", fit)
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: clears.append(1) or real_clear(*a, **k))
    result = run(TINY, output=tmp_path / "search")
    by_filters = {t.values["stem[0].filters"]: t for t in result.trials}
    assert {f: t.status for f, t in by_filters.items()} == {4: "completed", 8: "oom", 12: "error", 16: "completed"}
    assert by_filters[4].batch_size == 16 and by_filters[16].batch_size == 32
    assert sorted(b for f, b in attempts if f == 8) == [16, 32]  # halved once, then infeasible
    assert by_filters[8].message == "out of memory at batch size 16 (ResourceExhaustedError); marked infeasible"
    assert by_filters[12].message == "RuntimeError: a bug in a custom layer"
    assert result.rejected == {"geometry": result.rejected["geometry"]} and result.rejected["geometry"] > 0
    assert len(clears) >= len(result.trials) + 2  # after each trial, and before each retry after out-of-memory
    err = capsys.readouterr().err
    assert "out of memory at batch size 32 (ResourceExhaustedError); retrying once with batch size 16" in err
    table = {row["stem[0].filters"]: row for row in rows(tmp_path / "search")}
    assert table["8"]["status"] == "oom" and table["8"]["val_accuracy"] == ""


def test_nan_loss_stops_the_trial(tmp_path: Path) -> None:
    space = TINY.replace("{type: adam, learning_rate: 0.01}", "{type: sgd, learning_rate: 1.0e+30}").replace(
        "max_trials: 4", "max_trials: 1"
    )
    result = run(space, output=tmp_path / "search")
    [trial] = result.trials
    assert trial.status == "nan" and trial.message.startswith("the loss became NaN in epoch 1")
    assert result.best is None and not (tmp_path / "search" / "best.yaml").exists()
    assert (tmp_path / "search" / "trials.csv").exists()


def test_penalized_objective_and_pareto_front(tmp_path: Path) -> None:
    space = TINY.replace("search: {", "search: {objective: {maximize: val_accuracy, penalize: macs, target: 10000}, ")
    result = run(space, output=tmp_path / "search", max_trials=2, progress=False)
    assert result.objective == "score" and len(result.trials) == 2
    for trial in result.trials:
        expected = trial.metrics["val_accuracy"] * (trial.costs["macs"] / 10000) ** -0.07
        assert trial.metrics["score"] == pytest.approx(expected)
    front = result.pareto
    assert front and all(a.costs["macs"] < b.costs["macs"] for a, b in zip(front, front[1:]))
    assert all(a.metrics["val_accuracy"] < b.metrics["val_accuracy"] for a, b in zip(front, front[1:]))
    assert result.best.metrics["score"] == max(t.metrics["score"] for t in result.trials)


@pytest.mark.slow  # a real Hyperband search: the quick lane's 10 minutes (test_hyperband_budget stays there)
def test_hyperband_promotes_screened_candidates(tmp_path: Path) -> None:
    space = TINY.replace("epochs: 1,", "epochs: 2, tuner: hyperband, hyperband_factor: 2,").replace(
        "max_trials: 4", "max_trials: 5"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(space, output=tmp_path / "search", progress=False)
    assert not [str(w.message) for w in caught if "Skipping variable loading" in str(w.message)]  # optimizer too
    assert [t.status for t in result.trials] == ["completed"] * 5
    keys = [t.blueprint.to_yaml() for t in result.trials]
    assert len(set(keys)) == 4  # one trial continues an earlier one (from its checkpoint); the rest are distinct
    assert result.best is not None


def test_resume_needs_the_same_space(tmp_path: Path) -> None:
    from archbuilder.search.errors import SearchError

    folder = tmp_path / "search"
    run(TINY.replace("max_trials: 4", "max_trials: 1"), output=folder, progress=False)
    with pytest.raises(SearchError, match="holds a search of a different space"):
        run(TINY.replace("[4, 8, 12, 16]", "[4, 8]"), output=folder, resume=True, progress=False)
    edited = run(TINY.replace("max_trials: 4", "max_trials: 2"), output=folder, resume=True, progress=False)
    assert [t.trial_id for t in edited.trials] == ["0"]  # an edited file does not raise the planned trials
    resumed = run(TINY, output=folder, resume=True, max_trials=2, progress=False)  # the call does
    assert [t.trial_id for t in resumed.trials] == ["0", "1"]


BACKBONE_SPACE = """\
name: backbone_search
input: {shape: [32, 32, 3]}
backbone: {keras_application: {choice: [MobileNet, MobileNetV2]}, weights: none}
head: {dropout: 0.2, classes: 4}
training: {batch_size: 32}
search: {tuner: grid, max_trials: 2, epochs: 1, data: "shapes:64"}
"""


@pytest.mark.slow  # four keras.applications bodies; backbones are tested in compile/ and pretrained/
def test_search_over_keras_application_backbones(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(BACKBONE_SPACE, encoding="utf-8")
    from archbuilder.search.results import SearchWarning

    with pytest.warns(SearchWarning, match="near chance"):  # one epoch on 64 images: chance, and said so
        result = run(space, output=tmp_path / "search")
    assert [t.status for t in result.trials] == ["completed"] * 2
    import archbuilder

    chosen = {t.values["backbone.keras_application"]: t.costs["params"] for t in result.trials}
    assert set(chosen) == {"MobileNet", "MobileNetV2"}  # the grid tried both
    for application, params in chosen.items():  # each analyzed (before Keras) as the network it is
        network = archbuilder.analyze(
            BACKBONE_SPACE.split("search:")[0].replace("{choice: [MobileNet, MobileNetV2]}", application)
        )
        assert params == network.params
    best = load_blueprint(tmp_path / "search" / "best.yaml")
    assert best.backbone.keras_application in chosen and best.training.pixel_range == (0.0, 255.0)


# -- the output folder: damage, a full disk, starting over ---------------------------------------------


def no_space() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def hidden_files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob(".*"))


def test_the_output_folder_is_replaced_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Checked before any training: a finished or damaged search, and a search's files in another folder."""
    from archbuilder.search import load_space
    from archbuilder.search.errors import SearchError
    from archbuilder.search.folder import prepare_folder

    space, folder = load_space(TINY), tmp_path / "search"
    folder.mkdir()
    (folder / "best.yaml").write_text("mine")
    with pytest.raises(SearchError) as error:
        prepare_folder(folder, space, resume=False)
    assert str(error.value) == (
        f"{folder} holds best.yaml but no search.json, so it is not a search folder; a search "
        "would replace them. Pass --output DIR to search into a new folder, or --overwrite to "
        "replace them."
    )
    (folder / SEARCH_STATE).write_text('{"space": "tiny", "fingerp')
    for resume in (True, False):
        with pytest.raises(SearchError) as error:
            prepare_folder(folder, space, resume=resume)
        assert str(error.value) == (
            f"{folder / SEARCH_STATE}: damaged (not valid JSON: Unterminated string starting at "
            f"(line 1, column 19)). Pass --overwrite to start the search over in {folder}, or "
            "--output DIR to search elsewhere."
        )
    (folder / "notes.txt").write_text("mine")
    assert prepare_folder(folder, space, resume=False, overwrite=True) is False
    assert f"starting over in {folder}: replacing best.yaml, search.json" in capsys.readouterr().out
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", SEARCH_STATE]
    (folder / SEARCH_STATE).write_text(
        (folder / SEARCH_STATE).read_text().replace('"finished": false', '"finished": true')
    )
    with pytest.raises(SearchError) as error:
        prepare_folder(folder, space, resume=False)
    assert str(error.value) == (
        f"{folder} holds a finished search of 'tiny'. Pass --overwrite to replace it, --resume "
        "with a larger --max-trials to continue it, or --output DIR to search elsewhere."
    )
    trial = folder / "tuner" / "trial_0" / "trial.json"
    trial.parent.mkdir(parents=True)
    trial.write_text("")
    with pytest.raises(SearchError) as error:
        prepare_folder(folder, space, resume=True)
    assert str(error.value) == (
        f"{trial}: damaged (empty). The search cannot resume from it. Pass --overwrite to start "
        f"the search over in {folder}, or --output DIR to search elsewhere."
    )


def test_a_full_disk_stops_the_search_in_one_line_and_it_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archbuilder.artifacts import ArtifactError

    folder, space = tmp_path / "search", TINY.replace("max_trials: 4", "max_trials: 2")
    real_write, trials = Path.write_bytes, []

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name.startswith(".trial.") and self.parent.name == "trial_1":  # the second trial's result
            trials.append(self)
            real_write(self, data[: len(data) // 2])
            raise no_space()
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(ArtifactError) as error:  # not recorded as a failed trial: the search stops
        run(space, output=folder, progress=False)
    path = folder / "tuner" / "trial_1" / "trial.json"
    assert str(error.value) == (
        f"{path}: cannot write: No space left on device. Free some space (or write somewhere "
        "else) and run the command again. The search is saved up to its last finished trial: "
        "continue it with --resume."
    )
    assert trials and hidden_files(folder) == []
    monkeypatch.undo()
    result = run(space, output=folder, resume=True, progress=False)
    assert [t.status for t in result.trials] == ["completed", "completed"]


def test_a_full_disk_while_writing_the_results_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archbuilder.artifacts import ArtifactError

    folder = tmp_path / "search"
    real_write = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name.startswith(".trials."):
            real_write(self, data[:10])
            raise no_space()
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(ArtifactError) as error:
        run(TINY.replace("max_trials: 4", "max_trials: 1"), output=folder, progress=False)
    assert str(error.value) == (
        f"{folder / 'trials.csv'}: cannot write: No space left on device. Free some space (or "
        "write somewhere else) and run the command again."
    )
    assert not (folder / "trials.csv").exists() and hidden_files(folder) == []


def test_max_time_stops_starting_trials_and_a_resume_may_extend_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time as real_time

    from archbuilder.search import oracles

    class OracleClock:  # the oracle's clock jumps an hour while the first trial trains (no race with real time)
        calls = 0

        @classmethod
        def monotonic(cls) -> float:
            cls.calls += 1  # 1: the budget is set, 2: the first trial is asked for, 3: the second one
            return real_time.monotonic() + (3600.0 if cls.calls >= 3 else 0.0)

    monkeypatch.setattr(oracles, "time", OracleClock)
    folder = tmp_path / "search"
    result = run(TINY, max_time="10m", output=folder)
    out = capsys.readouterr().out
    assert "up to 4 trials x 1 epoch or 10m on digits" in out
    assert [t.status for t in result.trials] == ["completed"] and result.stopped == "max_time"
    assert "stopped by max_time 10m after 1 of 4 trials; continue with --resume and a larger --max-time" in out
    assert result.model is not None and result.model.is_file()  # the winner is kept as usual
    summary = json.loads((folder / "summary.json").read_text())
    state = json.loads((folder / SEARCH_STATE).read_text())
    assert summary["stopped"] == "max_time" and summary["elapsed"] == pytest.approx(state["elapsed"], abs=0.1)
    assert state["finished"] and state["history"][-1]["stopped"] == "max_time" and state["elapsed"] > 0
    assert state["settings"]["max_time"] == 600
    from archbuilder.search.show import show

    assert "stopped by max_time 10m (--resume with a larger --max-time); 1 of 4 trials in " in show(folder)

    from archbuilder.search.errors import SearchError

    with pytest.raises(SearchError, match="--resume with a larger --max-time to continue it"):
        run(TINY, output=folder, progress=False)
    resumed = run(TINY, max_time="2h", output=folder, resume=True, progress=False)  # past the clock's jump
    assert [t.status for t in resumed.trials] == ["completed"] * 4 and resumed.stopped is None
    state_after = json.loads((folder / SEARCH_STATE).read_text())
    assert state_after["settings"]["max_time"] == 7200 and state_after["elapsed"] > state["elapsed"]
    assert "stopped" not in state_after["history"][-1]


def test_max_time_values(capsys: pytest.CaptureFixture[str]) -> None:
    from archbuilder.cli import main
    from archbuilder.search.settings import SearchSettings

    assert [SearchSettings(max_time=v).max_time for v in (600, "90s", "30m", "1.5h", "1h30m")] == [
        600,
        90,
        1800,
        5400,
        5400,
    ]
    with pytest.raises(BlueprintError, match=r"search.max_time: expected a duration: seconds \(600\) or numbers"):
        load_space(TINY, max_time="soon")
    assert main(["search", "pattern", "--max-time", "0"]) == 2
    assert "argument --max-time: expected a duration: seconds (600) or numbers with s, m, h or d" in (
        capsys.readouterr().err
    )


def test_a_resume_keeps_its_planned_trials_unless_the_command_raises_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from archbuilder.search.folder import effective_space

    state = {"settings": {"max_trials": 2, "epochs": 1, "max_time": 60.0}}
    resumed = effective_space(load_space(TINY), {}, state, tmp_path)  # the file says max_trials 4, no max_time
    assert (resumed.settings.max_trials, resumed.settings.max_time) == (2, 60.0)
    assert (
        "resuming with the search's own settings: max_trials 2 (the space says 4), max_time 1m (the space says "
        "none); pass --max-trials 4 to plan more trials"
    ) in capsys.readouterr().out
    longer = effective_space(load_space(TINY), {"max_time": 3600.0}, state, tmp_path)
    assert (longer.settings.max_trials, longer.settings.max_time) == (2, 3600.0)
    raised = effective_space(load_space(TINY), {"max_trials": 5}, state, tmp_path)
    assert raised.settings.max_trials == 5

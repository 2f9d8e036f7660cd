"""The run folder under kills, damage and a full disk: a kill at every write point of an epoch's end
resumes without training an epoch twice or skipping one; damaged files and full disks are one line
naming the file and what to do; ``overwrite`` starts over without touching other files."""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import archbuilder
from archbuilder.artifacts import FOLDER_LOCK, ArtifactError
from archbuilder.training.callbacks import HistoryLog
from archbuilder.training.errors import DataError, RunError
from archbuilder.training.history_file import read_history_rows, truncate_history
from archbuilder.training.run_folder import read_json_file
from archbuilder.training.runner import TrainResult
from tests.training.conftest import TINY, with_training

REPO = Path(__file__).resolve().parents[2]
# Full-batch training (48 images, one step per epoch) without validation: the order of the images never
# matters, so a resumed run ends with the weights of an uninterrupted one; the training loss falls every
# epoch, so every epoch writes best.keras too.
BLUEPRINT = with_training(
    TINY, "{optimizer: {type: adam, learning_rate: 0.01}, epochs: 3, batch_size: 64, validation_split: 0.0}"
)
DATA = "shapes:48"
EPOCH_END = ["history.csv", ".last.epoch-0002.keras", "checkpoint.json", "last.keras", "best.keras"]


class Killed(BaseException):
    """A kill: not an Exception, so nothing on the way catches it."""


def renames_into(folder: Path, monkeypatch: pytest.MonkeyPatch, kill_at: int | None = None) -> list[str]:
    """Record the renames into ``folder`` (every artifact's last step); raise Killed before the ``kill_at``-th."""
    real, seen = os.replace, []

    def replace(source: object, target: object, *args: object, **kwargs: object) -> None:
        if Path(target).parent == folder:
            if len(seen) == kill_at:
                raise Killed(Path(target).name)
            seen.append(Path(target).name)
        real(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return seen


def weights(path: Path) -> list[np.ndarray]:
    return [np.asarray(w) for w in keras.saving.load_model(path, compile=False).get_weights()]


def history_epochs(folder: Path) -> list[int]:
    with (folder / "history.csv").open(newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def hidden_files(folder: Path) -> list[str]:
    """The hidden files a write left, but the folder's lock (a killed run leaves it; the next run takes it over)."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith(".") and path.name != FOLDER_LOCK)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("uninterrupted") / "run"
    with pytest.MonkeyPatch.context() as monkeypatch:
        seen = renames_into(folder, monkeypatch)
        result = archbuilder.train(BLUEPRINT, data=DATA, output=folder, verbose=0)
    first = seen.index("history.csv", seen.index("history.csv") + 1)  # the second epoch's end
    assert seen[first : first + len(EPOCH_END) + 1] == EPOCH_END + ["history.csv"]
    return {
        "folder": folder,
        "renames": seen,
        "epoch_end": first,
        "history": result.history,
        "last": weights(folder / "last.keras"),
        "best": weights(folder / "best.keras"),
        "state": json.loads((folder / "checkpoint.json").read_text()),
    }


def assert_like_uninterrupted(folder: Path, result: TrainResult, uninterrupted: dict) -> None:
    assert history_epochs(folder) == [1, 2, 3]  # every epoch once, counted from 1
    assert int(result.model.optimizer.iterations) == 3  # 3 epochs x 1 step: none trained twice, none skipped
    state = json.loads((folder / "checkpoint.json").read_text())
    assert state["finished"] and state["completed_epochs"] == 3 and state["optimizer_step"] == 3
    assert state["best"]["epoch"] == uninterrupted["state"]["best"]["epoch"]
    for name in ("last", "best"):
        for mine, theirs in zip(weights(folder / f"{name}.keras"), uninterrupted[name], strict=True):
            np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.history["loss"], uninterrupted["history"]["loss"], rtol=1e-5)
    assert hidden_files(folder) == []  # no staged model, no temporary file


@pytest.mark.parametrize(
    "point", range(len(EPOCH_END) + 1), ids=[f"before_{name}" for name in EPOCH_END] + ["after_best.keras"]
)
def test_a_kill_at_every_write_point_resumes_like_an_uninterrupted_run(point, uninterrupted, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    with monkeypatch.context() as patch:
        renames_into(folder, patch, kill_at=uninterrupted["epoch_end"] + point)
        with pytest.raises(Killed):
            archbuilder.train(BLUEPRINT, data=DATA, output=folder, verbose=0)
    keras.backend.clear_session()
    committed = json.loads((folder / "checkpoint.json").read_text())["completed_epochs"]
    assert committed == (2 if point > EPOCH_END.index("checkpoint.json") else 1)
    result = archbuilder.train(BLUEPRINT, output=folder, resume=True, verbose=0)
    assert_like_uninterrupted(folder, result, uninterrupted)


KILL = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import archbuilder
    from tests.training.test_run_folder import BLUEPRINT, DATA

    folder, target, occurrence = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    real, seen = os.replace, []

    def replace(source, destination, *args, **kwargs):
        if Path(destination).parent == folder:
            seen.append(Path(destination).name)
            if seen.count(target) == occurrence:
                os._exit(137)  # no cleanup of any kind, as with SIGKILL
        real(source, destination, *args, **kwargs)

    os.replace = replace
    archbuilder.train(BLUEPRINT, data=DATA, output=folder, verbose=0)
""")


def test_a_process_killed_mid_epoch_end_resumes(uninterrupted, tmp_path):
    """The second epoch's model is written but not yet renamed: a real kill leaves its temporary file."""
    folder = tmp_path / "run"
    killed = subprocess.run(
        [sys.executable, "-c", KILL, str(folder), ".last.epoch-0002.keras", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert killed.returncode == 137, killed.stderr[-2000:]
    [leftover] = hidden_files(folder)
    assert (folder / FOLDER_LOCK).is_file()  # the killed run's, taken over by the resume
    assert leftover.startswith("..last.epoch-0002.") and leftover.endswith(".partial.keras")
    assert json.loads((folder / "checkpoint.json").read_text())["completed_epochs"] == 1
    result = archbuilder.train(BLUEPRINT, output=folder, resume=True, verbose=0)
    assert_like_uninterrupted(folder, result, uninterrupted)


# -- a full disk -----------------------------------------------------------------------------------


def no_space(*args: object) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_saving_the_model_is_one_line_and_the_run_resumes(tmp_path, monkeypatch, uninterrupted):
    folder = tmp_path / "run"
    real_save, calls = keras.Model.save, []

    def save(self: keras.Model, path: object, *args: object, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"PK\x03\x04 half a zip")
            raise no_space()
        real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save)
    with pytest.raises(ArtifactError) as error:
        archbuilder.train(BLUEPRINT, data=DATA, output=folder, verbose=0)
    assert str(error.value) == (
        f"{folder / 'last.keras'}: cannot write: No space left on device. Free some space (or "
        "write somewhere else) and run the command again. The run is saved up to epoch 1: "
        "continue it with --resume."
    )
    assert hidden_files(folder) == []  # the half-written file is gone
    assert json.loads((folder / "checkpoint.json").read_text())["completed_epochs"] == 1
    monkeypatch.undo()
    keras.backend.clear_session()
    result = archbuilder.train(BLUEPRINT, output=folder, resume=True, verbose=0)
    assert_like_uninterrupted(folder, result, uninterrupted)


def test_a_full_disk_at_the_commit_is_one_line_and_the_run_resumes(tmp_path, monkeypatch, uninterrupted):
    folder = tmp_path / "run"
    real_write, commits = Path.write_bytes, []

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name.startswith(".checkpoint.") and self.parent == folder:
            commits.append(self)
            if len(commits) == 3:  # the plan's, the first epoch's, then the second epoch's
                real_write(self, data[: len(data) // 2])
                raise no_space()
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(ArtifactError) as error:
        archbuilder.train(BLUEPRINT, data=DATA, output=folder, verbose=0)
    assert str(error.value) == (
        f"{folder / 'checkpoint.json'}: cannot write: No space left on device. Free some space "
        "(or write somewhere else) and run the command again. The run is saved up to epoch 1: "
        "continue it with --resume."
    )
    assert json.loads((folder / "checkpoint.json").read_text())["completed_epochs"] == 1
    assert hidden_files(folder) == [".last.epoch-0002.keras"]  # staged, never committed: --resume deletes it
    monkeypatch.undo()
    keras.backend.clear_session()
    result = archbuilder.train(BLUEPRINT, output=folder, resume=True, verbose=0)
    assert_like_uninterrupted(folder, result, uninterrupted)


def test_a_full_disk_after_the_last_epoch_resumes_to_the_report(tmp_path, monkeypatch, uninterrupted, capsys):
    folder = tmp_path / "run"
    real_write = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name.startswith(".metrics."):
            raise no_space()
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(ArtifactError, match=r"metrics\.json: cannot write: No space left on device\. "):
        archbuilder.train(BLUEPRINT, data=DATA, output=folder, verbose=0)
    assert not (folder / "metrics.json").exists() and hidden_files(folder) == []
    monkeypatch.undo()
    keras.backend.clear_session()
    result = archbuilder.train(BLUEPRINT, output=folder, resume=True, verbose=0)
    assert f"finishing {folder}: its 3 epochs are done; evaluating" in capsys.readouterr().out
    assert result.metrics["epochs"]["completed"] == 3 and (folder / "metrics.json").is_file()
    assert_like_uninterrupted(folder, result, uninterrupted)


def test_a_full_disk_before_training_is_one_line(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    real_write = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name.startswith(".blueprint."):
            raise no_space()
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(ArtifactError) as error:
        archbuilder.train(BLUEPRINT, data=DATA, output=folder, verbose=0)
    assert str(error.value) == (
        f"{folder / 'blueprint.yaml'}: cannot write: No space left on device. Free some space "
        "(or write somewhere else) and run the command again."
    )
    assert not folder.exists()  # nothing left behind: the folder the run made is removed with its lock


# -- damaged files, starting over --------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("finished") / "run"
    archbuilder.train(with_training(BLUEPRINT, "{epochs: 1, batch_size: 64}"), data=DATA, output=folder, verbose=0)
    return folder


def copy_run(source: Path, folder: Path) -> Path:
    shutil.copytree(source, folder)
    return folder


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty"),
        (b'{"finished": false, "completed_epo', "not valid JSON: Unterminated string starting at (line 1, column 21)"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[1, 2]", "expected a JSON object, found list"),
        (
            b'{"completed_epochs": 1}',
            "'settings' must hold batch_size, data, deterministic, jit_compile, precision, resize, seed",
        ),
        (
            b'{"completed_epochs": -1, "settings": {"data": "x", "batch_size": 1, "seed": 0, "resize": false, '
            b'"deterministic": false, "precision": "float32", "jit_compile": false}}',
            "'completed_epochs' is -1, expected a whole number of at least 0",
        ),
    ],
)
def test_a_damaged_checkpoint_is_one_line_for_resume_and_a_new_run(content, problem, finished_run, tmp_path):
    folder = copy_run(finished_run, tmp_path / "run")
    (folder / "checkpoint.json").write_bytes(content)
    expected = (
        f"{folder / 'checkpoint.json'}: damaged ({problem}). Pass --overwrite to start the run over in {folder}, "
        "or --output DIR to train elsewhere."
    )
    blueprint = with_training(BLUEPRINT, "{epochs: 1, batch_size: 64}")
    for options in ({"resume": True, "epochs": 2}, {"data": DATA}):
        with pytest.raises(RunError) as error:
            archbuilder.train(blueprint, output=folder, verbose=0, **options)
        assert str(error.value) == expected
    assert (folder / "checkpoint.json").read_bytes() == content  # nothing was touched


def test_a_truncated_last_model_is_one_line(finished_run, tmp_path):
    folder = copy_run(finished_run, tmp_path / "run")
    data = (folder / "last.keras").read_bytes()
    (folder / "last.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(RunError) as error:
        archbuilder.train(
            with_training(BLUEPRINT, "{epochs: 1, batch_size: 64}"), output=folder, resume=True, epochs=2, verbose=0
        )
    assert str(error.value) == (
        f"{folder / 'last.keras'}: damaged (not a complete .keras file); the run cannot "
        f"resume from it. Pass --overwrite to start the run over in {folder}, or --output DIR "
        "to train elsewhere."
    )


def test_a_last_model_without_an_optimizer_is_one_line(finished_run, tmp_path):
    """A model put in last.keras's place that is no checkpoint (``archbuilder build`` saves no optimizer)."""
    folder = copy_run(finished_run, tmp_path / "run")
    blueprint = with_training(BLUEPRINT, "{epochs: 1, batch_size: 64}")
    archbuilder.build_model(blueprint).save(folder / "last.keras")
    with pytest.raises(RunError) as error:
        archbuilder.train(blueprint, output=folder, resume=True, epochs=2, verbose=0)
    assert str(error.value) == (
        f"{folder / 'last.keras'}: holds no optimizer state, so it is not a checkpoint of this run (a model from "
        f"`archbuilder build`?); the run cannot resume from it. Pass --overwrite to start the run over in {folder}, "
        "or --output DIR to train elsewhere."
    )


def test_a_last_model_from_another_epoch_is_one_line(finished_run, tmp_path):
    folder = copy_run(finished_run, tmp_path / "run")
    state = json.loads((folder / "checkpoint.json").read_text())
    (folder / "checkpoint.json").write_text(json.dumps({**state, "optimizer_step": 7}))
    with pytest.raises(RunError) as error:
        archbuilder.train(
            with_training(BLUEPRINT, "{epochs: 1, batch_size: 64}"), output=folder, resume=True, epochs=2, verbose=0
        )
    assert str(error.value) == (
        f"{folder / 'last.keras'}: its optimizer is at step 1, but checkpoint.json records "
        "step 7 after epoch 1: the two files are not from the same epoch. Put the run's own "
        f"files back, or pass --overwrite to start the run over in {folder} (--output DIR to "
        "train elsewhere)."
    )


def test_overwrite_starts_over_and_touches_nothing_else(finished_run, tmp_path, capsys):
    folder = copy_run(finished_run, tmp_path / "run")
    (folder / "checkpoint.json").write_text('{"finished": tr')
    (folder / "notes.txt").write_text("mine")
    (folder / ".last.12345.partial.keras").write_bytes(b"a killed write")
    result = archbuilder.train(BLUEPRINT, data=DATA, output=folder, overwrite=True, epochs=1, verbose=0)
    assert (
        f"starting over in {folder}: replacing last.keras, best.keras, history.csv, metrics.json, checkpoint.json, "
        "blueprint.yaml, classes.json, curves.png, logs/"
    ) in capsys.readouterr().out
    assert result.metrics["epochs"]["completed"] == 1 and history_epochs(folder) == [1]
    assert (folder / "notes.txt").read_text() == "mine" and hidden_files(folder) == []


def test_a_folder_with_files_of_a_runs_names_is_not_replaced_unasked(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "blueprint.yaml").write_text(BLUEPRINT)  # the user's own blueprint, e.g. `train blueprint.yaml -o .`
    with pytest.raises(RunError) as error:
        archbuilder.train(folder / "blueprint.yaml", data=DATA, output=folder, verbose=0)
    assert str(error.value) == (
        f"{folder} holds blueprint.yaml but no checkpoint.json, so it is not a run folder; a "
        "run would replace them. Pass --output DIR to train into a new folder, or --overwrite "
        "to replace them."
    )
    assert (folder / "blueprint.yaml").read_text() == BLUEPRINT


# -- history.csv and the JSON reader ------------------------------------------------------------------


def test_history_matches_keras_csv_logger(tmp_path):
    logs = [
        {"loss": np.float32(0.5), "accuracy": 0.25, "learning_rate": 0.01},
        {"loss": 0.4, "accuracy": np.float64(0.5), "learning_rate": 0.001},
    ]
    logger = keras.callbacks.CSVLogger(str(tmp_path / "keras.csv"))
    logger.on_train_begin()
    history = HistoryLog()
    for epoch, row in enumerate(logs):
        logger.on_epoch_end(epoch, dict(row))
        history.add(epoch, dict(row))
    logger.on_train_end()
    history.write(tmp_path / "ours.csv")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "keras.csv").read_bytes()


@pytest.mark.parametrize("first", [1, 0])  # 0: an older version's file, counted from 0, is read as counted from 1
def test_history_keeps_the_committed_epochs_and_drops_torn_rows(tmp_path, first):
    path = tmp_path / "history.csv"
    e = [str(first + i).encode() for i in range(4)]
    path.write_bytes(
        b"epoch,loss\r\n%s,0.5\r\n%s,0.4\r\nbad,row\r\n%s,0.45,extra\r\n%s,0.3\r\n%s,0.2"
        % (e[0], e[1], e[1], e[2], e[3])
    )  # the last row is torn
    assert read_history_rows(path) == (["epoch", "loss"], [["1", "0.5"], ["2", "0.4"], ["3", "0.3"]])
    truncate_history(path, 2)
    assert path.read_bytes() == b"epoch,loss\r\n1,0.5\r\n2,0.4\r\n"
    assert HistoryLog.read(path).rows == [["1", "0.5"], ["2", "0.4"]]


def test_read_json_file_names_the_file_and_what_to_do(tmp_path):
    path = tmp_path / "classes.json"
    assert read_json_file(path, DataError, "Restore it.") is None
    path.write_text('["a", "b"')
    with pytest.raises(DataError) as error:
        read_json_file(path, DataError, "Restore it.")
    assert (
        str(error.value)
        == f"{path}: damaged (not valid JSON: Expecting ',' delimiter (line 1, column 10)). Restore it."
    )

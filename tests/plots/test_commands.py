"""The pictures the commands leave, each command as a user types it: `train` (curves.png), `evaluate`
(confusion.png and the per-class table), `plot` (without Graphviz, pydot or Keras)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands import QUIET, archbuilder
from tests.plots.conftest import read_png

# What the default `plot` and `summary` load: pydot and Keras are made unimportable first.
MODULES = """
import contextlib, io, json, sys
sys.modules["pydot"] = None  # `import pydot` now fails, as where it is not installed
sys.modules["keras"] = None
from archbuilder.cli import main

with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(sys.argv[1:])
loaded = sorted({name.split(".")[0] for name in sys.modules if sys.modules[name] is not None}
                & {"pydot", "keras", "tensorflow", "matplotlib"})
print(json.dumps({"code": code, "out": out.getvalue(), "loaded": loaded}))
"""


def run_counting_modules(*args: str, cwd: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", MODULES, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **QUIET},
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_plot_draws_the_network_without_pydot_graphviz_or_keras(tmp_path: Path) -> None:
    done = archbuilder("plot", "lenet5", "-o", "x.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "wrote x.png (8 layers)"
    width, height = read_png(tmp_path / "x.png")
    assert height > width > 400  # one column of nine boxes
    report = run_counting_modules("plot", "googlenet", "-o", "g.svg", cwd=tmp_path)
    assert report["code"] == 0 and report["loaded"] == ["matplotlib"]
    assert (tmp_path / "g.svg").read_text().count("aux head") == 2


def test_summary_loads_no_matplotlib(tmp_path: Path) -> None:
    report = run_counting_modules("summary", "lenet5", cwd=tmp_path)
    assert report["code"] == 0 and report["loaded"] == []


def test_plot_refuses_a_format_its_engine_cannot_write(tmp_path: Path) -> None:
    done = archbuilder("plot", "lenet5", "-o", "x.dot", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "archbuilder plot: -o must end with .png, .svg or .pdf (.dot with --engine keras). Received: x.dot"
    )
    assert not (tmp_path / "x.dot").exists()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("train")
    done = archbuilder("train", "lenet5", "--data", "digits", "--resize", "--epochs", "1", "-o", "run", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "run"


def test_train_leaves_curves_png(run_folder: Path) -> None:
    width, height = read_png(run_folder / "curves.png")
    assert width > height > 200
    assert not [path.name for path in run_folder.iterdir() if ".partial" in path.name]


def test_evaluate_draws_the_confusion_matrix_and_prints_the_table(run_folder: Path) -> None:
    done = archbuilder("evaluate", "run/best.keras", cwd=run_folder.parent)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("359 test images: accuracy ") and ", top5 " in lines[0]
    assert lines[1].split() == ["class", "precision", "recall", "f1", "support"]
    rows = [line.split() for line in lines[2:12]]
    assert [row[0] for row in rows] == [str(digit) for digit in range(10)]  # classes.json names
    assert sum(int(row[-1]) for row in rows) == 359
    assert lines[12].startswith("macro average ") and lines[12].endswith(" 359")
    assert lines[13] == "wrote run/confusion.png"
    width, height = read_png(run_folder / "confusion.png")
    assert width > 400 and height > 400


def test_evaluate_json_has_counts_as_integers(run_folder: Path) -> None:
    done = archbuilder("evaluate", "run/last.keras", "--json", "--confusion", "matrix.svg", cwd=run_folder.parent)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["images"] == 359 and isinstance(report["images"], int)
    assert set(report) == {"images", "split", "loss", "accuracy", "top5", "per_class", "confusion", "confusion_image"}
    matrix = report["confusion"]["matrix"]
    assert report["confusion"]["classes"] == [str(digit) for digit in range(10)]
    assert all(isinstance(count, int) for row in matrix for count in row) and sum(map(sum, matrix)) == 359
    assert [entry["support"] for entry in report["per_class"]] == [sum(row) for row in matrix]
    assert sum(row[i] for i, row in enumerate(matrix)) / 359 == pytest.approx(report["accuracy"], abs=1e-6)
    first = report["per_class"][0]
    assert set(first) == {"name", "precision", "recall", "f1", "support"} and first["name"] == "0"
    assert (
        report["confusion_image"] == "matrix.svg" and (run_folder.parent / "matrix.svg").read_text().count("<svg") == 1
    )
    wrong = archbuilder("evaluate", "run/last.keras", "--confusion", "matrix.txt", cwd=run_folder.parent)
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        "archbuilder evaluate: --confusion must end with .png, .svg or .pdf. Received: matrix.txt"
    )

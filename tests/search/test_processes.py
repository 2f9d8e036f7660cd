"""The search as separate processes: the command line, resume after SIGKILL, and KerasTuner's
distributed mode (a chief and two workers on 127.0.0.1)."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.search.conftest import TINY

pytestmark = pytest.mark.filterwarnings("ignore::archbuilder.search.results.SearchWarning")  # one-epoch trials

COMMAND = [sys.executable, "-m", "archbuilder", "search"]
QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "trials.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ran(output: str) -> list[str]:
    """Trial ids a process ran, from its progress lines (``[2/4] trial 1 completed: ...``)."""
    return [
        line.split(" trial ")[1].split()[0]
        for line in output.splitlines()
        if line.startswith("[") and " epoch " not in line
    ]


CHECK_PROGRAM = """
import contextlib, io, json, sys
from archbuilder.cli import main
codes = {}
with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
    codes["check"] = main(["search", "compound_scaling", "--check"])
    codes["bad"] = main(["search", sys.argv[1], "--check"])
    codes["usage"] = main(["search", "pattern", "--max-trials", "0"])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow", "keras_tuner", "jax", "torch"))
print(json.dumps({"codes": codes, "heavy": heavy, "out": out.getvalue(), "err": err.getvalue()}))
"""


def test_search_check_validates_without_keras(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.replace("{choice: [4, 8, 12, 16]}", "{int: [8, 4]}"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", CHECK_PROGRAM, str(bad)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["codes"] == {"check": 0, "bad": 1, "usage": 2}
    assert report["heavy"] == []
    assert "compound_scaling: 3 hyperparameters (random tuner)" in report["out"]
    assert "rejected for constraint" in report["out"]
    assert f"{bad}:4:33: stem[0].filters.int: min 8 is greater than max 4" in report["err"]


def test_resume_after_sigkill_does_not_rerun_finished_trials(tmp_path: Path) -> None:
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY, encoding="utf-8")
    folder = tmp_path / "out"
    command = COMMAND + [str(space), "--output", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=QUIET)
    seen = []
    deadline = time.monotonic() + 240
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if line.startswith("[1/4]") and " epoch " not in line or time.monotonic() > deadline:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    before = ran("".join(seen))
    assert before == ["0"], "".join(seen)

    again = subprocess.run(command, capture_output=True, text=True, timeout=240, env=QUIET)
    assert again.returncode == 1
    assert f"{folder} holds an interrupted search of 'tiny'. Pass --resume" in again.stderr

    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300, env=QUIET)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = ran(resumed.stdout)
    assert "0" not in after and sorted(before + after) == sorted(set(before + after))
    table = rows(folder)
    assert [row["trial"] for row in table] == ["0", "1", "2", "3"]
    assert all(row["status"] == "completed" for row in table)
    assert len({row["stem[0].filters"] for row in table}) == 4  # four different networks, each trained once
    assert json.loads((folder / "search.json").read_text())["finished"] is True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_distributed_chief_and_two_workers_run_every_trial_once(tmp_path: Path) -> None:
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY.replace("max_trials: 4", "max_trials: 6").replace("[3, 11]", "[3, 5]"), encoding="utf-8")
    folder = tmp_path / "out"
    shared = {**QUIET, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port())}
    command = COMMAND + [str(space), "--output", str(folder)]
    chief = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**shared, "KERASTUNER_TUNER_ID": "chief"},
    )
    workers = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**shared, "KERASTUNER_TUNER_ID": f"tuner{index}"},
        )
        for index in range(2)
    ]
    try:
        outputs = [process.communicate(timeout=420)[0] for process in workers + [chief]]
    finally:
        for process in workers + [chief]:
            if process.poll() is None:
                process.kill()
    assert [p.returncode for p in workers + [chief]] == [0, 0, 0], "\n".join(outputs)
    per_worker = [ran(output) for output in outputs[:2]]
    everything = per_worker[0] + per_worker[1]
    assert sorted(everything, key=int) == [str(i) for i in range(6)], per_worker  # every trial ran once
    assert all(per_worker), per_worker  # both workers took trials
    table = rows(folder)
    assert [row["trial"] for row in table] == [str(i) for i in range(6)]
    assert all(row["status"] == "completed" for row in table)
    keys = {(row["stem[0].filters"], row["stem[0].kernel_size"]) for row in table}
    assert len(keys) == 6
    assert "searching 'tiny' (distributed chief)" in outputs[2]

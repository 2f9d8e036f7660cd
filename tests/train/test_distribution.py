"""Distribution: the backend checks, and mirrored training on 2 logical CPUs against a single-device run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.train.distribution import check_distribution
from archbuilder.train.errors import RunError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("name", "backend", "needed"), [("data_parallel", "tensorflow", "jax"),
                                                         ("mirrored", "jax", "tensorflow"),
                                                         ("multi_worker", "torch", "tensorflow")])
def test_unsupported_backend_is_a_clear_error(name, backend, needed) -> None:
    with pytest.raises(RunError, match=f"'{name}' needs the {needed} backend.*runs on {backend}.*KERAS_BACKEND={needed}"):
        check_distribution(name, backend)


def test_supported_combinations_and_the_recipe_field() -> None:
    check_distribution("mirrored", "tensorflow")
    check_distribution("data_parallel", "jax")
    check_distribution(None, "torch")
    assert TrainingRecipe.model_validate({"distribution": "mirrored"}).distribution == "mirrored"
    with pytest.raises(ValueError):
        TrainingRecipe.model_validate({"distribution": "parameter_server"})


def test_mirrored_on_two_cpus_matches_a_single_device_run(tmp_path) -> None:
    """Full-batch SGD makes the updates independent of the shuffling, so the two runs differ only by the
    order of float sums (each replica's half-batch gradient, then the all-reduce): about 1e-7 after 5
    epochs on weights of size ~0.3, so 1e-5 is a tight bound that still allows rounding."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(REPO / "tests/train/mirrored_vs_single.py"), str(REPO), str(tmp_path), "5"],
                          capture_output=True, text=True, env=env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert "distribution mirrored: 2 replicas, global batch 2048" in done.stdout
    assert result["max_weight_diff"] < 1e-5
    assert result["loss_mirrored"] == pytest.approx(result["loss_single"], rel=1e-5)
    assert result["loss_single"][-1] < result["loss_single"][0]  # it did train

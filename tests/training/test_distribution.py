"""Distribution: the backend and batch checks, mirrored (2 logical CPUs) and data_parallel (2 JAX host devices)
training against a single-device run, and the test-set evaluation when the data does not split evenly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from archbuilder.blueprint.training import TrainingRecipe
from archbuilder.training.data import Split
from archbuilder.training.distribution import (
    check_batch_size,
    check_distribution,
    evaluation_batch_size,
    replicas,
    trim_to_replicas,
)
from archbuilder.training.errors import RunError

REPO = Path(__file__).resolve().parents[2]
TWO_DEVICES = {
    "tensorflow": {},  # the scripts split the CPU into 2 logical devices themselves
    "jax": {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
}


def run_script(script: str, backend: str, *arguments: str) -> tuple[dict, str]:
    """Run a helper script of this folder under ``backend`` with 2 devices: its last JSON line, and its stdout."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3", **TWO_DEVICES[backend]}
    done = subprocess.run(
        [sys.executable, str(REPO / "tests/training" / script), str(REPO), *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout


@pytest.mark.parametrize(
    ("name", "backend", "needed"),
    [
        ("data_parallel", "tensorflow", "jax"),
        ("mirrored", "jax", "tensorflow"),
        ("multi_worker", "torch", "jax or tensorflow"),
    ],
)
def test_unsupported_backend_is_a_clear_error(name, backend, needed) -> None:
    with pytest.raises(
        RunError, match=f"'{name}' needs the {needed} backend.*runs on {backend}.*KERAS_BACKEND={needed.split()[0]}"
    ):
        check_distribution(name, backend)


def test_supported_combinations_and_the_recipe_field() -> None:
    check_distribution("mirrored", "tensorflow")
    check_distribution("data_parallel", "jax")
    check_distribution(None, "torch")
    assert TrainingRecipe.model_validate({"distribution": "mirrored"}).distribution == "mirrored"
    with pytest.raises(ValueError):
        TrainingRecipe.model_validate({"distribution": "parameter_server"})


@pytest.mark.slow  # two trainings in fresh processes: the quick lane's 10 minutes; the strategy's checks stay there
def test_mirrored_on_two_cpus_matches_a_single_device_run(tmp_path) -> None:
    """Full-batch SGD makes the updates independent of the shuffling, so the two runs differ only by the
    order of float sums (each replica's half-batch gradient, then the all-reduce): about 1e-7 after 5
    epochs on weights of size ~0.3, so 1e-5 is a tight bound that still allows rounding."""
    result, stdout = run_script("mirrored_vs_single.py", "tensorflow", str(tmp_path), "5")
    assert result["replicas"] == 2
    assert "distribution mirrored: 2 replicas, global batch 2048" in stdout
    assert result["max_weight_diff"] < 1e-5
    assert result["loss_mirrored"] == pytest.approx(result["loss_single"], rel=1e-5)
    assert result["loss_single"][-1] < result["loss_single"][0]  # it did train


@pytest.mark.slow  # JAX's data parallelism; the quick lane runs TensorFlow's mirrored strategy
def test_data_parallel_on_two_devices_matches_a_single_device_run(tmp_path) -> None:
    """As the mirrored test, under JAX: full-batch SGD, so the runs differ only by the order of float sums
    (XLA's per-device partial gradients, then their all-reduce). Measured: 1.5e-8 after 3 epochs on weights
    of size ~0.29. From the 5th epoch on a max-pool near-tie can route one gradient the other way (measured
    3e-6 at epoch 5, growing to 1e-4 by epoch 8, as rounding differences do in a chaotic fit), so the
    comparison stops at 3 epochs; 1e-5 allows one such flip, while a wrong gradient scale or lost examples
    would move the weights by ~1e-3 or more."""
    result, stdout = run_script("data_parallel_vs_single.py", "jax", str(tmp_path), "3")
    assert result["devices"] == 2
    assert "distribution data_parallel: 2 replicas, global batch 2048" in stdout
    assert (result["weight_devices_single"], result["weight_devices_data_parallel"]) == (1, 2)  # replicated on both
    assert result["max_weight_diff"] < 1e-5
    assert result["loss_data_parallel"] == pytest.approx(result["loss_single"], rel=1e-5)
    assert result["loss_single"][-1] < result["loss_single"][0]  # it did train


@pytest.mark.parametrize(
    ("name", "backend"),
    [
        pytest.param(name, backend, marks=pytest.mark.slow)
        for name, backend in [("mirrored", "tensorflow"), ("data_parallel", "jax")]
    ],
)
def test_uneven_splits_and_a_test_set_smaller_than_the_batch(tmp_path, name, backend) -> None:
    """Global batch 64 on 2 replicas; 297 training and 33 validation images (each trimmed by one), 9 test images.
    Before the fix, mirrored failed in TensorFlow (a first batch of 9 splits 5/4, and Keras builds the model
    from the per-replica parts; a last batch of 1 leaves a replica an empty batch) and data_parallel in JAX
    (a batch of 9 does not shard over 2 devices). Every evaluation must equal the trained weights scored on one
    device in NumPy: same accuracy, and the loss within 1e-5 relative (float32 against float64: ~1e-7 measured)."""
    result, stdout = run_script("distributed_evaluation.py", backend, str(tmp_path), name)
    assert result["replicas"] == 2
    assert (
        f"distribution {name}: left out 1 of 297 training images and 1 of 33 validation images, so that every "
        "batch splits evenly across the 2 replicas"
    ) in stdout
    assert (
        f"distribution {name}: the 9 test images do not split evenly across the 2 replicas; evaluating them on one "
        "device" in stdout
    )
    assert len(result["history"]["val_loss"]) == 2
    assert result["data"]["train"] == 297 and result["data"]["used_under_distribution"] == {
        "train": 296,
        "validation": 32,
    }

    def assert_equal(scores: dict, reference: dict) -> None:
        assert scores["accuracy"] == pytest.approx(reference["accuracy"], abs=1e-6)
        assert scores["loss"] == pytest.approx(reference["loss"], rel=1e-5)

    assert_equal(result["test"], result["test_reference"])
    # Across the replicas with a batch capped to the data (10), on one device (9, 1), in 64 + 64 + 2 (130).
    assert {count: run["batch"] for count, run in result["evaluations"].items()} == {
        "10": 10,
        "9": None,
        "1": None,
        "130": 64,
    }
    for run in result["evaluations"].values():
        assert_equal(run["result"], run["reference"])
    assert_equal(result["archbuilder_evaluate"], result["archbuilder_evaluate_reference"])  # the whole test split
    assert result["odd_batch"] == (
        f"distribution '{name}' splits each global batch evenly across its 2 replicas, and "
        "batch_size 63 does not divide by 2. Use a multiple of 2: --batch-size 62 or 64 "
        "(or training.batch_size in the blueprint)."
    )


@pytest.mark.parametrize(
    ("batch_size", "count", "message"),
    [
        (64, 2, None),
        (2048, 8, None),
        (7, 1, None),
        (63, 2, "its 2 replicas, and batch_size 63 does not divide by 2. Use a multiple of 2: --batch-size 62 or 64 "),
        (3, 4, "its 4 replicas, and batch_size 3 does not divide by 4. Use a multiple of 4: --batch-size 4 "),
    ],
)
def test_the_global_batch_must_divide_by_the_replicas(batch_size, count, message) -> None:
    strategy = SimpleNamespace(num_replicas_in_sync=count)
    if message is None:
        check_batch_size(strategy, batch_size, "mirrored")
    else:
        with pytest.raises(RunError) as error:
            check_batch_size(strategy, batch_size, "mirrored")
        assert str(error.value) == (
            f"distribution 'mirrored' splits each global batch evenly across {message}"
            "(or training.batch_size in the blueprint)."
        )


def test_replicas_of_a_strategy_and_of_a_keras_distribution() -> None:
    assert replicas(None) == 1
    assert replicas(SimpleNamespace(num_replicas_in_sync=4)) == 4
    assert replicas(SimpleNamespace(device_mesh=SimpleNamespace(shape=(8,)))) == 8


@pytest.mark.parametrize(
    ("count", "batch_size", "replicas_", "expected"),
    [
        (10, 64, 2, 10),  # a test set smaller than the batch: one even batch of all of it
        (130, 64, 2, 64),  # 64 + 64 + 2
        (359, 64, 2, None),  # odd: no batching gives both replicas equal parts
        (9, 64, 2, None),
        (1, 64, 2, None),  # fewer examples than replicas
        (12, 8, 4, 8),  # 8 + 4
        (7, 64, 1, 7),  # one replica: anything goes
    ],
)
def test_evaluation_batch_size(count, batch_size, replicas_, expected) -> None:
    assert evaluation_batch_size(count, batch_size, replicas_) == expected


def test_trim_to_replicas() -> None:
    split = Split(np.arange(7, dtype="float32").reshape(7, 1, 1, 1), np.arange(7))
    assert trim_to_replicas(split, 1) is split
    assert trim_to_replicas(None, 2) is None
    assert trim_to_replicas(split, 7) is split
    trimmed = trim_to_replicas(split, 2)
    assert len(trimmed) == 6 and trimmed.y.tolist() == [0, 1, 2, 3, 4, 5] and trimmed.x.shape == (6, 1, 1, 1)
    assert len(trim_to_replicas(split, 4)) == 4
    with pytest.raises(
        RunError, match="the validation split has 7 images, fewer than the 8 replicas that share each batch"
    ):
        trim_to_replicas(split, 8, "validation")


@pytest.mark.slow  # two JAX processes joined by gloo: a minute of CPU
def test_multi_worker_processes_under_jax_match_a_single_device_run(tmp_path) -> None:
    """Two processes on this machine joined by keras.distribution.initialize (JAX, gloo collectives on
    CPU), each feeding half of every global batch: the same full-batch SGD as one device, so the weights
    differ only by float rounding (measured 7.5e-9 after 3 epochs), and each process reports the same
    losses and test scores."""
    import socket

    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    base = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    script = [sys.executable, str(REPO / "tests/training/multi_worker_vs_single.py"), str(REPO)]
    workers = [
        subprocess.Popen(
            script + [str(tmp_path / f"process{i}"), "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **base,
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"localhost:{port}",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
                "KERAS_DISTRIBUTION_PROCESS_ID": str(i),
            },
        )
        for i in range(2)
    ]
    single = subprocess.run(
        script + [str(tmp_path / "single"), "3"], capture_output=True, text=True, env=base, timeout=240, check=False
    )
    outputs = []
    for worker in workers:
        try:
            out, err = worker.communicate(timeout=240)
        finally:
            worker.kill()
        assert worker.returncode == 0, err[-3000:]
        assert "distribution multi_worker: 2 replicas, global batch 2048" in out
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    assert single.returncode == 0, single.stderr[-3000:]
    reference = json.loads(single.stdout.strip().splitlines()[-1])
    for result in outputs:
        assert (result["processes"], result["devices"]) == (2, 2)
        assert result["loss"] == pytest.approx(reference["loss"], rel=1e-5)
        assert result["test"]["accuracy"] == pytest.approx(reference["test"]["accuracy"], abs=1e-6)
        difference = max(
            abs(a - b) for mine, theirs in zip(result["weights"], reference["weights"]) for a, b in zip(mine, theirs)
        )
        assert difference < 1e-5
    assert reference["loss"][-1] < reference["loss"][0]


def test_multi_worker_needs_its_process_variables_and_tensorflow_stays_single_worker(monkeypatch) -> None:
    from archbuilder.training import distribution

    for variable in distribution.PROCESS_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    with pytest.raises(
        RunError,
        match="'multi_worker' under JAX starts one process per worker and needs "
        "KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES, "
        "KERAS_DISTRIBUTION_PROCESS_ID",
    ):
        distribution._jax_processes()
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}})
    )
    with pytest.raises(RunError, match=r"TF_CONFIG names 2 workers.*keras-team/keras#20585.*KERAS_BACKEND=jax"):
        distribution._check_tensorflow_workers()
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}})
    )
    distribution._check_tensorflow_workers()  # a single worker runs
